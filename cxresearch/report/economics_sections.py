"""Notebook 05's sections: each runs its lifetime-value and retention-economics analyses on what the data has, shows
them, and records in the results file what it had to leave out, with the reason and the missing input
(`Results.skip`).

The notebook calls one function per section, so the decisions "the data has X, else skip with a reason" live here.
Every money amount is in the data's currency; rates are per month.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from cxresearch.data.schema import CXData
from cxresearch.data.transactions import CalibrationSplit, calibration_split, cohort_transactions, rfm_summary
from cxresearch.economics import (
    BGNBDResult,
    BTYDCLVResult,
    CLVResult,
    GammaGammaResult,
    ResidualCLVResult,
    RetentionCampaign,
    RetentionEconomics,
    SBGResult,
    Valuation,
    clv_from_survival,
    cohort_alive,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_sbg,
    holdout_by_frequency,
    preventable_churn,
    projection_check,
    residual_clv,
    retention_verdict,
    retention_vs_acquisition,
    retention_vs_acquisition_monte_carlo,
    split_cohorts,
    track_repeat_purchases,
    why_no_clv,
)
from cxresearch.economics.btyd_clv import btyd_clv
from cxresearch.economics.sensitivity import AssumedRange, cost_ratio_range, value_break_even_save_rate
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.save_rate import RETENTION_NEEDS, measured_save_rate
from cxresearch.features.snapshot import lifetimes
from cxresearch.plots.economics import (
    plot_acquisition_vs_retention,
    plot_bgnbd_holdout,
    plot_bgnbd_tracking,
    plot_btyd_clv_distribution,
    plot_clv_by_segment,
    plot_sbg_projection,
    plot_tornado,
)
from cxresearch.report.nbtools import say, show, table
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate


@dataclass
class EconomicsInputs:
    """What every section of notebook 05 starts from: one row per customer (`features.lifetimes`), how values are
    computed, the CLV of a new customer overall and by `segment` (None when not computable, `no_clv` saying why
    and `clv_needs` naming the missing input), and the data's stated assumptions."""

    data: CXData
    lifetimes: pd.DataFrame
    valuation: Valuation
    segment: str
    assumptions: list[str]
    no_clv: str
    clv_needs: str
    clv_all: CLVResult | None
    clv_seg: CLVResult | None

    def value_valuation(self, **changes: object) -> Valuation:
        """The valuation of `residual_clv`: the notebook's, with the tail chosen for the new customer's value so that
        every value rests on the same curve, and `changes`."""
        tail = self.clv_all.tail if self.clv_all is not None else self.valuation.tail
        return replace(self.valuation, tail=tail, **changes)


@dataclass
class PurchaseModels:
    """The BG/NBD fit of a purchase log on its calibration period and the Gamma-Gamma fit of spend (None until
    `spend_section`, or when not estimable)."""

    transactions: pd.DataFrame
    split: CalibrationSplit
    rfm: pd.DataFrame
    bgnbd: BGNBDResult
    spend: GammaGammaResult | None = None


def prepare(data: CXData, results: Results, segment: str, valuation: Valuation) -> EconomicsInputs:
    """The customers' lifetimes and their CLV overall and by `segment`, in the data's currency unless
    `valuation.currency` names one.

    Parameters
    ----------
    data
        The validated data.
    results
        The notebook's results file (the currency goes to `extra["currency"]`; `extra["assumptions"]` is read).
    segment
        Customer column to break CLV down by.
    valuation
        Discounting, horizon, bootstrap and entry column; an empty `currency` takes the data's.

    Returns
    -------
    EconomicsInputs
        What the sections start from.
    """
    valuation = replace(valuation, currency=valuation.currency or data.currency)
    results.extra["currency"] = valuation.currency
    lt = lifetimes(data)
    no_clv, clv_needs = why_no_clv(lt)
    clv_all = clv_from_survival(lt, valuation) if not no_clv else None
    # each segment chooses its own tail: segments with different constant hazards have a falling one together
    clv_seg = clv_from_survival(lt, valuation, group=segment) if not no_clv and segment in lt else None
    return EconomicsInputs(data, lt, valuation, segment, results.extra["assumptions"], no_clv, clv_needs, clv_all,
                           clv_seg)


