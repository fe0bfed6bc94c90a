"""Plausibility: input that passes validation but is unlikely in real data, usually a mapping mistake.

Validation refuses what breaks the canonical model; these checks only warn. Margins that are mostly zero or
negative, churn above 90% or below 0.5% of customers, a survey score that never varies, sign-up dates decades
before anything else was recorded: each is legal, and each changes what the reports can honestly say. Every
check is vectorised, so a million customers take about a second. Each check measures in pandas here and words
its warning through a public function of the numbers (`margins_not_positive`, `churn_share`, ...), which
`plausibility_sql` calls with the same numbers measured by DuckDB over Parquet files too large for memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.data.schema import FLAT_COLUMNS, SCORE_RANGES, CXData
from cxresearch.stats.units import DAYS_PER_MONTH

#: How many example ids or values a warning names.
N_EXAMPLES = 3
#: Rows (in table order) searched for the examples' distinct ids.
EXAMPLE_ROWS = 50 * N_EXAMPLES

#: Share of customers above which "most" margins (or acquisition costs) being zero or negative is flagged.
MOST = 0.5

#: Shares of customers who left, above or below which churn is flagged.
CHURN_HIGH, CHURN_LOW = 0.90, 0.005

#: Fewest responses (or customers) before a score or count that never varies is flagged.
MIN_CONSTANT_ROWS = 20

#: Rank correlation of monthly margin with months observed above which margins look like totals to date:
#: on the data-shapes corpus monthly amounts correlate at most 0.28 and the same amounts times tenure at
#: least 0.88.
TOTALS_CORRELATION = 0.8

#: Fewest customers (with differing margins and lifetimes) before the totals check speaks.
MIN_TOTALS_CUSTOMERS = 30

#: Customers the rank correlation is computed on at most (a fixed random sample beyond: same answer, faster).
CORRELATION_SAMPLE = 200_000

#: Sign-ups on or before this date (the Unix epoch, a common stand-in for a missing date) are implausible.
EPOCH = pd.Timestamp("1970-01-01")

#: Years between a sign-up and the first recorded event beyond which the sign-up date is doubtful.
SIGNUP_GAP_YEARS = 20

#: Days at the end of the observation window with nothing recorded before the window's end is doubtful.
QUIET_DAYS = 365


@dataclass(frozen=True)
class PlausibilityWarning:
    """Legal but implausible input: where (`table`, `column`), how many rows, example ids or values, what was
    found (`message`, plain words with the counts) and why it matters for the figures (`consequence`)."""

    table: str
    column: str | None
    n_rows: int
    examples: list[str]
    message: str
    consequence: str

    @property
    def plain(self) -> str:
        """One sentence without column keys, for notebooks and findings."""
        return f"{self.message[:1].upper()}{self.message[1:]}: {self.consequence}."

    def __str__(self) -> str:
        """One line: `table.column: message (e.g. a, b, c): consequence`."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        examples = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return " ".join(f"{where}: {self.message}{examples}: {self.consequence}".split())


def check_plausibility(data: CXData) -> list[PlausibilityWarning]:
    """Everything legal but implausible in `data`, most consequential first; [] when nothing is.

    Parameters
    ----------
    data
        Data that passed validation (these checks only warn).

    Returns
    -------
    list[PlausibilityWarning]
        One warning per finding, each with a plain sentence and its consequence for the figures.
    """
    checks: list[Callable[[CXData], list[PlausibilityWarning]]] = [
        _margins_not_positive,
        _margins_look_like_totals,
        _churn_share,
        _early_signups,
        _quiet_end_of_observation,
        _constant_scores,
        _constant_flat_columns,
        _free_acquisition,
        _segments_of_one,
    ]
    return [warning for check in checks for warning in check(data)]


# --- the checks, one per kind of implausibility ----------------------------------------------------------


def _margins_not_positive(data: CXData) -> list[PlausibilityWarning]:
    """Most monthly margins zero or negative."""
    c = data.customers
    bad = (c["monthly_margin"] <= 0).to_numpy()
    return margins_not_positive(int(bad.sum()), len(c), _ids(c, bad))


