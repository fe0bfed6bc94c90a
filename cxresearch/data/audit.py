"""Data audit: what the canonical dataset holds, month by month, before any model is fitted."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.data.plausibility import PlausibilityWarning, check_plausibility
from cxresearch.data.schema import SCORE_RANGES, CXData
from cxresearch.stats.estimate import Estimate


@dataclass
class AuditResult:
    """Coverage and activity of a dataset: monthly churn, contact rates, survey response, and what is legal but
    implausible (`plausibility`, most consequential first)."""

    overview: pd.DataFrame
    monthly: pd.DataFrame
    contact_mix: pd.DataFrame
    survey_coverage: pd.DataFrame
    score_distribution: pd.DataFrame
    monthly_churn: Estimate
    plausibility: list[PlausibilityWarning]
    #: What the data is: its shape ("events" or "flat"), table sizes, churners and the end of observation.
    shape: str = "events"
    n_customers: int = 0
    n_contacts: int = 0
    n_survey_responses: int = 0
    n_churned: int = 0
    observed_until: pd.Timestamp | None = None
    #: Plain-words notes the data source carries (e.g. how a flat file was read).
    notes: list[str] = field(default_factory=list)

    @property
    def has_timestamps(self) -> bool:
        """Whether the data has event dates, so churn can be counted month by month (False for flat data)."""
        return self.shape == "events"

    def summary(self) -> pd.DataFrame:
        """The table overview (rows, first and last date per table)."""
        return self.overview

    def size_sentence(self) -> tuple[str, list[object]]:
        """The data's size in one Markdown sentence: (text with `{}` placeholders, values for them)."""
        return ("**{}** customers, **{}** contacts and **{}** survey responses, observed until **{}**.",
                [f"{self.n_customers:,}", f"{self.n_contacts:,}", f"{self.n_survey_responses:,}",
                 self.observed_until.date()])

    def plausibility_sentences(self) -> list[tuple[str, list[object]]]:
        """One Markdown sentence per plausibility warning, or one saying that none was found."""
        if not self.plausibility:
            return [(("None of these checks found anything: margins, churn share, scores, sign-up dates and "
                      "segments are within plausible ranges."), [])]
        return [("**Warning.** {}", [warning.plain]) for warning in self.plausibility]

    def churn_sentences(self) -> list[tuple[str, list[object]]]:
        """Monthly churn in Markdown sentences; on flat data, why there is no monthly view and the data's notes."""
        notes = [("*Note:* {}", [note]) for note in self.notes]
        if self.has_timestamps and self.n_churned == 0:
            # a zero rate with a zero-width interval would read as a measurement; nobody was seen leaving at all
            return [("No customer has a recorded end, so there is no churn rate to show.", []), *notes]
        if self.has_timestamps:
            return [("Average monthly churn: **{}**.", [self.monthly_churn.format(2)]), *notes]
        return [(("This data has one row per customer and no event dates ({} shape), so there is no "
                  "month-by-month view: {} of {} customers churned in the period the data covers."),
                 [self.shape, f"{self.n_churned:,}", f"{self.n_customers:,}"]), *notes]


def audit(data: CXData) -> AuditResult:
    """Describe `data`: rows per table, monthly active/churned customers, contact mix, survey response and
    plausibility warnings.

    Parameters
    ----------
    data
        Validated data of either shape; on flat data the monthly view is empty.

    Returns
    -------
    AuditResult
        The tables and figures of the data audit; the monthly churn rate in % of customers active at the start
        of each calendar month, pooled, with a normal-approximation 95% interval.
    """
    monthly = monthly_activity(data)
    exposure = monthly["active_start"].sum()
    churned = monthly["churned"].sum()
    rate = churned / exposure if exposure else np.nan
    # Pooled monthly rate over customer-months; a Wilson-free normal CI is fine at these counts.
    se = np.sqrt(rate * (1 - rate) / exposure) if exposure else np.nan
    monthly_churn = Estimate(
        value=100 * rate, unit="%", label="average monthly churn rate",
        ci_low=100 * (rate - 1.96 * se), ci_high=100 * (rate + 1.96 * se), n=int(exposure),
        note="churned customers / customers active at the start of each calendar month, pooled",
    )
    return AuditResult(
        overview=data.describe(),
        monthly=monthly,
        contact_mix=contact_mix(data, exposure_months=float(monthly["active_start"].sum())),
        survey_coverage=survey_coverage(data),
        score_distribution=score_distribution(data),
        monthly_churn=monthly_churn,
        plausibility=check_plausibility(data),
        shape=data.shape,
        n_customers=len(data.customers),
        n_contacts=len(data.contacts),
        n_survey_responses=len(data.surveys),
        n_churned=int(data.customers["end_date"].notna().sum()),
        observed_until=data.observed_until,
        notes=list(data.metadata.get("notes", [])),
    )


