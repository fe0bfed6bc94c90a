"""Notebook 05's campaign sections: whom a retention contact pays for at one save rate, and, when a randomised
retention campaign measured it, at a save rate per customer inside the experiment's support; or the skip with
the reason (`Results.skip`). Money in the data's currency."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from cxresearch.churn.logit import ChurnRisk, churn_risk
from cxresearch.economics import (
    CampaignComparison,
    CampaignResult,
    ResidualCLVResult,
    RetentionCampaign,
    campaign_roi,
    residual_clv,
)
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.campaign_uplift import CampaignSaveRates, effect_features, fit_campaign_save_rates
from cxresearch.experiments.save_rate import RETENTION_NEEDS
from cxresearch.plots.economics import plot_campaign_comparison, plot_campaign_profit_curve
from cxresearch.report.economics_sections import EconomicsInputs
from cxresearch.report.nbtools import say, show, table
from cxresearch.report.results import Results
from cxresearch.stats.sampling import Sample, sample_customers

#: The analysis a per-customer campaign is recorded under when it cannot run (`Results.skip`).
PER_CUSTOMER = "per-customer campaign"


@dataclass
class CampaignTargets:
    """The active customers a campaign may contact: their churn risk (`ChurnRisk`), residual value (currency), and
    the churn risk a save rate applies to (`RetentionCampaign.preventable_scale`)."""

    risk: ChurnRisk
    value: np.ndarray
    at_risk: np.ndarray


def campaign_targets(inputs: EconomicsInputs, results: Results, resid: ResidualCLVResult | None,
                     campaign: RetentionCampaign, as_of: str, max_model_customers: int | None
                     ) -> CampaignTargets | None:
    """Churn risk and residual value of every active customer, or None with the skip: no residual value, or no
    churn-risk model on this data."""
    try:  # the churn model needs a usable snapshot (dates, churn in the window); real data may lack them
        risk = churn_risk(inputs.data, as_of, max_model_customers, inputs.valuation.seed) if resid is not None else None
    except (ValueError, KeyError) as err:
        say("No churn-risk model could be fitted ({}), so campaign targeting is skipped.", err)
        results.skip("campaign ROI", f"no churn-risk model: {err}", needs="churners")
        return None
    if risk is None:
        results.skip("campaign ROI", f"no residual customer value ({inputs.no_clv})", needs=inputs.clv_needs)
        return None
    results.approximate("campaign churn-risk model", risk.sample)
    value = residual_clv(inputs.lifetimes, inputs.value_valuation(n_boot=0), current=risk.active
                         ).customers["residual_clv"].to_numpy(float)
    # the at-risk pool counts preventable churn only: moves and non-payment leave whatever the offer
    return CampaignTargets(risk, value, risk.risk * campaign.preventable_scale)


def campaign_section(inputs: EconomicsInputs, targets: CampaignTargets | None, campaign: RetentionCampaign
                     ) -> CampaignResult | None:
    """Which active customers a retention contact pays for at one save rate (churn risk x save rate x residual
    value), with the best campaign's profit at the ends of the save rate's interval or range."""
    if targets is None:
        return None
    currency = inputs.valuation.currency
    result = campaign_roi(targets.at_risk, targets.value, campaign.save_rate, campaign.cost_per_contact,
                          campaign.incentive_cost, currency)
    show(plot_campaign_profit_curve(result))
    table(result.summary(), 2)
    say("At these inputs a contact pays for {} of {} active customers; spending {} on them is expected to return a "
        "profit of {}.", f"{int(result.optimum.n_contacted):,}", f"{len(targets.value):,}",
        f"{result.optimum.spend:,.0f} {currency}", f"{result.optimum.expected_profit:,.0f} {currency}")
    low, high = campaign.save_rate_range
    ends = [campaign_roi(targets.at_risk, targets.value, rate, campaign.cost_per_contact, campaign.incentive_cost,
                         currency).optimum for rate in (low, high)]
    say("The save rate is {}: at {} the best campaign's expected profit is {}, at {} it is {}.",
        "measured (the ends of its 95% CI)" if campaign.measured else "assumed (its plausible range)", f"{low:.0%}",
        f"{ends[0].expected_profit:,.0f} {currency}", f"{high:.0%}", f"{ends[1].expected_profit:,.0f} {currency}")
    return result


def per_customer_section(inputs: EconomicsInputs, results: Results, targets: CampaignTargets | None,
                         campaign: RetentionCampaign, flat: CampaignResult | None, n_boot: int,
                         max_customers: int | None = None, max_targets: int | None = None
                         ) -> CampaignComparison | None:
    """The campaign with a save rate per customer (`experiments.campaign_uplift`) inside the measuring experiment's
    support and the measured one outside it, beside the flat campaign, with bootstrap CIs over the experiment
    (`n_boot` refits, 0 = none) on at most `max_customers` randomised customers, the refits evaluated on at most
    `max_targets` active customers inside the support (stated random samples; None = all); or the skip: no
    measured save rate, or too few randomised customers."""
    if targets is None or flat is None:
        return None  # the flat campaign's skip says why
    measured = results.extra.get("save_rate", {})
    if not campaign.measured:
        why = f"no measured save rate to start from: {measured.get('why', 'none was measured')}"
        say("Every customer keeps one save rate: {}.", why)
        results.skip(PER_CUSTOMER, why, RETENTION_NEEDS)
        return None
    active = targets.risk.active
    try:
        with threadpool_limits(limits=1, user_api="openmp"):  # small trees: threads only oversubscribe the cores
            model = fit_campaign_save_rates(inputs.data, measured["campaign"], effect_features(active),
                                            targets.risk.model.predict_proba, seed=inputs.valuation.seed,
                                            max_customers=max_customers)
    except NotEstimableError as err:
        say("Every customer keeps one save rate: {}.", err.reason)
        results.skip(PER_CUSTOMER, err.reason, err.needs)
        return None
    results.approximate(f"per-customer save rates of {model.campaign}", model.sample)
    comparison, sample = _compare(inputs, targets, campaign, flat, model, n_boot, max_targets)
    results.approximate(f"per-customer campaign's interval (refits of {model.campaign}'s save rates, scaled up)",
                        replace(sample, unit="active customers inside the experiment's support"))
    show(plot_campaign_comparison(comparison))
    table(model.summary(), 3)
    table(comparison.summary(), 0)
    currency = inputs.valuation.currency
    say("Per-customer save rates apply to the {} of {} active customers like those the campaign randomised ({}); "
        "the other {} keep the measured {}. At per-customer rates the best campaign contacts {} and is expected to "
        "earn {} ({} with one save rate); the one-save-rate campaign's contacts would earn {} at per-customer "
        "rates. These are the model's own expectations: the customers with the highest estimated save rates are "
        "partly those the model overrates, so the best campaign will earn less than it expects.",
        f"{comparison.inside:,}", f"{len(active):,}", model.support.rule(), f"{comparison.outside:,}",
        f"{campaign.save_rate:.1%}", f"{int(comparison.each.optimum.n_contacted):,}",
        f"{comparison.each.optimum.expected_profit:,.0f} {currency}",
        f"{flat.optimum.expected_profit:,.0f} {currency}", f"{comparison.flat_at_each():,.0f} {currency}")
    if len(comparison.each_draws):
        corrected, low, high = comparison.corrected(comparison.each.optimum.expected_profit, comparison.each_draws)
        say("The bootstrap measures that optimism: refits on resampled experiments expect {} more on average than "
            "the fit, so the campaign is estimated to earn {} (95% CI {} to {}), the figure reported.",
            f"{comparison.optimism():,.0f} {currency}", f"{corrected:,.0f} {currency}", f"{low:,.0f}",
            f"{high:,.0f}")
    if sample.sampled:
        say("The interval's refits are evaluated on a random {} of the {} customers inside the support: each adds "
            "the change of profit on them, scaled up to all of them, to the exact estimate.",
            f"{sample.n_used:,}", f"{sample.n_total:,}")
    results.extra["campaign_uplift"] = {"campaign": model.campaign, "support": model.support.rule(),
                                        "inside": comparison.inside, "outside": comparison.outside,
                                        "outside_save_rate": campaign.save_rate, "n_boot": n_boot}
    return comparison


def _compare(inputs: EconomicsInputs, targets: CampaignTargets, campaign: RetentionCampaign, flat: CampaignResult,
             model: CampaignSaveRates, n_boot: int, max_targets: int | None
             ) -> tuple[CampaignComparison, Sample]:
    """Both campaigns and their optimal profits over `n_boot` bootstrap refits of the save-rate model, the refits
    evaluated on at most `max_targets` customers inside the support (the random sample returned)."""
    inside = model.support.inside(targets.risk.active, targets.risk.risk)
    within = targets.risk.active[inside].reset_index(drop=True)
    point = model.predict(within)
    each = replace(_best(inputs, targets, campaign, _rates(inside, point, campaign.save_rate)),
                   uplift_source=f"from the randomised campaign {model.campaign} inside its support, the measured "
                                 "save rate outside")
    sample = sample_customers(within, max_targets if n_boot else None, inputs.valuation.seed)
    with threadpool_limits(limits=1, user_api="openmp"):
        draws, averages = model.resample(sample.frame, n_boot, inputs.valuation.seed)
    flat_draws = np.array([_best(inputs, targets, campaign, np.full(len(inside), a)).optimum.expected_profit
                           for a in averages])
    if sample.sampled:
        each_draws = _scaled_draws(inputs, targets, campaign, each, inside, point, sample, draws, averages)
    else:
        each_draws = np.array([_best(inputs, targets, campaign, _rates(inside, d, a)).optimum.expected_profit
                               for d, a in zip(draws, averages)])
    comparison = CampaignComparison(flat, each, flat_draws, each_draws, int(inside.sum()), model.support.rule(),
                                    sample.n_used if sample.sampled else None)
    return comparison, sample


def _scaled_draws(inputs: EconomicsInputs, targets: CampaignTargets, campaign: RetentionCampaign,
                  each: CampaignResult, inside: np.ndarray, point: np.ndarray, sample: Sample, draws: np.ndarray,
                  averages: np.ndarray) -> np.ndarray:
    """Optimal profit (currency) per refit evaluated on a sample of the customers inside the support: the exact
    estimate plus the refit's change of profit outside the support and on the sample, scaled up to all inside.

    The optimal campaign contacts every customer with a positive expected profit, so its profit is a sum over
    customers: the scaled change on a simple random sample estimates the change on all of them without bias, and
    the sample's own error (the same customers before and after) largely cancels in the change."""
    outside, rows = np.flatnonzero(~inside), sample.frame.index.to_numpy()  # rows: positions inside the support
    picked = np.flatnonzero(inside)[rows]

    def profit(rates: float | np.ndarray, rows: np.ndarray) -> float:
        return float(_best(inputs, targets, campaign, rates, rows).optimum.expected_profit)

    scale = sample.n_total / sample.n_used
    base_out, base_in = profit(campaign.save_rate, outside), profit(point[rows], picked)
    return np.array([each.optimum.expected_profit + profit(a, outside) - base_out
                     + scale * (profit(d, picked) - base_in) for d, a in zip(draws, averages)])


def _best(inputs: EconomicsInputs, targets: CampaignTargets, campaign: RetentionCampaign,
          rates: float | np.ndarray, rows: np.ndarray | None = None) -> CampaignResult:
    """The campaign over the active customers (or those at positions `rows`) at save rates `rates`."""
    keep = slice(None) if rows is None else rows
    return campaign_roi(targets.at_risk[keep], targets.value[keep], rates, campaign.cost_per_contact,
                        campaign.incentive_cost, inputs.valuation.currency)


def _rates(inside: np.ndarray, inner: np.ndarray, outer: float) -> np.ndarray:
    """Save rate per active customer: `inner` inside the support (in its order), `outer` outside."""
    out = np.full(len(inside), outer)
    out[inside] = inner
    return out
