"""What notebook 05 (retention economics) writes to its results file; the executive summary reads these keys."""

from __future__ import annotations

from cxresearch.economics import (
    CampaignComparison,
    CampaignResult,
    CLVResult,
    ResidualCLVResult,
    RetentionEconomics,
    SBGResult,
    Valuation,
    retention_verdict,
)
from cxresearch.economics.sensitivity import AssumedRange, cost_ratio_phrase
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate


def record_economics(
    results: Results,
    segment: str,
    *,
    valuation: Valuation,
    clv_all: CLVResult | None = None,
    clv_seg: CLVResult | None = None,
    resid: ResidualCLVResult | None = None,
    sbg: SBGResult | None = None,
    campaign: CampaignResult | None = None,
    per_customer: CampaignComparison | None = None,
    econ: RetentionEconomics | None = None,
    p_beats: Estimate | None = None,
    ratio_range: AssumedRange | None = None,
    value_break_even: Estimate | None = None,
) -> None:
    """Notebook 05: CLV by segment and its tail, residual CLV, sBG, campaign (one save rate; per customer beside it
    when an experiment measured it), retention vs acquisition and its Monte Carlo.

    Figures resting on assumed inputs carry no confidence interval: the cost ratio is recorded at the most likely
    inputs, with its spread over the assumptions as `acquisition_to_retention_cost_ratio_assumed_low/_high`
    (`ratio_range`, an `AssumedRange`) and the inputs themselves, each marked assumed or measured, as the table
    `retention_inputs`. Without a comparison, the value of a new customer (`clv_per_customer`, already recorded)
    is stated as a finding by itself.
    """
    if clv_all is not None and econ is None:  # with a comparison, the value of a customer is stated with it below
        results.findings.append(" ".join([clv_finding(results.estimates["clv_per_customer"], valuation),
                                          *results.extra.get("assumptions", [])]))
    if clv_all is not None:
        record_tail(results, clv_all)
    if clv_seg is not None:
        results.estimates.update(clv_seg.to_estimates())
        results.add_table(f"clv_by_{segment}", clv_seg.summary())
    elif clv_all is not None:  # without any CLV the skip of CLV itself already says why
        results.skip(f"CLV by {segment}", f"the data has no {segment} column", needs="segments")
    if resid is not None:
        results.estimates.update(resid.to_estimates())
    if sbg is not None:
        results.estimates.update(sbg.to_estimates(discount_rate=valuation.monthly_discount_rate))
    if campaign is not None:
        results.estimates.update(campaign.to_estimates())
        results.add_table("campaign", campaign.summary())
    if per_customer is not None:
        results.estimates.update(per_customer.to_estimates())
        results.add_table("campaign_per_customer", per_customer.summary())
    claim = None
    if econ is not None:
        results.estimates.update(econ.to_estimates())
        results.add_table("retention_vs_acquisition", econ.summary())
        if ratio_range is not None:
            results.estimates.update(ratio_range.to_estimates("acquisition_to_retention_cost_ratio"))
            results.add_table("retention_inputs", ratio_range.inputs_table())
        claim = _cost_ratio_sentence(econ, ratio_range)
        results.findings.append(" ".join([clv_finding(econ.clv, valuation),
                                          *results.extra.get("assumptions", [])]))
    if value_break_even is not None:
        results.add("break_even_save_rate_value", value_break_even)
    if p_beats is not None:
        results.add("p_retention_beats_acquisition", p_beats)
        results.findings.append(retention_verdict(p_beats, claim))
    elif claim:
        results.findings.append(claim[0].upper() + claim[1:] + ".")
    if per_customer is not None:  # after the value and cost-ratio findings, which lead the executive brief
        results.findings.append(per_customer_finding(per_customer))
    results.warnings.extend([*(clv_all.notes if clv_all else []), *(econ.notes if econ else [])])


def per_customer_finding(comparison: CampaignComparison) -> str:
    """'With a save rate per customer ... the best retention campaign is expected to earn X (95% CI ...), Y more
    than with one save rate (...)', with how many customers were outside the experiment's support."""
    est = comparison.to_estimates()
    profit, gain = est["campaign_per_customer_profit"], est["campaign_per_customer_gain"]
    return (f"With a save rate per customer from the randomised retention campaign ({comparison.inside:,} customers "
            f"like those randomised; {comparison.outside:,} others keep the measured average), the best retention "
            f"campaign contacts {int(comparison.each.optimum.n_contacted):,} customers and is expected to earn "
            f"{profit.format(0)}, {gain.format(0)} more than with one save rate for everyone.")


def record_tail(results: Results, clv: CLVResult) -> None:
    """The candidate tails beyond the observed horizon (table `clv_tail_models`: AIC, backtest errors) and the
    choice with its reason (`extra["clv_tail"]`)."""
    choice = clv.tail
    results.add_table("clv_tail_models", choice.table.drop(columns="label").set_index("candidate"))
    results.extra["clv_tail"] = {"family": choice.family, "reason": choice.reason, "km_until_months": choice.t_c,
                                 "backtest_from_month": choice.t_cut}


def clv_finding(clv: Estimate, valuation: Valuation) -> str:
    """'A new customer is worth X (95% CI ...) over H months, discounted at an assumed d a month.'"""
    return (f"A new customer is worth {clv.format(0)} over {valuation.horizon_months} months, discounted at an "
            f"assumed {valuation.monthly_discount_rate:.1%} a month.")


def _cost_ratio_sentence(econ: RetentionEconomics, ratio_range: AssumedRange | None) -> str:
    """The cost ratio in words: its range over the assumptions (never a CI on them), the break-even save rate and
    the save rate the "Nx cheaper" claim needs."""
    head = f"acquiring a customer costs {cost_ratio_phrase(econ, ratio_range)} what saving one does"
    rate = econ.break_even_save_rate.value
    even = (f"retention is cheaper if more than {rate:.1f}% of contacted at-risk customers stay because of the "
            "contact" if rate <= 100 else "saving a customer costs more than acquiring one whatever the save rate")
    need = econ.claim_save_rate.value
    if need > 100:
        claim = f"the {econ.claim_multiple:g}x claim would need {need:.0f}% of them to stay: not possible at these costs"
    elif econ.save_rate_measured:
        claim = f"the {econ.claim_multiple:g}x claim is {econ.claim_verdict} (it needs more than {need:.1f}%)"
    else:
        low, high = econ.save_rate_range
        claim = f"the {econ.claim_multiple:g}x claim needs more than {need:.1f}% (the save rate is assumed, {low:.0%}-{high:.0%})"
    return f"{head}; {even}; {claim}"