def monthly_activity(data: CXData) -> pd.DataFrame:
    """Per calendar month: customers active at its start, new sign-ups, churned, churn rate (%).

    Parameters
    ----------
    data
        The validated data (event dates needed for a meaningful calendar).

    Returns
    -------
    pandas.DataFrame
        month (first day), active_start, new, churned (customers) and churn_rate (%), for months with customers.
    """
    c = data.customers
    first = c["signup_date"].min().to_period("M")
    last = (data.observed_until - pd.Timedelta(days=1)).to_period("M")
    months = pd.period_range(first, last, freq="M")
    starts = months.to_timestamp()
    ends = (months + 1).to_timestamp()
    signup = c["signup_date"].to_numpy()
    end = c["end_date"].fillna(pd.Timestamp.max).to_numpy()
    sorted_signup, sorted_end = np.sort(signup), np.sort(end)
    s, e = starts.to_numpy(), ends.to_numpy()
    signed_before = np.searchsorted(sorted_signup, s, side="left")
    ended_before = np.searchsorted(sorted_end, s, side="left")
    active_start = signed_before - ended_before
    new = np.searchsorted(sorted_signup, e, side="left") - signed_before
    churned = np.searchsorted(sorted_end, e, side="left") - ended_before
    out = pd.DataFrame(
        {"month": starts, "active_start": active_start, "new": new, "churned": churned}
    )
    out["churn_rate"] = 100 * out["churned"] / out["active_start"].where(out["active_start"] > 0)
    return out[out["active_start"] > 0].reset_index(drop=True)


def contact_mix(data: CXData, exposure_months: float) -> pd.DataFrame:
    """Contacts by direction and channel, with counts and rates per 100 customer-months.

    Parameters
    ----------
    data
        Validated data whose contacts are counted.
    exposure_months
        Customer-months the rates are per (customers active at the start of each month, summed).

    Returns
    -------
    pandas.DataFrame
        direction, channel, contacts (count) and per_100_customer_months, largest counts first per direction.
    """
    ct = data.contacts
    if ct.empty:
        return pd.DataFrame(columns=["direction", "channel", "contacts", "per_100_customer_months"])
    out = ct.groupby(["direction", "channel"], observed=True).size().rename("contacts").reset_index()
    out["per_100_customer_months"] = 100 * out["contacts"] / exposure_months if exposure_months else np.nan
    return out.sort_values(["direction", "contacts"], ascending=[True, False]).reset_index(drop=True)


def survey_coverage(data: CXData) -> pd.DataFrame:
    """Per instrument: responses, customers who ever answered, and that as % of all customers.

    Parameters
    ----------
    data
        Validated data; every customer counts in the denominator, answered or not.

    Returns
    -------
    pandas.DataFrame
        instrument, responses, customers_answered (counts) and pct_customers_answered (% of all customers).
    """
    n_customers = len(data.customers)
    rows = []
    for instrument in SCORE_RANGES:
        sv = data.surveys[data.surveys["instrument"] == instrument]
        answered = sv["customer_id"].nunique()
        rows.append(
            {
                "instrument": instrument,
                "responses": len(sv),
                "customers_answered": answered,
                "pct_customers_answered": 100 * answered / n_customers if n_customers else np.nan,
            }
        )
    return pd.DataFrame(rows)


def score_distribution(data: CXData) -> pd.DataFrame:
    """Share (%) of responses at each score, per instrument (long format: instrument, score, responses, pct).

    Parameters
    ----------
    data
        Validated data whose survey answers are counted, every score on each instrument's scale shown.

    Returns
    -------
    pandas.DataFrame
        instrument, score, responses (count) and pct (% of that instrument's responses; NaN when none).
    """
    frames = []
    for instrument, (lo, hi) in SCORE_RANGES.items():
        scores = data.surveys.loc[data.surveys["instrument"] == instrument, "score"]
        counts = scores.value_counts().reindex(range(lo, hi + 1), fill_value=0)
        total = counts.sum()
        frames.append(
            pd.DataFrame(
                {
                    "instrument": instrument,
                    "score": counts.index,
                    "responses": counts.to_numpy(),
                    "pct": 100 * counts.to_numpy() / total if total else np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