def clv_section(inputs: EconomicsInputs, results: Results) -> None:
    """The lifetime value of a new customer, overall and by segment, or its skip with the reason."""
    clv_all, clv_seg = inputs.clv_all, inputs.clv_seg
    if clv_all is None:
        say("Lifetime value cannot be computed: {}.", inputs.no_clv)
        results.skip("customer lifetime value", inputs.no_clv, needs=inputs.clv_needs)
        return
    results.add("clv_per_customer", clv_all.per_customer(inputs.assumptions))
    table(clv_all.summary(), 2)
    tail_section(inputs)
    if clv_seg is not None:
        show(plot_clv_by_segment(clv_seg, title=f"Lifetime value of a new customer by {inputs.segment} "
                                                f"({inputs.valuation.currency})"))
        table(clv_seg.summary(), 2)
    for note in [*clv_all.notes, *inputs.assumptions]:
        say("*Note:* {}", note)


def tail_section(inputs: EconomicsInputs) -> None:
    """Which tail extends the survival curve beyond the observed horizon: the candidates' AIC and backtest errors,
    and the choice in one sentence (with where it matters when the observed curve covers the horizon)."""
    choice, horizon = inputs.clv_all.tail, inputs.valuation.horizon_months
    table(choice.summary(), 3)
    covered = ("" if choice.t_c < horizon else f" The value of a new customer over {horizon} months stays within "
               "the observed curve; the tail counts for the residual value of customers who have stayed longer.")
    say("{}{}", choice.reason, covered)


def residual_section(inputs: EconomicsInputs, results: Results) -> ResidualCLVResult | None:
    """What today's customers are still worth, or the skip with the reason."""
    if inputs.no_clv:
        say("Residual value cannot be computed: {}.", inputs.no_clv)
        results.skip("residual customer value", inputs.no_clv, needs=inputs.clv_needs)
        return None
    resid = residual_clv(inputs.lifetimes, inputs.value_valuation())
    table(resid.summary(), 0)
    say("Today's {} customers are worth {} each over the next {} months, {} in total.", f"{resid.mean.n:,}",
        resid.mean.format(0), inputs.valuation.horizon_months, resid.total.format(0))
    return resid


def sbg_section(inputs: EconomicsInputs, results: Results, calibration_months: int) -> SBGResult | None:
    """The shifted-beta-geometric model of quarterly signup cohorts, fitted on their first `calibration_months`
    and checked on the rest, or the skip when no cohort supports it."""
    lt = inputs.lifetimes
    cohorts = cohort_alive(lt, inputs.data.observed_until) if "signup_date" in lt else None
    histories = [g["alive"].to_numpy() for _, g in cohorts.groupby("cohort")] if cohorts is not None else []
    try:
        split = split_cohorts(histories, calibration_months)
        sbg = fit_sbg(split.calibration)
    except NotEstimableError as err:
        say("The sBG cohort model is {}.", err)
        results.skip("sBG cohorts", str(err), needs=err.needs)
        return None
    show(plot_sbg_projection(sbg, observed=split.histories, title="Cohort survival: sBG fitted on the shaded months"))
    table(sbg.summary(), 3)
    for sentence in filter(None, [split.note, projection_check(sbg, split, inputs.valuation.monthly_discount_rate)]):
        say("{}", sentence)
    return sbg


def bgnbd_section(data: CXData, results: Results, transactions_source: str, calibration_end: str,
                  holdout_end: str) -> PurchaseModels | None:
    """BG/NBD on the purchase log (`transactions_source`, else the data's transactions) over its calibration
    period, or the skip: no purchase log, or a log too short to fit."""
    tx = cohort_transactions(data, transactions_source)
    if tx is None:
        say("No purchase log: BG/NBD and Gamma-Gamma are for purchase data, not subscriptions.")
        results.skip("BG/NBD and Gamma-Gamma", "no purchase log: the data has no transactions with amounts and "
                     "transactions_source is empty", needs="purchase records")
        return None
    try:
        split = calibration_split(tx, calibration_end, holdout_end)
        rfm = rfm_summary(tx, split.calibration_end, split.holdout_end)
        return PurchaseModels(tx, split, rfm, fit_bgnbd(rfm["frequency"], rfm["recency"], rfm["T"]))
    except NotEstimableError as err:
        say("BG/NBD is {}.", err)
        results.skip("BG/NBD and Gamma-Gamma", str(err), needs=err.needs)
        return None


def spend_section(models: PurchaseModels | None, results: Results, currency: str) -> None:
    """Gamma-Gamma of spend per purchase (set on `models`), both fits' notes and parameters, or its skip."""
    if models is None:
        return
    rfm = models.rfm
    try:
        models.spend = fit_gamma_gamma(rfm["frequency"], rfm["monetary_value"])
    except NotEstimableError as err:
        results.skip("Gamma-Gamma", str(err), needs=err.needs)
    fits = [fit for fit in (models.bgnbd, models.spend) if fit is not None]
    for note in filter(None, [models.split.note, *(note for fit in fits for note in fit.notes)]):
        say("*Note:* {}", note)
    for fit in fits:
        table(fit.summary(), 3)
    results.estimates.update({**models.bgnbd.to_estimates(),
                              **(models.spend.to_estimates(currency=currency) if models.spend else {})})


