"""What notebook 04 (loyalty metrics) writes to its results file; the executive summary reads these keys."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cxresearch.loyalty.evidence import EvidenceTable
from cxresearch.loyalty.metrics import NPSComparison, NPSResult, ScoreResult
from cxresearch.loyalty.nonresponse import ResponderChurn, WeightedNPS, WeightedScores
from cxresearch.report.results import Results

#: The skipped analysis when the data holds no randomised proactive campaign (claim 4a's row 4a_rct); its words
#: reach the executive page's gaps, so they name the claim, not its results key.
RANDOMISED_TEST = "randomised test of the proactive follow-up claim"


def record_loyalty(
    results: Results,
    metrics: Mapping[str, NPSResult | ScoreResult],
    *,
    evidence: EvidenceTable,
    lookback_months: int,
    trends: Mapping[str, pd.DataFrame] | None = None,
    by_nps: pd.DataFrame | None = None,
    by_ces: pd.DataFrame | None = None,
    gap: NPSComparison | None = None,
    weighted: WeightedNPS | None = None,
    churn_gap: ResponderChurn | None = None,
    weighted_scores: Mapping[str, WeightedScores] | None = None,
) -> None:
    """Notebook 04: headline metrics, monthly trends, churn by score, NPS gap, non-response (NPS, and CSAT / CES
    in `weighted_scores`), the claims table and the samples its tests ran on.

    Parameters
    ----------
    results
        The notebook's results file, written to.
    metrics
        Headline metric results by instrument ("nps", "csat", "ces").
    evidence
        The tested claims.
    lookback_months
        Months of answers the metrics cover, for the NPS finding.
    trends
        Monthly trend tables by instrument (empty ones are not recorded).
    by_nps, by_ces
        Churn by latest NPS group and by latest CES (`loyalty.breakdowns.churn_by_level`).
    gap
        Latest NPS of churners minus stayers.
    weighted, churn_gap
        NPS corrected for non-response and the churn of non-responders vs responders (both or neither).
    weighted_scores
        CSAT / CES corrected for non-response, by instrument.
    """
    for name, result in metrics.items():
        results.estimates.update(result.to_estimates(name))
    if by_nps is not None:
        results.add_table("churn_by_nps_group", by_nps)
    if by_ces is not None:
        results.add_table("churn_by_ces", by_ces)
    for name, trend in (trends or {}).items():
        if len(trend):
            results.add_table(f"{name}_monthly", trend)
    if gap is not None:
        results.estimates.update(gap.to_estimates("nps_gap_churned_vs_stayed"))
    _record_nonresponse(results, weighted, churn_gap, weighted_scores)
    for analysis, sample in evidence.samples:
        results.approximate(analysis, sample)
    results.add_table("evidence", evidence.summary())
    results.extra["claims_rule"] = evidence.rule_statement()
    results.estimates.update(evidence.to_estimates())
    findings = evidence.findings()
    results.findings.extend([evidence.rule_statement(), *findings] if findings else [])
    for row in evidence.untestable():
        results.skip(f"claim {row.id}: {row.claim}", row.note, needs=row.needs)
    for row in evidence.absent:  # not a claim this data fails to test, but a design it does not hold
        results.skip(RANDOMISED_TEST, row.note, needs=row.needs)
    if "nps" in metrics:
        results.findings.insert(
            0, f"NPS is {results.estimates['nps_score'].format(1)} over the last {lookback_months} months."
        )
    if "ces" in metrics:
        results.findings.append(
            f"{results.estimates['ces_high_effort_pct'].format(1)} of service contacts were high effort (CES 5-7)."
        )


def _record_nonresponse(results: Results, weighted: WeightedNPS | None, churn_gap: ResponderChurn | None,
                        weighted_scores: Mapping[str, WeightedScores] | None) -> None:
    """The non-response corrections of NPS (with the churn of non-responders) and of CSAT / CES, and a finding each."""
    if weighted is not None:
        results.estimates.update(weighted.to_estimates())
        results.estimates.update(churn_gap.to_estimates())
        results.findings.append(
            f"NPS of responders is {weighted.raw.score:.1f}; re-weighted to all customers it is "
            f"{results.estimates['nps_ipw_score'].format(1)} ({weighted.response_rate.value:.0f}% answered)."
        )
    for name, scores in (weighted_scores or {}).items():
        results.estimates.update(scores.to_estimates())
        results.add_table(f"{name}_ipw", scores.summary().reset_index())
        metric = scores.table.index[0]  # the headline metric: CSAT % satisfied, CES mean effort
        row, digits = scores.table.loc[metric], 1 if scores.table.loc[metric, "unit"] == "%" else 2
        results.findings.append(
            f"{row['label']}: {row['raw']:.{digits}f} among customers who answered (latest answer); re-weighted to "
            f"all customers with a service contact, {results.estimates[f'{name}_ipw_{metric}'].format(digits)} "
            f"({scores.response_rate_pct:.0f}% answered)."
        )