def margins_not_positive(n_bad: int, n: int, examples: list[str]) -> list[PlausibilityWarning]:
    """The warning when more than `MOST` of `n` customers have a zero or negative monthly margin ([] otherwise)."""
    if not n or n_bad <= MOST * n:
        return []
    return [PlausibilityWarning(
        "customers", "monthly_margin", n_bad, examples,
        f"monthly margin is zero or negative for {_share(n_bad, n)}",
        "CLV and retention economics will be negative or zero; check that it is a margin, not a cost, and its sign",
    )]


def _margins_look_like_totals(data: CXData) -> list[PlausibilityWarning]:
    """Monthly margins that rise with time observed as totals to date do."""
    c = data.customers
    months = _months_observed(data)
    if len(c) < MIN_TOTALS_CUSTOMERS or c["monthly_margin"].nunique() < 2 or months.nunique() < 2:
        return []
    return margins_look_like_totals(rank_correlation(c["monthly_margin"], months), len(c))


def margins_look_like_totals(rho: float, n: int) -> list[PlausibilityWarning]:
    """The warning when margins' rank correlation `rho` with months observed (over `n` customers) is that of
    totals to date ([] otherwise)."""
    if rho < TOTALS_CORRELATION:
        return []
    return [PlausibilityWarning(
        "customers", "monthly_margin", n, [],
        f"monthly margin rises almost in lockstep with the time each customer has been observed (rank "
        f"correlation {rho:.2f} over {n:,} customers), as a total to date would",
        "CLV multiplies it by lifetime again and inflates long-standing customers' value many times over; "
        "map an amount per month (e.g. total divided by tenure)",
    )]


def _churn_share(data: CXData) -> list[PlausibilityWarning]:
    """Churn above `CHURN_HIGH` or below `CHURN_LOW` of customers (not for purchase data, where nobody is seen
    leaving by design)."""
    c = data.customers
    if not len(c) or (data.transactions is not None and len(data.transactions)):
        return []
    left = c["end_date"].notna().to_numpy()
    return churn_share(int(left.sum()), len(c), _ids(c, left), data.shape)


def churn_share(n_left: int, n: int, examples: list[str], shape: str = "events") -> list[PlausibilityWarning]:
    """The warning when the share of `n` customers who left is above `CHURN_HIGH` or below `CHURN_LOW`."""
    share = n_left / n
    marker = "the churn flag" if shape == "flat" else "the end date"
    if share > CHURN_HIGH:
        return [PlausibilityWarning(
            "customers", "end_date", n_left, examples,
            f"{_share(n_left, n)} have left",
            "with almost nobody still active, lifetimes and CLV rest on who left and churn drivers have little "
            f"to compare; check that {marker} marks leaving (not, e.g., a billing or contract date)",
        )]
    if share < CHURN_LOW:
        return [PlausibilityWarning(
            "customers", "end_date", n_left, examples,
            f"only {_share(n_left, n, digits=2)} have left",
            f"churn drivers and lifetimes rest on too few churners to estimate; check that {marker} is mapped",
        )]
    return []


def _early_signups(data: CXData) -> list[PlausibilityWarning]:
    """Sign-ups on or before 1970-01-01, or more than `SIGNUP_GAP_YEARS` before the first recorded event."""
    c = data.customers
    signup = c["signup_date"]
    early = (signup <= EPOCH).to_numpy()
    first = _first_event(data)
    limit = signup_limit(first)
    if limit is not None:
        early |= (signup < limit).to_numpy()
    if not early.any():
        return []
    return early_signups(int(early.sum()), _ids(c, early), signup[early].min(), first, data.shape)


def signup_limit(first: pd.Timestamp | None) -> pd.Timestamp | None:
    """Sign-ups before this date are doubtful: `SIGNUP_GAP_YEARS` before the first recorded event (None: none)."""
    return first - pd.DateOffset(years=SIGNUP_GAP_YEARS) if first is not None else None


def early_signups(
    n_early: int, examples: list[str], earliest: pd.Timestamp, first: pd.Timestamp | None, shape: str = "events"
) -> list[PlausibilityWarning]:
    """The warning for `n_early` customers signed up by `EPOCH` or before `signup_limit(first)` ([] for none)."""
    if not n_early:
        return []
    limit = signup_limit(first)
    when = f"on or before {EPOCH.date()}"
    if limit is not None:
        when += f" or more than {SIGNUP_GAP_YEARS} years before the first recorded event ({first.date()})"
    check = "tenure's unit (sign-up dates come from tenure)" if shape == "flat" else (
        "for stand-ins for a missing date such as 1900-01-01 or 1970-01-01")
    return [PlausibilityWarning(
        "customers", "signup_date", n_early, examples,
        f"{_count(n_early, 'customer')} signed up {when}; the earliest on {earliest.date()}",
        f"lifetimes of decades will dominate survival curves and CLV; check {check}",
    )]