def tracking_section(models: PurchaseModels | None, results: Results, holdout_end: str) -> None:
    """Weekly tracking of repeat purchases and holdout forecasts by calibration frequency, or the skip when the
    log leaves no holdout."""
    if models is None:
        return
    if models.split.holdout_end is None:
        why = "holdout_end is empty" if not holdout_end else "the purchase log is too short to leave one"
        results.skip("BG/NBD tracking", f"no holdout period: {why}", needs="" if not holdout_end else "more history")
        return
    track = track_repeat_purchases(models.bgnbd, models.rfm, models.transactions, models.split.holdout_end)
    by_frequency = holdout_by_frequency(models.bgnbd, models.rfm)
    show(plot_bgnbd_tracking(track))
    table(track.summary(), 1)
    show(plot_bgnbd_holdout(by_frequency))
    table(by_frequency.summary(), 2)
    results.estimates.update(track.to_estimates())
    results.add_table("bgnbd_holdout_by_frequency", by_frequency.summary())
    results.findings.append(track.finding())


def btyd_clv_section(models: PurchaseModels | None, results: Results, margin: float, valuation: Valuation,
                     parameter_draws: int) -> BTYDCLVResult | None:
    """Each customer's residual value from BG/NBD x Gamma-Gamma (`margin`: share of spend that is margin), or
    the skip when spend could not be modelled."""
    if models is None:
        return None
    if models.spend is None:
        results.skip("BG/NBD x Gamma-Gamma CLV", "no Gamma-Gamma fit of spend (see above)", needs="purchase records")
        return None
    v = valuation
    btyd = btyd_clv(models.bgnbd, models.spend, models.rfm, margin, v.monthly_discount_rate, v.horizon_months,
                    v.currency, parameter_draws, v.seed)
    show(plot_btyd_clv_distribution(btyd))
    table(btyd.summary(), 2)
    table(btyd.distribution(), 2)
    results.estimates.update(btyd.to_estimates())
    results.findings.append(btyd.finding())
    return btyd


def preventable_section(inputs: EconomicsInputs, results: Results, campaign: RetentionCampaign,
                        preventable_only: bool) -> RetentionCampaign:
    """The campaign inputs with the preventable share of churn (moves and non-payment left out when
    `preventable_only` and the data records why customers left), the sentence saying what was excluded, and the
    counts in `extra["preventable_churn"]`."""
    customers = inputs.data.customers if inputs.data is not None else None
    prevent = preventable_churn(inputs.lifetimes, customers, preventable_only)
    if inputs.clv_all is not None:  # without a lifetime value there are no campaign economics to adjust
        say("{}", prevent.sentence())
    if prevent.n_excluded:
        table(prevent.summary(), 0)
    results.extra["preventable_churn"] = {"exits": prevent.exits, "excluded": prevent.excluded,
                                          "preventable_share": prevent.share, "applied": prevent.applied,
                                          "sentence": prevent.sentence()}
    return replace(campaign, preventable_share=prevent.share) if prevent.share > 0 else campaign


def save_rate_section(inputs: EconomicsInputs, results: Results, campaign: RetentionCampaign,
                      declared: str) -> RetentionCampaign:
    """The campaign inputs with the save rate measured against the randomised holdout of a retention campaign when
    the data has one that measurably kept customers (`experiments.save_rate`), else as assumed; says which."""
    low, high = campaign.save_rate_range or (campaign.save_rate, campaign.save_rate)
    assumed = f"The save rate stays assumed ({campaign.save_rate:.0%}, plausible {low:.0%}-{high:.0%})"
    try:
        if inputs.data is None:
            raise NotEstimableError("the data has no treatments table (no campaign assignments)", RETENTION_NEEDS)
        measured = measured_save_rate(inputs.data, declared)
    except NotEstimableError as err:
        say("{}: {}.", assumed, err.reason)
        results.extra["save_rate"] = {"source": "assumed", "why": err.reason}
        return campaign
    say("{}", measured.sentence())
    results.add("retention_save_rate_measured", Estimate(
        100 * measured.save_rate, "%", "Share of would-be leavers a retention offer kept (randomised holdout)",
        100 * measured.ci_low, 100 * measured.ci_high, n=measured.treated + measured.control,
        note=f"campaign {measured.campaign}, churn within {measured.horizon:g} months; 1 - risk ratio, Katz CI"))
    if not measured.usable:
        say("{}: the measured interval reaches zero.", assumed)
        results.extra["save_rate"] = {"source": "assumed", "why": "the measured save rate's interval reaches zero"}
        return campaign
    results.extra["save_rate"] = {"source": "measured", "campaign": measured.campaign}
    results.extra["label_fields"] = {"save_rate_basis": "a measured", "retention_save_rate": measured.save_rate}
    ci = (measured.ci_low, measured.ci_high)
    return replace(campaign, save_rate=measured.save_rate, contacted=measured.treated, save_rate_ci=ci,
                   save_rate_range=ci)


