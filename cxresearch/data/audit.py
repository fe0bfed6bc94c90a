"""Data audit: what the canonical dataset holds, month by month, before any model is fitted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxresearch.data.plausibility import PlausibilityWarning, check_plausibility
from cxresearch.data.schema import SCORE_RANGES, CXData
from cxresearch.stats.estimate import Estimate

if TYPE_CHECKING:
    from cxresearch.report.results import Results  # type only: recording belongs in report/ (issue 16)


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

    def summary(self) -> pd.DataFrame:
        """The table overview (rows, first and last date per table)."""
        return self.overview


def audit(data: CXData) -> AuditResult:
    """Describe `data`: rows per table, monthly active/churned customers, contact mix, survey response and
    plausibility warnings."""
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
    )


def monthly_activity(data: CXData) -> pd.DataFrame:
    """Per calendar month: customers active at its start, new sign-ups, churned, churn rate (%)."""
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
    """Contacts by direction and channel, with counts and rates per 100 customer-months."""
    ct = data.contacts
    if ct.empty:
        return pd.DataFrame(columns=["direction", "channel", "contacts", "per_100_customer_months"])
    out = ct.groupby(["direction", "channel"], observed=True).size().rename("contacts").reset_index()
    out["per_100_customer_months"] = 100 * out["contacts"] / exposure_months if exposure_months else np.nan
    return out.sort_values(["direction", "contacts"], ascending=[True, False]).reset_index(drop=True)


def survey_coverage(data: CXData) -> pd.DataFrame:
    """Per instrument: responses, customers who ever answered, and that as % of all customers."""
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
    """Share (%) of responses at each score, per instrument (long format: instrument, score, responses, pct)."""
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


#: Why a purchase log has no churn rate: nobody is recorded as leaving.
NO_RECORDED_ENDS = "no customer has a recorded end (in a purchase log customers leave silently)"


def record_audit(results: Results, data: CXData, result: AuditResult) -> None:
    """Write the audit's key figures to the results file: table sizes (`n_customers`, `n_contacts`,
    `n_survey_responses`, counts), `monthly_churn_rate` (%), `pct_answered_<instrument>` (% of customers), the
    survey-coverage and monthly-activity tables, the plausibility warnings (plain sentences) and a finding that
    names the most consequential one; monthly churn is skipped, with the reason, on flat data (no event dates)."""
    results.add("n_customers", Estimate(len(data.customers), "count", "customers in the data"))
    results.add("n_contacts", Estimate(len(data.contacts), "count", "service contacts"))
    results.add("n_survey_responses", Estimate(len(data.surveys), "count", "survey responses"))
    ends = bool(data.customers["end_date"].notna().any())
    if data.has_timestamps and ends:
        results.add("monthly_churn_rate", result.monthly_churn)
    elif data.has_timestamps:
        results.skip("monthly churn", NO_RECORDED_ENDS, needs="churners")
    else:
        results.skip("monthly churn", "the data has no event dates (one row per customer)", needs="event dates")
    for row in result.survey_coverage.itertuples():
        results.add(
            f"pct_answered_{row.instrument}",
            Estimate(row.pct_customers_answered, "%", f"customers who ever answered {row.instrument.upper()}"),
        )
    results.add_table("survey_coverage", result.survey_coverage)
    results.add_table("monthly_activity", result.monthly.assign(month=result.monthly["month"].dt.strftime("%Y-%m")))
    results.warnings.extend(w.plain for w in result.plausibility)
    if not data.has_timestamps:
        finding = f"{len(data.customers):,} customers, one row each (no event dates)."
    elif not ends:
        finding = f"{len(data.customers):,} customers observed until {data.observed_until.date()}; {NO_RECORDED_ENDS}."
    else:
        finding = (f"{len(data.customers):,} customers observed until {data.observed_until.date()}; "
                   f"average monthly churn {result.monthly_churn.format(2)}.")
    results.findings.append(finding + _plausibility_finding(result.plausibility))


def _plausibility_finding(warnings: list[PlausibilityWarning]) -> str:
    """' Check the data first: <the most consequential warning> (N more warnings in the data audit).', or ''
    when there is none."""
    if not warnings:
        return ""
    more = len(warnings) - 1
    rest = f" ({more} more warning{'s' if more > 1 else ''} in the data audit)" if more else ""
    return f" Check the data first: {warnings[0].message}: {warnings[0].consequence}{rest}."
