"""What notebook 01 (data audit) writes to its results file; the executive summary reads these keys."""

from __future__ import annotations

from cxresearch.data.audit import AuditResult
from cxresearch.data.plausibility import PlausibilityWarning
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate

#: Why a purchase log has no churn rate: nobody is recorded as leaving.
NO_RECORDED_ENDS = "no customer has a recorded end (a purchase log records no ends: its customers leave silently)"


def record_audit(results: Results, result: AuditResult) -> None:
    """Write the audit's key figures to the results file.

    Parameters
    ----------
    results
        Notebook 01's results file.
    result
        The data audit (`cxresearch.data.audit.audit`).

    Notes
    -----
    Writes table sizes (`n_customers`, `n_contacts`, `n_survey_responses`, counts), `monthly_churn_rate` (%),
    `pct_answered_<instrument>` (% of customers), the survey-coverage and monthly-activity tables, the
    plausibility warnings (plain sentences) and a finding that names the most consequential one. Monthly churn
    is skipped, with the reason, on flat data (no event dates) and when nobody is recorded as leaving.
    """
    results.add("n_customers", Estimate(result.n_customers, "count", "customers in the data"))
    results.add("n_contacts", Estimate(result.n_contacts, "count", "service contacts"))
    results.add("n_survey_responses", Estimate(result.n_survey_responses, "count", "survey responses"))
    ends = result.n_churned > 0
    if result.has_timestamps and ends:
        results.add("monthly_churn_rate", result.monthly_churn)
    elif result.has_timestamps:
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
    results.findings.append(_size_finding(result) + _plausibility_finding(result.plausibility))


def _size_finding(result: AuditResult) -> str:
    """The audit's finding: how many customers, until when, and the average monthly churn (or why none)."""
    if not result.has_timestamps:
        return f"{result.n_customers:,} customers, one row each (no event dates)."
    observed = f"{result.n_customers:,} customers observed until {result.observed_until.date()}"
    if result.n_churned == 0:
        return f"{observed}; {NO_RECORDED_ENDS}."
    return f"{observed}; average monthly churn {result.monthly_churn.format(2)}."


def _plausibility_finding(warnings: list[PlausibilityWarning]) -> str:
    """' Check the data first: <the most consequential warning> (N more warnings in the data audit).', or ''
    when there is none."""
    if not warnings:
        return ""
    more = len(warnings) - 1
    rest = f" ({more} more warning{'s' if more > 1 else ''} in the data audit)" if more else ""
    return f" Check the data first: {warnings[0].message}: {warnings[0].consequence}{rest}."