def why_no_comparison(inputs: EconomicsInputs, acquisition_cost: float) -> tuple[str, str]:
    """Why retention cannot be compared with acquisition, and the missing input (`Results.skip` vocabulary); ("",
    "") when it can: it needs a lifetime value and an acquisition cost (in the data or `acquisition_cost` > 0)."""
    if inputs.clv_all is None:
        return f"no lifetime value ({inputs.no_clv})", inputs.clv_needs
    lt = inputs.lifetimes
    if "acquisition_cost" in lt and lt["acquisition_cost"].notna().any() or acquisition_cost > 0:
        return "", ""
    return "no acquisition cost in the data or the acquisition_cost parameter", "acquisition costs"


def retention_section(inputs: EconomicsInputs, results: Results, campaign: RetentionCampaign, acquisition_cost: float,
                      claim_multiple: float, input_uncertainty: float, n_draws: int
                      ) -> tuple[RetentionEconomics | None, AssumedRange | None]:
    """Retention vs acquisition cost and the "Nx cheaper" claim, with the cost ratio's range over the assumed
    inputs (`input_uncertainty`, `n_draws` Monte Carlo draws), or the skip with the reason."""
    why, needs = why_no_comparison(inputs, acquisition_cost)
    if why:
        say("Retention vs acquisition is skipped: {}.", why)
        results.skip("retention vs acquisition", why, needs)
        return None, None
    econ = retention_vs_acquisition(inputs.lifetimes, campaign, acquisition_cost=acquisition_cost or None,
                                    clv=results.estimates["clv_per_customer"], claim_multiple=claim_multiple,
                                    valuation=inputs.valuation)
    ratio_range = cost_ratio_range(econ, input_uncertainty, n_draws, inputs.valuation.seed)
    show(plot_acquisition_vs_retention(econ, ratio_range=ratio_range))
    table(econ.summary(), 2)
    table(ratio_range.summary(), 2)
    table(ratio_range.inputs_table().set_index("label"), 3)
    for note in econ.notes:
        say("*Note:* {}", note)
    return econ, ratio_range


def monte_carlo_section(inputs: EconomicsInputs, results: Results, resid: ResidualCLVResult | None,
                        econ: RetentionEconomics | None, campaign: RetentionCampaign, acquisition_cost: float,
                        input_uncertainty: float, n_draws: int) -> tuple[Estimate | None, Estimate | None]:
    """Monte Carlo over the assumed inputs and the tornado: the share of scenarios in which retention buys more
    lifetime value per unit of budget than acquisition, and the save rate where that flips (%); or the skip."""
    if econ is None:
        why, needs = why_no_comparison(inputs, acquisition_cost)
        results.skip("Monte Carlo sensitivity", f"no retention-vs-acquisition comparison: {why}", needs)
        return None, None
    mc = retention_vs_acquisition_monte_carlo(
        inputs.clv_all, resid, econ.acquisition_cost.value, campaign.kept_share, campaign.cost_per_contact,
        input_uncertainty, campaign.kept_range, n_draws, inputs.valuation.seed, campaign.incentive_cost,
        econ.acquisition_ci,
    )
    p_beats = mc.probability(0.0)
    share = value_break_even_save_rate(inputs.clv_all, resid, econ.acquisition_cost.value, econ.cost_per_contact)
    value_even = Estimate(100 * share, "%", "Save rate above which retention buys more lifetime value per unit "
                          "spent than acquisition", note="at the most likely assumed costs, measured margins")
    show(plot_tornado(mc, title="Retention minus acquisition: value per unit of budget"))
    table(mc.tornado.set_index("label")[["low", "high", "output_low", "output_high"]], 2)
    say("{} Counting value, retention wins above a save rate of {}.", retention_verdict(p_beats),
        value_even.format(1))
    return p_beats, value_even
