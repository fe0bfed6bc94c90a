"""The evidence table: claims CX writing makes, each tested on the data with an estimate, 95% CI and a verdict.

Every verdict follows a rule declared before looking at the data (`VerdictRule`): a claim is *supported* when
its CI excludes no effect in the claimed direction, *not supported* when it excludes it in the other
direction or lies inside a stated equivalence margin around no effect, and *inconclusive* otherwise. A claim
the data cannot test (no surveys, no proactive contacts, no referrals...) still gets a row, with the reason.

Multiplicity. Up to 13 rows are tested at once, so at 5% each a world where no claim holds would still show one
"supported" or "not supported" verdict more often than not (1 - 0.95**13 = 49%). The rule therefore controls the
family-wise error with Holm's step-down adjustment (Holm 1979) over the tested rows: each row's p-value (two-sided,
against the value its verdict turns on: no effect, or the margin of a no-harm claim) is Holm-adjusted
(`p_adjusted`), and its verdict is read from its CI at the row's Holm level, 1 - 0.05 / (m - k + 1) for the
k-th smallest of m p-values while the step-down rejects, and the level of the first row it stops at for the rest
(`level`, `adj_ci_low`, `adj_ci_high`): a row excludes its null exactly when its adjusted p is below 5%. Holm,
not Benjamini-Hochberg: each verdict is read and acted on by itself on the executive page, so the chance that any
of them is wrong is the risk that matters, not the expected share of wrong ones; the family is small, so the loss
of power is small; and rows 1a/1a_cox and 1b/1b_cox reuse the same answers, a dependence Holm needs no
assumption about (Benjamini-Hochberg needs positive dependence). The unadjusted 95% CI stays in `ci_low`,
`ci_high`.

Wording. The churn claims are tested on observational data: "supported" means the association is there in the
claimed direction ("goes with"), not that the CX factor causes churn; only a randomised experiment could show that,
and none is in the data.

Churn claims use pooled monthly snapshots: at each month start `as_of`, features from the 3 months before it
and churn in the month after it, for customers active then. Stacking these person-months is a discrete-time
hazard model (pooled logistic regression, D'Agostino et al. 1990): with monthly churn of a few percent its odds
ratios are close to hazard ratios, so they speak about lifetime, and trailing-window counts enter exactly as
they act month by month (a longer prediction window would let past scores stand in for future contacts).

Claim 1 has a second line of evidence from survival analysis (rows `1a_cox`, `1b_cox`): a Cox model with the
latest NPS / CSAT as a time-varying covariate over the customers' whole observed lifetimes (person-months of
`cxresearch.survival.timevarying`, tenure as the time scale, left truncation respected), judged by the same kind of rule
on the hazard ratio per point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines.exceptions import ConvergenceError
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from threadpoolctl import threadpool_limits

from cxresearch.churn.logit import ChurnLogitResult, fit_churn_logit
from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import default_as_of, snapshot
from cxresearch.loyalty.metrics import compare_predictive_validity
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.multiplicity import ALPHA, holm
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.survival.timevarying import fit_time_varying_cox, person_months

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, CANNOT_TEST = "supported", "not supported", "inconclusive", "cannot test"
#: Fewest churners (or referrers) a test needs before it is attempted.
MIN_EVENTS = 10
#: Columns of the evidence table, in order.
COLUMNS: tuple[str, ...] = (
    "id", "claim", "test", "estimate", "ci_low", "ci_high", "unit", "verdict", "rule", "n", "note", "needs",
    "p_value", "p_adjusted", "level", "adj_ci_low", "adj_ci_high", "adjustment",
)
#: Multiplicity adjustments `evaluate_claims` knows: Holm's step-down, or none (each row at 5%, for comparison).
ADJUSTMENTS = ("holm", "none")


@dataclass(frozen=True)
class VerdictRule:
    """A pre-declared verdict rule on an estimate's 95% CI.

    `direction` is the claimed direction relative to `null` (``"greater"`` or ``"less"``). With
    ``equivalence=False`` the claim is an effect: supported if the CI excludes `null` in that direction, not
    supported if it excludes it the other way or lies within `margin`. With ``equivalence=True`` the claim is
    *no harmful effect*: supported if the CI rules out anything beyond the `margin` bound in `direction`, not
    supported if the CI excludes `null` in `direction`.
    """

    null: float
    direction: str
    margin: tuple[float, float] | None = None
    equivalence: bool = False

    def __post_init__(self) -> None:
        if self.direction not in ("greater", "less"):
            raise ValueError(f"direction must be 'greater' or 'less', not {self.direction!r}")
        if self.equivalence and self.margin is None:
            raise ValueError("an equivalence rule needs a margin")

    @property
    def boundary(self) -> float:
        """The value the verdict turns on: `null` for an effect claim, the margin bound for a no-harm claim."""
        if not self.equivalence:
            return self.null
        return self.margin[1] if self.direction == "greater" else self.margin[0]

    def verdict(self, ci_low: float | None, ci_high: float | None) -> str:
        """'supported', 'not supported' or 'inconclusive' for a CI (inconclusive when it is undefined)."""
        if ci_low is None or ci_high is None or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
            return INCONCLUSIVE
        up = self.direction == "greater"
        beyond_null = ci_low > self.null if up else ci_high < self.null
        if self.equivalence:
            bound = self.margin[1] if up else self.margin[0]
            if beyond_null:
                return NOT_SUPPORTED
            return SUPPORTED if (ci_high < bound if up else ci_low > bound) else INCONCLUSIVE
        if beyond_null:
            return SUPPORTED
        against = ci_high < self.null if up else ci_low > self.null
        within = self.margin is not None and self.margin[0] <= ci_low and ci_high <= self.margin[1]
        return NOT_SUPPORTED if against or within else INCONCLUSIVE

    def describe(self, ci: str = "95% CI") -> str:
        """The rule in plain words, for intervals called `ci` ("95% CI", "Holm-adjusted CI")."""
        side, other = ("above", "below") if self.direction == "greater" else ("below", "above")
        if self.equivalence:
            bound = self.margin[1] if self.direction == "greater" else self.margin[0]
            return (f"supported if the {ci} lies {'below' if side == 'above' else 'above'} {bound:g}; "
                    f"not supported if it lies entirely {side} {self.null:g}; otherwise inconclusive")
        text = f"supported if the {ci} lies entirely {side} {self.null:g}; not supported if it lies {other} it"
        if self.margin is not None:
            text += f" or within {self.margin[0]:g} to {self.margin[1]:g}"
        return text + "; otherwise inconclusive"


def ratio_rule(direction: str, margin: float = 1.05) -> VerdictRule:
    """A rule for a ratio (odds, rate ratio) whose no-effect value is 1, equivalence margin 1/margin..margin."""
    return VerdictRule(1.0, direction, (round(1.0 / margin, 3), margin))


def _z(alpha: float) -> float:
    """The two-sided normal quantile of a (1 - alpha) interval."""
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


@dataclass(frozen=True)
class LogNormalInterval:
    """A Wald interval on the log scale (odds, hazard and rate ratios): `log_estimate` and its standard error."""

    log_estimate: float
    se: float

    def ci(self, alpha: float) -> tuple[float, float]:
        """The (1 - alpha) interval of the ratio."""
        half = _z(alpha) * self.se
        return float(np.exp(self.log_estimate - half)), float(np.exp(self.log_estimate + half))

    def p_value(self, boundary: float) -> float:
        """Two-sided Wald p-value of ratio = `boundary`."""
        return float(2.0 * stats.norm.sf(abs(self.log_estimate - np.log(boundary)) / self.se))


@dataclass(frozen=True)
class WilsonInterval:
    """A share in percent, `count` of `n`: the Wilson interval and the score test it inverts (Wilson 1927)."""

    count: int
    n: int

    def ci(self, alpha: float) -> tuple[float, float]:
        """The (1 - alpha) Wilson interval, percent, within [0, 100] and around the share."""
        low, high = proportion_confint(self.count, self.n, alpha=alpha, method="wilson")
        share = 100.0 * self.count / self.n
        return float(np.clip(100.0 * low, 0.0, share)), float(np.clip(100.0 * high, share, 100.0))

    def p_value(self, boundary: float) -> float:
        """Two-sided score-test p-value of share = `boundary` percent."""
        p0 = boundary / 100.0
        z = (self.count / self.n - p0) / np.sqrt(p0 * (1.0 - p0) / self.n)
        return float(2.0 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile-bootstrap interval from the `draws` of an estimate (Efron & Tibshirani 1993)."""

    draws: tuple[float, ...]

    def ci(self, alpha: float) -> tuple[float, float]:
        """The (1 - alpha) percentile interval."""
        low, high = np.percentile(np.asarray(self.draws), [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
        return float(low), float(high)

    def p_value(self, boundary: float) -> float:
        """Twice the share of draws on the far side of `boundary` (at most 1)."""
        draws = np.asarray(self.draws)
        return float(min(1.0, 2.0 * min(np.mean(draws <= boundary), np.mean(draws >= boundary))))


Interval = LogNormalInterval | WilsonInterval | BootstrapInterval


@dataclass(frozen=True)
class Evidence:
    """One row of the evidence table: a claim, how it was tested, the estimate with 95% CI and the verdict.

    After the family's adjustment (`adjust`): `p_value` (two-sided, against the rule's `boundary`), `p_adjusted`,
    the confidence `level` of the CI the verdict was read from and that CI (`adj_ci_low`, `adj_ci_high`).
    """

    id: str
    claim: str
    test: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    verdict: str
    rule: str
    n: int | None = None
    note: str = ""
    #: for a claim that cannot be tested: the missing input, in the vocabulary of `Results.skip(needs=...)`
    needs: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None
    level: float | None = None
    adj_ci_low: float | None = None
    adj_ci_high: float | None = None
    adjustment: str = ""
    judge: VerdictRule | None = field(default=None, repr=False, compare=False)
    interval: Interval | None = field(default=None, repr=False, compare=False)

    @classmethod
    def judged(cls, id: str, claim: str, test: str, estimate: float, interval: Interval, unit: str,
               rule: VerdictRule, n: int | None = None, note: str = "") -> Evidence:
        """A tested claim: its 95% CI from `interval`, its verdict given by `rule` on it (before any adjustment)."""
        low, high = interval.ci(ALPHA)
        return cls(id, claim, test, float(estimate), low, high, unit, rule.verdict(low, high), rule.describe(), n,
                   note, p_value=interval.p_value(rule.boundary), p_adjusted=interval.p_value(rule.boundary),
                   level=1.0 - ALPHA, adj_ci_low=low, adj_ci_high=high, adjustment="none", judge=rule,
                   interval=interval)

    @classmethod
    def untestable(cls, id: str, claim: str, test: str, reason: str, needs: str = "") -> Evidence:
        """A claim this data cannot test, with the reason in `note` and the missing input in `needs`."""
        return cls(id, claim, test, None, None, None, "", CANNOT_TEST, "", None, reason, needs)

    @property
    def tested(self) -> bool:
        """Whether the claim was tested (it has an estimate and a verdict rule)."""
        return self.verdict != CANNOT_TEST and self.judge is not None

    def at_level(self, alpha: float, p_adjusted: float, adjustment: str) -> Evidence:
        """This row judged on its CI at level 1 - `alpha`, with the family's `p_adjusted`."""
        low, high = self.interval.ci(alpha)
        ci = f"{adjustment.capitalize()}-adjusted CI" if adjustment != "none" else "95% CI"
        return replace(self, verdict=self.judge.verdict(low, high), rule=self.judge.describe(ci),
                       p_adjusted=float(p_adjusted), level=1.0 - float(alpha), adj_ci_low=low, adj_ci_high=high,
                       adjustment=adjustment)


def adjust(rows: Sequence[Evidence], adjustment: str = "holm", alpha: float = ALPHA) -> list[Evidence]:
    """The rows with the tested ones judged together: Holm-adjusted p-values and levels (`holm`), or each at
    `alpha` (`adjustment` "none"). Untestable rows pass through."""
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, not {adjustment!r}")
    tested = [i for i, r in enumerate(rows) if r.tested]
    p_values = [rows[i].p_value for i in tested]
    if adjustment == "holm":
        adjusted, levels = holm(p_values, alpha)
    else:
        adjusted, levels = np.asarray(p_values, dtype=float), np.full(len(tested), alpha)
    out = list(rows)
    for i, p_adj, level in zip(tested, adjusted, levels, strict=True):
        out[i] = rows[i].at_level(level, p_adj, adjustment)
    return out


@dataclass(frozen=True)
class EvidenceTable:
    """The evidence table: one `Evidence` row per claim (or claim part)."""

    rows: tuple[Evidence, ...]
    #: (analysis, sample) for each test that ran on a random sample of customers beyond the data it was given
    samples: tuple[tuple[str, Sample], ...] = ()
    #: how the churn claims' data was built, in words ("8 monthly snapshots from ... to ..."), for the report
    design: str = ""
    #: the multiplicity adjustment the verdicts use ("holm" or "none")
    adjustment: str = "holm"

    def summary(self) -> pd.DataFrame:
        """The rows as a DataFrame with `COLUMNS`."""
        return pd.DataFrame([{c: getattr(r, c) for c in COLUMNS} for r in self.rows], columns=list(COLUMNS))

    def verdict(self, id: str) -> str:
        """The verdict of the row `id`."""
        return self.row(id).verdict

    def row(self, id: str) -> Evidence:
        """The row `id`."""
        for row in self.rows:
            if row.id == id:
                return row
        raise KeyError(f"no claim {id!r}; claims are {[r.id for r in self.rows]}")

    def untestable(self) -> list[Evidence]:
        """Rows the data could not test."""
        return [r for r in self.rows if r.verdict == CANNOT_TEST]

    def untestable_summary(self) -> dict[str, list[str]]:
        """The untestable claims in compact form for the executive summary: `{"needs": [...], "claims": [...]}`,
        the missing inputs most often named first."""
        rows = self.untestable()
        needs = pd.Series([r.needs for r in rows if r.needs], dtype=object)
        return {"needs": list(needs.value_counts(sort=True).index) if len(needs) else [],
                "claims": [f"{r.id}: {r.claim}" for r in rows]}

    def rule_statement(self) -> str:
        """The pre-declared rule for the whole table, with its multiplicity adjustment, in words."""
        levels = [r.level for r in self.rows if r.verdict != CANNOT_TEST and r.level is not None]
        causal = ("'Supported' means the association is there in the claimed direction; with no randomised "
                  "experiment in the data it does not show that the CX factor causes churn.")
        if not levels:
            return "No claim could be tested on this data."
        if len(levels) == 1:
            return f"One claim was tested, on its own 95% CI: with one test there is nothing to adjust for. {causal}"
        if self.adjustment == "none":
            return (f"Each of the {len(levels)} tested claims is judged on its own 95% CI (no multiplicity "
                    f"adjustment). {causal}")
        return (f"The {len(levels)} tested claims are judged together: Holm's adjustment keeps the chance of any "
                f"wrong 'supported' or 'not supported' verdict among them at most {ALPHA:.0%}, so each verdict is "
                f"read from its CI at its Holm level ({_level_words(min(levels))} to {_level_words(max(levels))} "
                f"here) and its adjusted p-value is shown. {causal}")

    def findings(self) -> list[str]:
        """One plain-words sentence per tested row: claim, verdict, estimate with 95% CI and the adjusted level."""
        # a caution (e.g. a score recorded after the churn decision) travels with the finding
        return [f"{r.claim}: {r.verdict} ({r.unit} {r.estimate:.2f}, 95% CI {r.ci_low:.2f} to {r.ci_high:.2f}"
                + self._adjusted_words(r) + ")"
                + (f"; {r.note[r.note.index('caution'):]}." if "caution" in r.note else ".")
                for r in self.rows if r.verdict != CANNOT_TEST]

    def _adjusted_words(self, row: Evidence) -> str:
        """'; Holm-adjusted p = 0.012, 99.6% CI 1.01 to 1.20' for an adjusted row, '' otherwise."""
        alone = sum(r.verdict != CANNOT_TEST for r in self.rows) == 1
        if row.adjustment in ("", "none") or row.p_adjusted is None or alone:
            return ""
        return (f"; {row.adjustment.capitalize()}-adjusted p {_p_words(row.p_adjusted)}, {_level_words(row.level)} "
                f"CI {row.adj_ci_low:.2f} to {row.adj_ci_high:.2f}")

    def to_estimates(self, prefix: str = "claim") -> dict[str, Estimate]:
        """Each tested row as an `Estimate` keyed `<prefix>_<id>`; the verdict goes in its note."""
        return {
            f"{prefix}_{r.id}": Estimate(r.estimate, r.unit, r.claim, r.ci_low, r.ci_high, r.n,
                                         note=f"{r.verdict}: {r.rule}" + self._adjusted_words(r))
            for r in self.rows if r.verdict != CANNOT_TEST
        }


def _p_words(p: float) -> str:
    """'= 0.0123' (three significant digits), or '< 0.001' below that."""
    return "< 0.001" if p < 0.001 else f"= {p:.3g}"


def _level_words(level: float | None) -> str:
    """A confidence level as a percentage with the decimals it needs (95%, 99.5%, 99.62%)."""
    return "" if level is None else f"{100 * level:.2f}".rstrip("0").rstrip(".") + "%"


# --- the data the tests run on ------------------------------------------------------------------------------


def stacked_snapshots(
    data: CXData,
    horizon_months: int = 1,
    window_months: int = 3,
    last_as_of: str | pd.Timestamp | None = None,
    max_snapshots: int = 12,
) -> pd.DataFrame:
    """Snapshots of active customers every `horizon_months` back from `last_as_of`, stacked, with an `as_of` column.

    The earliest `as_of` leaves a full feature window after the start of observation (`observed_from`, or
    the first event in the data), so counts are never truncated. Adds `resolved_90d` = reactive - unresolved.
    """
    last = default_as_of(data, horizon_months) if last_as_of in (None, "") else pd.Timestamp(last_as_of)
    starts = [pd.Timestamp(data.metadata["observed_from"])] if data.metadata.get("observed_from") else []
    starts += [df["timestamp"].min() for df in (data.contacts, data.surveys) if len(df)]
    earliest = (min(starts) if starts else data.customers["signup_date"].min()) + pd.DateOffset(months=window_months)
    if last < earliest:
        raise ValueError(
            f"observation is too short: a snapshot needs {window_months} months of features before it and "
            f"{horizon_months} after it, so the first possible as_of ({earliest.date()}) is after the last "
            f"({last.date()})"
        )
    frames = []
    for k in range(max_snapshots):
        as_of = last - pd.DateOffset(months=k * horizon_months)
        if as_of < earliest:
            break
        snap = snapshot(data, as_of=as_of, window_months=window_months, horizon_months=horizon_months)
        frames.append(snap[snap["active"]].assign(as_of=as_of))
    panel = pd.concat(frames, ignore_index=True)
    panel["resolved_90d"] = panel["reactive_90d"] - panel["unresolved_90d"]
    return panel


def cross_section(data: CXData) -> pd.DataFrame:
    """One row per customer: `churned` (ever, by end of observation), tenure, segments, latest score per instrument.

    For flat data without usable dates: scores are not dated before the churn, so associations are not
    predictions.
    """
    customers = data.customers
    out = customers.drop(columns=["signup_date", "end_date"]).copy()
    end = customers["end_date"].fillna(data.observed_until).clip(upper=data.observed_until)
    out["tenure_months"] = (end - customers["signup_date"]).dt.days / 30.4375
    out["churned"] = customers["end_date"].notna() & (customers["end_date"] <= data.observed_until)
    out["active"] = True  # every customer is in the cross-section, so fit_churn_logit keeps them all
    latest = (data.surveys.sort_values("timestamp").groupby(["customer_id", "instrument"])["score"].last()
              .unstack())
    for name in ("nps", "csat", "ces"):
        out[f"{name}_last"] = out["customer_id"].map(latest[name]) if name in latest else np.nan
    return out


def _scored(panel: pd.DataFrame, column: str) -> pd.DataFrame | None:
    """Rows with a value in `column`, or None if they hold fewer than MIN_EVENTS churners or stayers."""
    if column not in panel:
        return None
    rows = panel[panel[column].notna()]
    events = int(rows["churned"].sum())
    return rows if min(events, len(rows) - events) >= MIN_EVENTS else None


def _log_interval(fit: ChurnLogitResult, term: str) -> LogNormalInterval:
    """The Wald interval of `term`'s odds ratio in `fit` (log-odds coefficient and standard error)."""
    row = fit.coefficients.loc[term]
    return LogNormalInterval(float(row["coef"]), float(row["se"]))


def _dropped(fit: ChurnLogitResult, term: str, default: str) -> str:
    """Why `fit` has no coefficient for `term`: its own note naming the term (e.g. leakage), else `default`."""
    notes = [n for n in fit.notes if n.startswith(f"Dropped {term}") or f" {term}:" in n or f"{term}," in n]
    return notes[0] if notes else default


#: Name and `needs` vocabulary of each survey instrument, by the prefix of its snapshot columns.
_INSTRUMENTS: dict[str, tuple[str, str]] = {
    "nps": ("NPS", "NPS scores"), "csat": ("CSAT", "CSAT scores"), "ces": ("CES", "effort scores (CES)"),
}
#: Why a claim resting on a leaking score cannot be tested, and what would test it.
LEAKING_SCORE = ("the {name} score is recorded after the churn decision (on its own it separates "
                 "churners from stayers, see leakage): it says who left, not who will")
LEAKING_NEEDS = "event dates"


def _leaks(column: str, leaking: Sequence[str]) -> bool:
    """Whether `column` is leaking, or is a score of an instrument one of whose columns leaks (csat_last ->
    csat_mean_90d): a score recorded after the churn decision is so in every summary of it."""
    instrument = column.split("_")[0]
    return column in leaking or (instrument in _INSTRUMENTS and any(c.split("_")[0] == instrument for c in leaking))


def _shortage(frame: pd.DataFrame | None, column: str, what: str) -> tuple[str, str]:
    """(reason, needs) for too few rows with `column` to test a claim: no such scores at all, or too few churners."""
    name, needs = _INSTRUMENTS.get(column.split("_")[0], (column, "survey scores"))
    if frame is None or column not in frame or not frame[column].notna().any():
        return f"the data has no {name} scores per customer", needs
    rows = frame[frame[column].notna()]
    events = int(rows["churned"].sum())
    return (f"{what}: only {events} churners and {len(rows) - events} stayers have a {name} score (needs "
            f"{MIN_EVENTS} of each)", "churners" if events < MIN_EVENTS else "more customers")


def _present(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """Columns of `frame` among `columns` that vary."""
    return [c for c in columns if c in frame and frame[c].nunique(dropna=True) > 1]


# --- the claims ---------------------------------------------------------------------------------------------


def claim_satisfaction_loyalty(panel: pd.DataFrame, flat: pd.DataFrame | None = None,
                               margin: float = 1.05, leaking: Sequence[str] = ()) -> list[Evidence]:
    """Claim 1: higher NPS / CSAT goes with less churn (odds ratio per point < 1, adjusted for tenure, contract).

    A `leaking` score (recorded after the churn decision) cannot test it: the row says so.
    """
    rows = []
    for id, column, name in (("1a", "nps_last", "NPS"), ("1b", "csat_last", "CSAT")):
        claim = f"'Satisfied customers are more loyal' (tested as: higher {name} goes with less churn)"
        test = (f"pooled monthly logistic regression of churn on the latest {name} "
                "(odds ratio per point), adjusted for tenure and contract")
        if _leaks(column, leaking):
            rows.append(Evidence.untestable(id, claim, test, LEAKING_SCORE.format(name=name), LEAKING_NEEDS))
            continue
        frame, note = _scored(panel, column), ""
        if frame is None and flat is not None:
            frame = _scored(flat, column)
            note = "flat data: latest score vs churn by end of observation (association, not a prediction)"
        if frame is None:
            source = panel if len(panel) or flat is None else flat
            rows.append(Evidence.untestable(id, claim, test, *_shortage(source, column, f"too few {name} answers")))
            continue
        fit = fit_churn_logit(frame, features=[column, *_present(frame, ("tenure_months",))],
                              categorical=_present(frame, ("contract",)), exclude=leaking)
        if column not in fit.coefficients.index:
            rows.append(Evidence.untestable(id, claim, test, _dropped(fit, column, f"{name} could not be estimated")))
            continue
        rows.append(Evidence.judged(id, claim, test, fit.odds_ratio(column).value, _log_interval(fit, column),
                                    "odds ratio per point", ratio_rule("less", margin), fit.n, note))
    return rows


#: Name of the Cox test of claim 1 in reports (e.g. the results' approximations).
SURVIVAL_ANALYSIS = "claim 1 survival test (time-varying Cox), customers with an NPS or CSAT answer"


def satisfaction_person_months(
    data: CXData, until: pd.Timestamp | None = None, customer_ids: pd.Series | None = None, window_months: int = 3
) -> pd.DataFrame:
    """`timevarying.person_months` of months starting before `until`, with `csat_last` (latest CSAT answered before
    the month began, NaN if none) beside its `nps_last`."""
    long = person_months(data, window_months, customer_ids)
    starts = pd.date_range(long.attrs["origin"], periods=int(long["month"].max()) + 1 if len(long) else 0, freq="MS")
    long["month_begins"] = starts[long["month"].to_numpy(int)]
    if until is not None:
        long = long[long["month_begins"] < until]
    csat = data.surveys.loc[data.surveys["instrument"] == "csat", ["customer_id", "timestamp", "score"]]
    if customer_ids is not None:
        csat = csat[csat["customer_id"].isin(customer_ids)]
    order = long.sort_values("month_begins").index
    merged = pd.merge_asof(
        long.loc[order, ["customer_id", "month_begins"]].astype({"customer_id": object}).reset_index(),
        csat.rename(columns={"timestamp": "month_begins", "score": "csat_last"}).astype({"customer_id": object})
        .sort_values("month_begins").astype({"month_begins": long["month_begins"].dtype}),
        on="month_begins", by="customer_id", allow_exact_matches=False,
    ).set_index("index")
    long["csat_last"] = merged["csat_last"].astype(float)
    return long


def claim_satisfaction_survival(
    data: CXData, until: pd.Timestamp | None = None, margin: float = 1.05, max_customers: int | None = None,
    seed: int = 0, leaking: Sequence[str] = (),
) -> tuple[list[Evidence], Sample | None]:
    """Claim 1 by survival analysis: hazard ratio of churn per NPS / CSAT point (rows 1a_cox, 1b_cox).

    Cox model (Efron ties) on person-months with the latest answer before each month as a time-varying covariate,
    tenure as the time scale (so adjusted for tenure), adjusted for contract; months starting before `until`.
    Customers enter from their first answer (complete cases), so only customers who ever answered are built
    into person-months: a simple random sample of at most `max_customers` of them (returned, None when the test
    could not run). Rule: `ratio_rule("less", margin)` on the hazard ratio, as for the odds ratio of 1a/1b.
    """
    tests = (("1a_cox", "nps_last", "NPS"), ("1b_cox", "csat_last", "CSAT"))

    def claim(name: str) -> str:
        return f"'Satisfied customers are more loyal' (tested as: higher {name} goes with less churn; survival model)"

    def test(name: str) -> str:
        return (f"time-varying Cox model of the churn hazard on the latest {name} before each month (hazard ratio "
                "per point), tenure as time scale, adjusted for contract, whole observed lifetimes")

    surveys = data.surveys
    answered = surveys.loc[surveys["instrument"].isin(["nps", "csat"]), "customer_id"] if len(surveys) else None
    if not data.has_timestamps or answered is None or answered.empty:
        why = "no dated NPS or CSAT answers: a survival model needs scores dated before the months they predict"
        needs = "event dates" if not data.has_timestamps else "survey scores"
        return [Evidence.untestable(id, claim(name), test(name), why, needs) for id, _, name in tests], None
    sample = sample_customers(pd.DataFrame({"customer_id": answered.unique()}), max_customers, seed)
    long = satisfaction_person_months(data, until, sample.frame["customer_id"])
    rows = []
    for id, column, name in tests:
        if _leaks(column, leaking):
            rows.append(Evidence.untestable(id, claim(name), test(name), LEAKING_SCORE.format(name=name),
                                            LEAKING_NEEDS))
            continue
        frame = long[long[column].notna()]
        events = int(frame["event"].sum())
        if min(events, len(frame) - events) < MIN_EVENTS:
            needs = _INSTRUMENTS[column.split("_")[0]][1] if frame.empty else "churners"
            rows.append(Evidence.untestable(id, claim(name), test(name), f"not enough customer-months with an "
                                            f"earlier {name} answer ({events:,} churns in {len(frame):,}; needs "
                                            f"{MIN_EVENTS} churns and stays)", needs))
            continue
        try:
            fit = fit_time_varying_cox(frame, [column], _present(frame, ("contract",)))
        except (ConvergenceError, np.linalg.LinAlgError) as error:  # e.g. a score that separates churners
            rows.append(Evidence.untestable(id, claim(name), test(name), f"the Cox model did not converge: {error}",
                                            "more customers"))
            continue
        row = fit.table.loc[column]
        rows.append(Evidence.judged(id, claim(name), test(name), row["hazard_ratio"],
                                    LogNormalInterval(float(row["coef"]), float(row["se"])),
                                    "hazard ratio per point", ratio_rule("less", margin),
                                    fit.n_customers, f"{fit.events:,} churns in {fit.n_episodes:,} customer-months"))
    return rows, sample


def claim_satisfaction_trap(panel: pd.DataFrame, flat: pd.DataFrame | None = None,
                            threshold_pct: float = 25.0, leaking: Sequence[str] = ()) -> Evidence:
    """Claim 2: at least `threshold_pct`% of churners were satisfied (latest CSAT 4-5, else NPS 7-10).

    A `leaking` score is not used: recorded after the decision to leave, it would show churners as dissatisfied
    by construction.
    """
    claim = f"Satisfaction is not loyalty: a sizeable share (at least {threshold_pct:g}%) of churners were satisfied"
    scores = (("csat_last", 4, "CSAT 4-5"), ("nps_last", 7, "NPS 7-10"))
    usable = [s for s in scores if not _leaks(s[0], leaking)]
    if not usable:
        return Evidence.untestable("2", claim, "share of churners who were satisfied",
                                   LEAKING_SCORE.format(name="satisfaction"), LEAKING_NEEDS)
    for column, satisfied, label in usable:
        test = f"share of churners whose latest score before leaving was {label} (Wilson CI)"
        for frame, note in ((panel, ""), (flat, "flat data: latest score, not necessarily before churn")):
            rows = _scored(frame, column) if frame is not None else None
            if rows is None:
                continue
            churners = rows.loc[rows["churned"].astype(bool), column]
            count, n = int((churners >= satisfied).sum()), len(churners)
            return Evidence.judged("2", claim, test, 100.0 * count / n, WilsonInterval(count, n), "% of churners",
                                   VerdictRule(threshold_pct, "greater"), n, note)
    frames = [f for f in (panel, flat) if f is not None]
    have = any(c in f and f[c].notna().any() for f in frames for c, _, _ in usable)
    leaked = [_INSTRUMENTS[c.split("_")[0]][0] for c, _, _ in scores if _leaks(c, leaking)]
    if leaked and not have:  # the only score there is was recorded after the decision to leave
        return Evidence.untestable("2", claim, "share of churners who were satisfied",
                                   LEAKING_SCORE.format(name=" and ".join(leaked)), LEAKING_NEEDS)
    reason = (f"fewer than {MIN_EVENTS} churners with a CSAT or NPS score" if have
              else "the data has no CSAT or NPS scores per customer")
    return Evidence.untestable("2", claim, "share of churners who were satisfied", reason,
                               "churners" if have else "survey scores")


def driver_model(panel: pd.DataFrame, leaking: Sequence[str] = ()) -> ChurnLogitResult:
    """Pooled logit of churn on resolved/unresolved/proactive/inconsistency counts, CES, tenure, contract, plan
    (less the `leaking` columns)."""
    features = _present(panel, ("resolved_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d",
                                "ces_mean_90d", "tenure_months"))
    features = [c for c in features if not _leaks(c, leaking)]
    return fit_churn_logit(panel, features=features, categorical=_present(panel, ("contract", "plan")),
                           exclude=leaking)


_DRIVER_CLAIMS: tuple[tuple[str, str, str, str, Callable[[float], VerdictRule], str, str], ...] = (
    ("3a", "ces_mean_90d", "'Effort kills loyalty' (tested as: higher effort, CES, goes with more churn)",
     "odds ratio per CES point (90-day mean), adjusted for contact counts, resolution, tenure, contract, plan",
     lambda m: ratio_rule("greater", m), "no effort scores (CES) in the feature windows", "effort scores (CES)"),
    ("4a", "proactive_90d", "'Proactive touches lower churn' (tested as: proactive contacts go with less churn)",
     "odds ratio per proactive (company-initiated) contact in the last 90 days, adjusted",
     lambda m: ratio_rule("less", m), "no proactive contacts in the data", "proactive contacts"),
    ("4b", "unresolved_90d", "'Unresolved contacts raise churn' (tested as: reactive contacts not resolved at first "
     "contact go with more churn)",
     "odds ratio per unresolved reactive contact in the last 90 days, adjusted",
     lambda m: ratio_rule("greater", m), "no reactive contacts with first-contact resolution recorded",
     "contact resolution"),
    ("4c", "resolved_90d", "'Resolved contacts do no harm' (tested as: reactive contacts resolved at first contact go "
     "with no sizeable rise in churn)",
     "odds ratio per resolved reactive contact in the last 90 days, adjusted (claim: at most the margin)",
     lambda m: VerdictRule(1.0, "greater", (round(1 / m, 3), m), equivalence=True),
     "no reactive contacts with first-contact resolution recorded", "contact resolution"),
    ("5", "inconsistency_90d", "'Inconsistency across channels drives churn' (tested as: channel-inconsistency contacts "
     "go with more churn)",
     "odds ratio per channel_inconsistency contact in the last 90 days, adjusted",
     lambda m: ratio_rule("greater", m), "no contact has reason 'channel_inconsistency'",
     "channel-inconsistency records"),
)


#: Per driver claim's term: the flat-data column holding what it counts (one undated value per customer), and
#: what flat data lacks when that column is absent.
_FLAT_EQUIVALENT: dict[str, tuple[str, str]] = {
    "ces_mean_90d": ("ces_last", "the data has no effort scores (CES) per customer"),
    "proactive_90d": ("proactive_contacts", "the data has no proactive contact counts"),
    "unresolved_90d": ("unresolved_contacts", "the data has no counts of contacts unresolved at first contact"),
    "resolved_90d": ("unresolved_contacts", "the data has no counts of contacts resolved at first contact"),
    "inconsistency_90d": ("", "the data has no channel-inconsistency records"),
}


def _no_panel_reason(flat: pd.DataFrame | None, term: str, reason: str, needs: str,
                     panel_problem: str) -> tuple[str, str]:
    """(reason, needs) for a driver claim when there is no dated panel. Flat data (`flat` given) either lacks
    the input altogether (`reason`, `needs`) or has it undated, so it cannot be placed before the churn month;
    event data too short for one snapshot needs more history."""
    if flat is None:
        return f"no monthly snapshot could be built ({panel_problem})", "more history"
    column, missing = _FLAT_EQUIVALENT.get(term, ("", reason))
    if column and column in flat and flat[column].notna().any():
        return (f"flat data: {column.replace('_', ' ')} are recorded with the churn flag, undated, so they cannot "
                "be placed before the month a customer left", "event dates")
    return missing, needs


def claim_drivers(panel: pd.DataFrame, margin: float = 1.05, leaking: Sequence[str] = (),
                  flat: pd.DataFrame | None = None, panel_problem: str = "") -> list[Evidence]:
    """Claims 3a (effort), 4 (proactive, unresolved, resolved contacts) and 5 (inconsistency) from one model.

    `leaking` columns stay out of the model (their rows say so). With no panel (`panel` empty) each row names the
    input it lacks: on flat data (its snapshot `flat`) the input or its dates, otherwise `panel_problem` (too
    short a history).
    """
    events = int(panel["churned"].sum()) if len(panel) else 0
    enough = min(events, len(panel) - events) >= MIN_EVENTS
    fit = driver_model(panel, leaking) if enough else None
    rows = []
    for id, term, claim, test, rule, reason, needs in _DRIVER_CLAIMS:
        if fit is None or term not in fit.coefficients.index:
            if not len(panel):
                why, needs = _no_panel_reason(flat, term, reason, needs, panel_problem)
            elif fit is None:
                why, needs = (f"only {events} churners and {len(panel) - events} stayers in the pooled snapshots "
                              f"(needs {MIN_EVENTS} of each)"), "churners"
            else:
                why = _dropped(fit, term, reason)
            rows.append(Evidence.untestable(id, claim, test, why, needs))
            continue
        rows.append(Evidence.judged(id, claim, test, fit.odds_ratio(term).value, _log_interval(fit, term),
                                    "odds ratio per unit", rule(margin), fit.n,
                                    "Firth penalised fit" if "Firth" in fit.method else ""))
    return rows


def claim_effort_predicts_better(panel: pd.DataFrame, n_boot: int = 300, seed: int = 0,
                                 margin: float = 0.01, leaking: Sequence[str] = (),
                                 flat: pd.DataFrame | None = None) -> list[Evidence]:
    """Claim 3b/3c: CES ranks churners better than CSAT / NPS (AUC difference, paired cluster bootstrap).

    A comparison involving a `leaking` score cannot be made (the leaking score would win by construction).
    """
    rows = []
    for id, other, column in (("3b", "CSAT", "csat_mean_90d"), ("3c", "NPS", "nps_last")):
        claim = f"Effort predicts churn better than {other}"
        test = (f"ROC-AUC of CES (90-day mean) minus AUC of {other} for churn in the next month, same "
                "customer-months; paired bootstrap over customers")
        leaked = [n for c, n in (("ces_mean_90d", "CES"), (column, other)) if _leaks(c, leaking)]
        if leaked:
            rows.append(Evidence.untestable(id, claim, test, LEAKING_SCORE.format(name=" and ".join(leaked)),
                                            LEAKING_NEEDS))
            continue
        needed = [c for c in ("ces_mean_90d", column) if c not in panel or not panel[c].notna().any()]
        both = panel.dropna(subset=["ces_mean_90d", column]) if not needed else panel.iloc[:0]
        events = int(both["churned"].sum())
        if min(events, len(both) - events) < MIN_EVENTS:
            rows.append(Evidence.untestable(id, claim, test, *_effort_shortage(panel, flat, needed, other, events,
                                                                              len(both))))
            continue
        result = compare_predictive_validity(
            both["churned"], {"CES": both["ces_mean_90d"], other: -both[column]}, "CES",
            clusters=both["customer_id"], n_boot=n_boot, seed=seed,
        )
        diff = result.differences.iloc[0]
        aucs = result.aucs["auc"]
        rows.append(Evidence.judged(
            id, claim, test, diff.difference, BootstrapInterval(tuple(result.difference_draws(other))),
            "AUC difference",
            VerdictRule(0.0, "greater", (-margin, margin)), result.n,
            f"AUC CES {aucs['CES']:.3f}, {other} {aucs[other]:.3f}",
        ))
    return rows


def _effort_shortage(panel: pd.DataFrame, flat: pd.DataFrame | None, needed: list[str], other: str, events: int,
                     n: int) -> tuple[str, str]:
    """(reason, needs) when too few customer-months carry both CES and `other`."""
    if not len(panel) and flat is not None:
        for column, name in (("ces_last", "CES"), (f"{other.lower()}_last", other)):
            if column not in flat or not flat[column].notna().any():
                return f"the data has no {name} scores per customer", _INSTRUMENTS[name.lower()][1]
        return "flat data: the scores carry no dates, so they cannot be placed before the churn month", "event dates"
    if not len(panel):
        return "no monthly snapshot could be built (too short a history)", "more history"
    if "ces_mean_90d" in needed:
        return "no effort scores (CES) in the feature windows", "effort scores (CES)"
    if needed:
        return f"no {other} scores in the feature windows", _INSTRUMENTS[other.lower()][1]
    return (f"only {events} churners among {n:,} customer-months with both CES and {other} (needs {MIN_EVENTS} "
            "churners and stayers)"), "churners"


def referral_frame(data: CXData) -> pd.DataFrame:
    """Per customer: `n_referrals`, `years` observed as a customer, latest NPS and CSAT (NaN if none)."""
    customers = data.customers
    end = customers["end_date"].fillna(data.observed_until).clip(upper=data.observed_until)
    latest = data.surveys.sort_values("timestamp").groupby(["customer_id", "instrument"])["score"].last().unstack()
    out = pd.DataFrame({
        "n_referrals": pd.to_numeric(customers["n_referrals"]) if "n_referrals" in customers else np.nan,
        "years": (end - customers["signup_date"]).dt.days / 365.25,
    })
    for name in ("nps", "csat"):
        if name in latest:
            out[f"{name}_last"] = customers["customer_id"].map(latest[name]).to_numpy()
        elif f"{name}_score" in customers:  # flat data: one score per customer, on the customers table
            out[f"{name}_last"] = pd.to_numeric(customers[f"{name}_score"]).to_numpy(float)
        else:
            out[f"{name}_last"] = np.nan
    return out


def claim_promoters_refer(data: CXData, margin: float = 1.05, leaking: Sequence[str] = ()) -> Evidence:
    """Claim 6: promoters (NPS 9-10) make more referrals per year than detractors (0-6); CSAT 4-5 vs 1-3 as proxy.

    Poisson regression of referrals with log(years as a customer) as offset and robust (HC0) standard errors,
    which stay valid under over-dispersion (Cameron & Trivedi 2013). Referrals are not churn, so a `leaking`
    score is still used, with a caveat in the note: recorded with the churn outcome, it splits stayers from
    leavers as much as the satisfied from the dissatisfied.
    """
    claim = "'Promoters recommend' (tested as: promoters make more referrals a year than detractors)"
    test = "referral rate ratio, promoters (NPS 9-10) vs detractors (0-6), Poisson with exposure, robust SEs"
    if "n_referrals" not in data.customers or data.customers["n_referrals"].isna().all():
        return Evidence.untestable("6", claim, test, "the data has no referral counts (n_referrals)", "referrals")
    frame = referral_frame(data)
    frame = frame[frame["years"] > 0].dropna(subset=["n_referrals"])
    for column, high, low, label in (("nps_last", 9, 6, "promoters (NPS 9-10) vs detractors (0-6)"),
                                     ("csat_last", 4, 3, "satisfied (CSAT 4-5) vs not (1-3), as a proxy")):
        rows = frame.dropna(subset=[column])
        rows = rows[(rows[column] >= high) | (rows[column] <= low)]
        group = (rows[column] >= high).astype(float)
        if group.nunique() < 2 or (rows["n_referrals"] > 0).sum() < MIN_EVENTS:
            continue
        fit = sm.GLM(rows["n_referrals"].to_numpy(float), sm.add_constant(group.to_numpy()),
                     family=sm.families.Poisson(), offset=np.log(rows["years"].to_numpy())).fit(cov_type="HC0")
        beta, se = float(fit.params[1]), float(fit.bse[1])
        note = "" if column == "nps_last" else "no NPS in the data: CSAT used as a proxy for promoters"
        if _leaks(column, leaking):
            name = _INSTRUMENTS[column.split("_")[0]][0]
            note = "; ".join(filter(None, (note, f"caution: {name} is recorded after the churn decision (leakage), "
                                           "so its groups are partly leavers vs stayers")))
        return Evidence.judged("6", claim, f"referral rate ratio, {label}, Poisson with exposure, robust SEs",
                               np.exp(beta), LogNormalInterval(beta, se), "rate ratio",
                               ratio_rule("greater", margin), len(rows), note)
    scored = frame[["nps_last", "csat_last"]].notna().any().any()
    return Evidence.untestable("6", claim, test, f"no NPS or CSAT groups with at least {MIN_EVENTS} referrers",
                               "referrals" if scored else "survey scores")


def evaluate_claims(
    data: CXData,
    as_of: str | pd.Timestamp | None = None,
    horizon_months: int = 1,
    window_months: int = 3,
    max_snapshots: int = 12,
    n_boot: int = 300,
    seed: int = 0,
    margin: float = 1.05,
    trap_threshold_pct: float = 25.0,
    max_survival_customers: int | None = None,
    leaking: Sequence[str] = (),
    adjustment: str = "holm",
) -> EvidenceTable:
    """Test claims 1-6 on `data` (see the module docstring); untestable claims get a 'cannot test' row.

    The verdicts of the tested rows are adjusted for multiplicity together (`adjustment`: "holm", the
    pre-declared rule, or "none" to see each row at 5% on its own; see `adjust`).

    `margin` is the equivalence margin for ratios (no effect = within 1/margin..margin). The survival test of
    claim 1 follows lifetimes up to the end of the last prediction window (`as_of` + `horizon_months`), on at
    most `max_survival_customers` customers with an answer (a stated sample, in `samples`). Linear algebra runs on
    one BLAS thread: the many small fits here slow down several-fold when BLAS threads compete for a busy
    machine (8.7 s instead of 3 s on the demo world with two notebooks running side by side).

    `leaking`: columns a `churn.screen_leakage` found recorded after the churn decision; claims resting on them
    say so (claims 1, 2, 3b/3c cannot be tested with them; claim 6 keeps them with a caveat).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        empty = pd.DataFrame(columns=["customer_id", "active", "churned"])
        problem = ""
        if not data.has_timestamps:
            # One row per customer: no dated panel; the flat snapshot carries each customer's scores and churn flag.
            panel, flat = empty, snapshot(data)
        else:
            try:
                panel = stacked_snapshots(data, horizon_months, window_months, as_of, max_snapshots)
            except ValueError as error:  # e.g. observation too short for one prediction window
                panel, problem = empty, str(error)
            flat = cross_section(data) if len(data.surveys) else None
        last = default_as_of(data, horizon_months) if as_of in (None, "") else pd.Timestamp(as_of)
        survival, sample = claim_satisfaction_survival(data, last + pd.DateOffset(months=horizon_months), margin,
                                                       max_survival_customers, seed, leaking)
        rows = [
            *claim_satisfaction_loyalty(panel, flat, margin, leaking),
            *survival,
            claim_satisfaction_trap(panel, flat, trap_threshold_pct, leaking),
            *claim_drivers(panel, margin, leaking, None if data.has_timestamps else flat, problem),
            *claim_effort_predicts_better(panel, n_boot, seed, leaking=leaking,
                                          flat=flat if not data.has_timestamps else None),
            claim_promoters_refer(data, margin, leaking),
        ]
    order = ["1a", "1b", "1a_cox", "1b_cox", "2", "3a", "3b", "3c", "4a", "4b", "4c", "5", "6"]
    samples = ((SURVIVAL_ANALYSIS, sample),) if sample is not None else ()
    rows = adjust(sorted(rows, key=lambda r: order.index(r.id)), adjustment)
    return EvidenceTable(tuple(rows), samples, _panel_design(panel, problem, max_snapshots), adjustment)


def _panel_design(panel: pd.DataFrame, problem: str, requested: int) -> str:
    """How many monthly snapshots the churn claims pooled (of `requested`), and over which months, in words."""
    if not len(panel):
        return (f"no monthly snapshot: {problem}" if problem
                else "no monthly snapshots: flat data has one row per customer, without dates")
    dates = pd.to_datetime(panel["as_of"].unique())
    fewer = f" (the history holds no more than these, of the {requested} requested)" if len(dates) < requested else ""
    return (f"{len(dates)} monthly snapshot{'s' if len(dates) > 1 else ''} from {dates.min().date()} to "
            f"{dates.max().date()}{fewer}: {len(panel):,} customer-months, {int(panel['churned'].sum()):,} churns")