def _quiet_end_of_observation(data: CXData) -> list[PlausibilityWarning]:
    """Nothing recorded in the last `QUIET_DAYS` of observation (event data: flat dates derive from the end)."""
    if not data.has_timestamps or not len(data.customers):
        return []
    c = data.customers
    dates = [c["signup_date"].max(), c["end_date"].max()]
    dates += [df["timestamp"].max() for df in _event_tables(data)]
    return quiet_end(max(d for d in dates if not pd.isna(d)), data.observed_until)


def quiet_end(last: pd.Timestamp, observed_until: pd.Timestamp) -> list[PlausibilityWarning]:
    """The warning when the `last` date in the data is more than `QUIET_DAYS` before observation ends."""
    gap = (observed_until - last).days
    if gap <= QUIET_DAYS:
        return []
    return [PlausibilityWarning(
        "observation", None, 0, [],
        f"nothing is recorded in the last {gap:,} days of observation (the last date in the data is "
        f"{last.date()}, observation ends {observed_until.date()})",
        "customers still active are credited with lifetime nobody observed; check the date observation ends "
        "(set in dataset.json or the mapping)",
    )]


def _constant_scores(data: CXData) -> list[PlausibilityWarning]:
    """A survey instrument whose every score is the same."""
    s = data.surveys
    warnings = []
    for instrument in SCORE_RANGES:
        mine = (s["instrument"] == instrument).to_numpy(dtype=bool, na_value=False)
        scores = s["score"].to_numpy()[mine]
        if len(scores) >= MIN_CONSTANT_ROWS and scores.min() == scores.max():
            warnings += constant_score(instrument, scores[0], len(scores), _ids(s, mine))
    return warnings


def constant_score(instrument: str, score: object, n: int, examples: list[str]) -> list[PlausibilityWarning]:
    """The warning for an instrument whose `n` responses (at least `MIN_CONSTANT_ROWS`) all score `score`."""
    return [PlausibilityWarning(
        "surveys", "score", n, examples,
        f"every {instrument.upper()} score is {score} ({n:,} responses)",
        "a score that never varies cannot explain churn or loyalty; check how the score column is "
        "mapped (e.g. a recoding that collapsed every answer)",
    )]


def _constant_flat_columns(data: CXData) -> list[PlausibilityWarning]:
    """A flat score or contact-count column with the same value for every customer."""
    c = data.customers
    warnings = []
    for column in FLAT_COLUMNS:
        if column not in c:
            continue
        values = c[column].dropna()
        if len(values) < MIN_CONSTANT_ROWS or values.min() != values.max():
            continue
        value = _number(values.iloc[0])
        what = (f"every customer's {column.removesuffix('_score').upper()} score is {value}"
                if column.endswith("_score") else f"every customer has {value} {column.replace('_', ' ')}")
        warnings.append(PlausibilityWarning(
            "customers", column, len(values), [],
            f"{what} ({len(values):,} customers)",
            "a column that never varies cannot explain churn or loyalty; check how it is mapped",
        ))
    return warnings


def _free_acquisition(data: CXData) -> list[PlausibilityWarning]:
    """Acquisition cost zero for most customers who have one."""
    c = data.customers
    if "acquisition_cost" not in c:
        return []
    cost = c["acquisition_cost"]
    known = cost.notna().to_numpy()
    zero = (cost == 0).fillna(False).to_numpy(dtype=bool)
    return free_acquisition(int(zero.sum()), int(known.sum()), _ids(c, zero))


def free_acquisition(n_zero: int, n_known: int, examples: list[str]) -> list[PlausibilityWarning]:
    """The warning when more than `MOST` of the `n_known` acquisition costs are zero ([] otherwise)."""
    if not n_known or n_zero <= MOST * n_known:
        return []
    return [PlausibilityWarning(
        "customers", "acquisition_cost", n_zero, examples,
        f"acquisition cost is zero for {_share(n_zero, n_known, noun='customers who have one')}",
        "acquisition looks free, so retention can only look expensive next to it and the retention versus "
        "acquisition ratio means nothing",
    )]


