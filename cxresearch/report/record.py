"""What notebooks 02, 04 and 05 write to their results files: estimates, tables, findings and skipped analyses.

The executive summary (`cxresearch.report.executive`) reads these keys, so they are kept stable here rather than spread
over notebook cells. Each function takes the notebook's result objects (None for an analysis that did not run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cxresearch.churn.drivers import PartialDependenceBands, RelativeWeights
from cxresearch.churn.evaluation import LOGIT, ChurnEvaluation, EMPCResult
from cxresearch.churn.logit import ChurnLogitResult
from cxresearch.economics import retention_verdict
from cxresearch.loyalty.claims import EvidenceTable
from cxresearch.loyalty.nonresponse import WeightedScores
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate
from cxresearch.truth.churn import KnownTruthCheck


def record_churn_drivers(
    results: Results,
    model: ChurnLogitResult | None,
    weights: RelativeWeights | None,
    cv: pd.DataFrame | None,
    truth_check: KnownTruthCheck | None,
    truth_customers: int,
    evaluation: ChurnEvaluation | None,
    importance: pd.DataFrame | None,
    profits: dict[str, EMPCResult] | None,
    clv: float,
    pd_bands: PartialDependenceBands | None = None,
) -> None:
    """Notebook 02: odds ratios (and the drivers' Holm-adjusted tests), contact effects, leakage screen, relative
    weights, CV, both known-truth checks (window odds ratios and generating hazard), holdout, EMPC, partial
    dependence with bootstrap bands."""
    if model is not None:
        estimates = model.to_estimates("churn")
        results.add("churn_rate_window", estimates.pop("churn_event_rate"))
        results.estimates.update(estimates)
        results.add_table("odds_ratios", model.summary())
        results.add_table("driver_tests", model.driver_tests())
        results.extra["driver_multiplicity"] = ("driver findings: Holm's step-down adjustment over the CX drivers' "
                                                "odds ratios, family-wise level 5%")
        results.add_table("contact_effects", model.contact_effects())
        results.add_table("leakage_screen", model.leakage)
        results.warnings.extend(model.notes)
        results.findings.extend(model.findings())
    if weights is not None:
        results.add_table("relative_weights", weights.summary())
    if cv is not None:
        results.add_table("cross_validation", cv.set_axis(["_".join(c) for c in cv.columns], axis=1))
    if truth_check is not None:
        results.add_table("recovery", truth_check.window)
        results.add_table("recovery_with_truth_error", truth_check.window_error)
        results.add_table("recovery_hazard", truth_check.hazard)
        results.extra["recovery_truth"] = (f"true window odds ratios: the same model fitted to a simulated world of "
                                           f"{truth_customers} customers with the demo world's settings and effects "
                                           "(checks sampling error, not the model's bias); recovery_hazard: the "
                                           "person-month cloglog model against the generating hazard ratios")
        results.extra["recovery_checks"] = truth_check.sentences()
    else:
        results.skip("known-truth check", "the data source has no truth.json (only the demo world does)",
                     needs="simulated data")
    if evaluation is None:
        return
    results.estimates.update(evaluation.to_estimates())
    results.add_table("holdout_metrics", evaluation.summary())
    results.add_table("gains_logit", evaluation.gains(LOGIT))
    if importance is not None:
        results.add_table("permutation_importance", importance)
    if pd_bands is not None:
        results.add_table("partial_dependence", pd_bands.summary())
        # estimates only, no findings: a curve of the boosting model describes the model, and its bands leave out
        # the model's smoothing bias (see `churn.drivers.partial_dependence_bands`)
        results.estimates.update(pd_bands.to_estimates())
    for name, result in (profits or {}).items():
        key = "logit" if name == LOGIT else "boosting"
        results.estimates.update(result.to_estimates(f"empc_{key}"))
    if profits:
        best = max(profits, key=lambda name: profits[name].empc)
        results.findings.append(
            f"A retention campaign targeting the riskiest {100 * profits[best].fraction:.1f}% of customers by the "
            f"{best} is worth an expected {profits[best].empc:.2f} per customer (EMPC) if a saved customer is worth "
            f"{clv:g}, the offer cost and acceptance being assumed too (notebook parameters, not measured)."
        )
    # named by its design: flat data and short histories are cross-validated, never "out of time"
    results.findings.append(evaluation.comparison_finding())


def record_loyalty(
    results: Results,
    metrics: dict[str, Any],
    trends: dict[str, pd.DataFrame],
    by_nps: pd.DataFrame | None,
    by_ces: pd.DataFrame | None,
    gap: Any | None,
    weighted: Any | None,
    churn_gap: Any | None,
    evidence: EvidenceTable,
    lookback_months: int,
    weighted_scores: Mapping[str, WeightedScores] | None = None,
) -> None:
    """Notebook 04: headline metrics, monthly trends, churn by score, NPS gap, non-response (NPS, and CSAT / CES
    in `weighted_scores`), the claims table and the samples its tests ran on."""
    for name, result in metrics.items():
        results.estimates.update(result.to_estimates(name))
    if by_nps is not None:
        results.add_table("churn_by_nps_group", by_nps)
    if by_ces is not None:
        results.add_table("churn_by_ces", by_ces)
    for name, trend in trends.items():
        if len(trend):
            results.add_table(f"{name}_monthly", trend)
    if gap is not None:
        results.estimates.update(gap.to_estimates("nps_gap_churned_vs_stayed"))
    if weighted is not None:
        results.estimates.update(weighted.to_estimates())
        results.estimates.update(churn_gap.to_estimates())
        results.findings.append(
            f"NPS of responders is {weighted.raw.score:.1f}; re-weighted to all customers it is "
            f"{results.estimates['nps_ipw_score'].format(1)} ({weighted.response_rate_pct:.0f}% answered)."
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
    for analysis, sample in evidence.samples:
        results.approximate(analysis, sample)
    results.add_table("evidence", evidence.summary())
    results.extra["claims_rule"] = evidence.rule_statement()
    results.estimates.update(evidence.to_estimates())
    findings = evidence.findings()
    results.findings.extend([evidence.rule_statement(), *findings] if findings else [])
    for row in evidence.untestable():
        results.skip(f"claim {row.id}: {row.claim}", row.note, needs=row.needs)
    if "nps" in metrics:
        results.findings.insert(
            0, f"NPS is {results.estimates['nps_score'].format(1)} over the last {lookback_months} months."
        )
    if "ces" in metrics:
        results.findings.append(
            f"{results.estimates['ces_high_effort_pct'].format(1)} of service contacts were high effort (CES 5-7)."
        )


def record_economics(
    results: Results,
    segment: str,
    clv_all: Any | None,
    clv_seg: Any | None,
    resid: Any | None,
    sbg: Any | None,
    monthly_discount_rate: float,
    campaign: Any | None,
    econ: Any | None,
    p_beats: Estimate | None,
    claim_multiple: float,
    horizon_months: int,
    ratio_range: Any | None = None,
    value_break_even: Estimate | None = None,
) -> None:
    """Notebook 05: CLV by segment, residual CLV, sBG, campaign, retention vs acquisition and its Monte Carlo.

    Figures resting on assumed inputs carry no confidence interval: the cost ratio is recorded at the most likely
    inputs, with its spread over the assumptions as `acquisition_to_retention_cost_ratio_assumed_low/_high`
    (`ratio_range`, an `AssumedRange`) and the inputs themselves, each marked assumed or measured, as the table
    `retention_inputs`.
    """
    if clv_seg is not None:
        results.estimates.update(clv_seg.to_estimates())
        results.add_table(f"clv_by_{segment}", clv_seg.summary())
    elif clv_all is not None:  # without any CLV the skip of CLV itself already says why
        results.skip(f"CLV by {segment}", f"the data has no {segment} column", needs="segments")
    if resid is not None:
        results.estimates.update(resid.to_estimates())
    if sbg is not None:
        results.estimates.update(sbg.to_estimates(discount_rate=monthly_discount_rate))
    if campaign is not None:
        results.estimates.update(campaign.to_estimates())
        results.add_table("campaign", campaign.summary())
    claim = None
    if econ is not None:
        results.estimates.update(econ.to_estimates())
        results.add_table("retention_vs_acquisition", econ.summary())
        if ratio_range is not None:
            results.estimates.update(ratio_range.to_estimates("acquisition_to_retention_cost_ratio"))
            results.add_table("retention_inputs", ratio_range.inputs_table())
        claim = _cost_ratio_sentence(econ, ratio_range, claim_multiple)
        results.findings.append(" ".join([clv_finding(econ.clv, horizon_months, monthly_discount_rate),
                                          *results.extra.get("assumptions", [])]))
    if value_break_even is not None:
        results.add("break_even_save_rate_value", value_break_even)
    if p_beats is not None:
        results.add("p_retention_beats_acquisition", p_beats)
        results.findings.append(retention_verdict(p_beats, claim))
    elif claim:
        results.findings.append(claim[0].upper() + claim[1:] + ".")
    results.warnings.extend([*(clv_all.notes if clv_all else []), *(econ.notes if econ else [])])


def clv_finding(clv: Estimate, horizon_months: int, monthly_discount_rate: float) -> str:
    """'A new customer is worth X (95% CI ...) over H months, discounted at an assumed d a month.'"""
    return (f"A new customer is worth {clv.format(0)} over {horizon_months} months, discounted at an assumed "
            f"{monthly_discount_rate:.1%} a month.")


def _cost_ratio_sentence(econ: Any, ratio_range: Any | None, claim_multiple: float) -> str:
    """The cost ratio in words: its range over the assumptions (never a CI on them), the break-even save rate and
    the save rate the "Nx cheaper" claim needs."""
    ratio = econ.cost_ratio
    if econ.save_rate_measured:
        head = f"acquiring a customer costs {ratio.format(2)} times what saving one does"
    elif ratio_range is not None:
        head = (f"acquiring a customer costs between {ratio_range.low:.2f} and {ratio_range.high:.2f} times what "
                f"saving one does ({ratio_range.kind()}; {ratio.value:.2f} at the most likely)")
    else:
        head = f"acquiring a customer costs {ratio.value:.2f} times what saving one does at the assumed inputs"
    rate = econ.break_even_save_rate.value
    even = (f"retention is cheaper if more than {rate:.1f}% of contacted at-risk customers stay because of the "
            "contact" if rate <= 100 else "saving a customer costs more than acquiring one whatever the save rate")
    need = econ.claim_save_rate.value
    if need > 100:
        claim = f"the {claim_multiple:g}x claim would need {need:.0f}% of them to stay: not possible at these costs"
    elif econ.save_rate_measured:
        claim = f"the {claim_multiple:g}x claim is {econ.claim_verdict} (it needs more than {need:.1f}%)"
    else:
        low, high = econ.save_rate_range
        claim = f"the {claim_multiple:g}x claim needs more than {need:.1f}% (the save rate is assumed, {low:.0%}-{high:.0%})"
    return f"{head}; {even}; {claim}"