def _segments_of_one(data: CXData) -> list[PlausibilityWarning]:
    """Segment values (plan, contract, ...) held by a single customer."""
    warnings = []
    for column in data.segments:
        counts = data.customers[column].value_counts()
        single = counts.index[counts.to_numpy() == 1]
        warnings += segments_of_one(column, len(single), len(counts), list(single[:N_EXAMPLES]))
    return warnings


def segments_of_one(column: str, n_single: int, n_values: int, examples: list) -> list[PlausibilityWarning]:
    """The warning when `n_single` of a segment column's `n_values` values are held by one customer each."""
    if not n_single:
        return []
    return [PlausibilityWarning(
        "customers", column, n_single, [_quote(v) for v in examples],
        f"{n_single:,} of {n_values:,} {column.replace('_', ' ')} values "
        + ("is held by a single customer" if n_single == 1 else "are held by one customer each"),
        "a segment of one has no estimable churn rate or lifetime; group rare values (e.g. into 'other') "
        "before comparing segments",
    )]


# --- helpers --------------------------------------------------------------------------------------------


def _event_tables(data: CXData) -> list[pd.DataFrame]:
    """Contacts, surveys and transactions that hold at least one timestamp."""
    tables = [data.contacts, data.surveys, data.transactions]
    return [df for df in tables if df is not None and "timestamp" in df and df["timestamp"].notna().any()]


def _first_event(data: CXData) -> pd.Timestamp | None:
    """The earliest contact, survey or purchase (event data only), or None when there is none."""
    if not data.has_timestamps:
        return None
    firsts = [df["timestamp"].min() for df in _event_tables(data)]
    return min(firsts) if firsts else None


def _months_observed(data: CXData) -> pd.Series:
    """Months from each customer's sign-up to their end, or to the end of observation while active."""
    c = data.customers
    return (c["end_date"].fillna(data.observed_until) - c["signup_date"]).dt.days / DAYS_PER_MONTH


def rank_correlation(x: pd.Series, y: pd.Series) -> float:
    """Spearman's rank correlation (average ranks for ties), ignoring rows where either is missing; on a fixed
    random sample of `CORRELATION_SAMPLE` rows when there are more (its standard error is then below 0.003)."""
    keep = np.flatnonzero(x.notna().to_numpy() & y.notna().to_numpy())
    if len(keep) > CORRELATION_SAMPLE:
        keep = np.sort(np.random.default_rng(0).choice(keep, CORRELATION_SAMPLE, replace=False))
    rx = pd.Series(x.to_numpy()[keep]).rank().to_numpy()
    ry = pd.Series(y.to_numpy()[keep]).rank().to_numpy()
    return float(np.corrcoef(rx, ry)[0, 1])


def _ids(df: pd.DataFrame, mask: np.ndarray) -> list[str]:
    """The first `N_EXAMPLES` distinct customer ids where `mask` holds."""
    return example_ids(df["customer_id"].to_numpy()[np.flatnonzero(mask)[: EXAMPLE_ROWS]])


def example_ids(ids: Sequence[object]) -> list[str]:
    """The first `N_EXAMPLES` distinct ids of `ids` (rows in table order), shortened for a one-line message."""
    return [_short(str(i)) for i in pd.unique(np.asarray(ids, dtype=object))[:N_EXAMPLES]]


def _count(n: int, noun: str) -> str:
    """'1 customer', '2,173 customers'."""
    return f"{int(n):,} {noun}{'' if n == 1 else 's'}"


def _number(value: float) -> str:
    """A count or score as text: whole numbers without decimals (a column with gaps holds floats)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _share(part: int, whole: int, digits: int = 1, noun: str = "customers") -> str:
    """'6,900 of 7,043 customers (98.0%)'."""
    return f"{int(part):,} of {int(whole):,} {noun} ({100 * part / whole:.{digits}f}%)"


def _quote(value: object) -> str:
    """A data value quoted and shortened for a one-line message."""
    return repr(_short(str(value)))


def _short(text: str, width: int = 40) -> str:
    """`text` cut to `width` characters, on one line."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
