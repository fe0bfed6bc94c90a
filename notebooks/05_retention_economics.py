# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · What retention is worth
#
# **Question.** What is a customer worth over their lifetime, what are today's customers still worth, and is
# keeping one really several times cheaper than winning a new one (the oft-quoted "7x")? Which retention
# budget pays back, and how sure can we be?
#
# **Method.** Customer lifetime value (CLV) is the expected discounted margin of a new customer: the margin per
# month, times the chance of still being a customer that month (the Kaplan-Meier survival curve, extended
# beyond the observed horizon with a constant churn rate), discounted monthly. Residual CLV does the same for a
# current customer, conditional on the tenure she has reached. 95% intervals come from a bootstrap over
# customers. Contractual cohorts are projected with the shifted-beta-geometric model (Fader & Hardie 2007);
# non-contractual purchase logs with BG/NBD and Gamma-Gamma (Fader, Hardie & Lee 2005). The cost of retaining a
# customer is the cost of a retention contact divided by the share of contacted customers it actually keeps; we
# compare it with the acquisition cost, target a campaign by risk x value x uplift, and propagate the uncertain
# inputs with a Monte Carlo.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
segment = "contract"
currency = ""  # "" = the data's own currency (dataset.json or the mapping), else "currency units"
monthly_discount_rate = 0.008
horizon_months = 60
n_boot = 200
retention_cost_per_contact = 25.0
retention_save_rate = 0.15  # assumed: the most likely share of contacted at-risk customers a contact keeps
retention_save_rate_low = 0.05  # its plausible range (nothing in the data measures it yet)
retention_save_rate_high = 0.25
incentive_cost = 10.0
claim_multiple = 7.0
acquisition_cost = 0.0
sbg_calibration_months = 12  # fewer when no cohort is observed longer (the report says what was chosen)
transactions_source = ""
calibration_end = "1997-09-30"  # derived from the purchase log when outside it (the report says so)
holdout_end = "1998-06-30"  # "" = no holdout check
transaction_margin = 0.30  # share of purchase revenue that is margin (BG/NBD x Gamma-Gamma CLV)
clv_parameter_draws = 100  # parameter draws for the BG/NBD x Gamma-Gamma CLV interval (0 = none)
n_draws = 5000
input_uncertainty = 0.25
max_model_customers = 200_000  # customers the campaign's churn-risk model is fitted on (0 = all; all are scored)

# %% tags=["remove-cell"]
from cxresearch.churn.logit import churn_risk
from cxresearch.data.transactions import calibration_split, cohort_transactions, rfm_summary
from cxresearch.economics import (
    campaign_roi, clv_from_survival, cohort_alive, fit_bgnbd, fit_gamma_gamma, fit_sbg, projection_check,
    residual_clv, retention_verdict, retention_vs_acquisition, retention_vs_acquisition_monte_carlo, split_cohorts,
    why_no_clv,
)
from cxresearch.economics.bgnbd import holdout_by_frequency, track_repeat_purchases
from cxresearch.economics.btyd_clv import btyd_clv
from cxresearch.economics.sensitivity import cost_ratio_range, value_break_even_save_rate
from cxresearch.errors import NotEstimableError
from cxresearch.features.snapshot import lifetimes
from cxresearch.plots.economics import (
    acquisition_vs_retention, bgnbd_holdout, bgnbd_tracking, btyd_clv_distribution, campaign_profit_curve,
    clv_by_segment, sbg_projection, tornado,
)
from cxresearch.report import nbtools
from cxresearch.report.record.economics import clv_finding
from cxresearch.report.record.economics import record_economics
from cxresearch.stats.estimate import Estimate

ctx = nbtools.start(
    "05_retention_economics", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "segment": segment, "currency": currency,
     "monthly_discount_rate": monthly_discount_rate, "horizon_months": horizon_months, "n_boot": n_boot,
     "retention_cost_per_contact": retention_cost_per_contact, "retention_save_rate": retention_save_rate,
     "retention_save_rate_low": retention_save_rate_low, "retention_save_rate_high": retention_save_rate_high,
     "incentive_cost": incentive_cost, "claim_multiple": claim_multiple, "acquisition_cost": acquisition_cost,
     "transactions_source": transactions_source, "n_draws": n_draws, "input_uncertainty": input_uncertainty,
     "max_model_customers": max_model_customers, "calibration_end": calibration_end, "holdout_end": holdout_end,
     "transaction_margin": transaction_margin, "clv_parameter_draws": clv_parameter_draws},
)
data, results = ctx.data, ctx.results
currency = results.extra["currency"] = currency or data.currency
assumptions = results.extra["assumptions"]  # e.g. what the churn flag of one-row-per-customer data covers
lt = lifetimes(data)
no_clv, clv_needs = why_no_clv(lt)
has_margin = not no_clv
clv_args = dict(monthly_discount_rate=monthly_discount_rate, horizon_months=horizon_months, n_boot=n_boot,
                seed=seed, currency=currency, entry="entry_months")
clv_all = clv_from_survival(lt, **clv_args) if has_margin else None
clv_seg = clv_from_survival(lt, group=segment, **clv_args) if has_margin and segment in lt else None

# %% [markdown]
# ## Lifetime value of a new customer

# %%
if clv_all is None:
    nbtools.say("Lifetime value cannot be computed: {}.", no_clv)
    results.skip("customer lifetime value", no_clv, needs=clv_needs)
else:
    results.add("clv_per_customer", clv_all.per_customer(assumptions))
    nbtools.table(clv_all.summary(), 2)
    if clv_seg is not None:
        nbtools.show(clv_by_segment(clv_seg, title=f"Lifetime value of a new customer by {segment} ({currency})"))
        nbtools.table(clv_seg.summary(), 2)
    for note in [*clv_all.notes, *assumptions]:
        nbtools.say("*Note:* {}", note)

# %% [markdown]
# ## What current customers are still worth
# A customer who has already stayed a while has survived the risky first months; her remaining (residual) value
# uses the survival curve from her current tenure on: S(tenure + t) / S(tenure). The interval reflects the
# uncertainty of the survival curve; the customer base itself is known.

# %%
resid = residual_clv(lt, **clv_args) if has_margin else None
if resid is None:
    nbtools.say("Residual value cannot be computed: {}.", no_clv)
    results.skip("residual customer value", no_clv, needs=clv_needs)
else:
    nbtools.table(resid.summary(), 0)
    nbtools.say("Today's {} customers are worth {} each over the next {} months, {} in total.",
                f"{resid.mean.n:,}", resid.mean.format(0), horizon_months, resid.total.format(0))

# %% [markdown]
# ## Contractual cohorts: the shifted-beta-geometric model
# Customers who joined in the same quarter form a cohort; we count how many are still active at each month end
# (only customers observed from sign-up). The sBG model lets each customer have her own monthly churn
# probability, spread across customers as a beta distribution, so the cohort's retention rate rises over time as
# the churn-prone leave. We fit it on each cohort's first `sbg_calibration_months` months and compare its
# projection with what happened afterwards (when no cohort is observed that long, on its first two thirds, and the
# report says so). A fit that runs to the edge of its parameters is reported as not estimable. Where the
# projection runs below the observed curve, retention improves with tenure faster than this sorting alone explains
# (habit, contract renewals): values based on the sBG are then conservative.

# %%
sbg = None
cohorts = cohort_alive(lt, data.observed_until) if "signup_date" in lt else None
histories = [g["alive"].to_numpy() for _, g in cohorts.groupby("cohort")] if cohorts is not None else []
try:
    split = split_cohorts(histories, sbg_calibration_months)
    sbg = fit_sbg(split.calibration)
except NotEstimableError as err:
    nbtools.say("The sBG cohort model is {}.", err)
    results.skip("sBG cohorts", str(err), needs=err.needs)
if sbg is not None:
    nbtools.show(sbg_projection(sbg, observed=split.histories,
                                title="Cohort survival: sBG fitted on the shaded months"))
    nbtools.table(sbg.summary(), 3)
    for sentence in filter(None, [split.note, projection_check(sbg, split, monthly_discount_rate)]):
        nbtools.say("{}", sentence)

# %% [markdown]
# ## Non-contractual customers: BG/NBD and Gamma-Gamma
# For retail-style purchase logs (the CDNOW kind) nobody cancels: a customer simply stops buying. BG/NBD
# models repeat purchases and silent drop-out from each customer's frequency, recency and age; Gamma-Gamma models
# spend per purchase. The model is fitted on a calibration period (up to `calibration_end`) and checked on the
# following holdout (up to `holdout_end`); dates outside the purchase log are replaced by its first half and its
# second half, and the report says so. The purchases come from `transactions_source` (a CDNOW file) or, when
# that is empty, from the data's own transaction table (e.g. `data_source = "cdnow:DIR"`).

# %%
tx = cohort_transactions(data, transactions_source)
bgnbd = spend = rfm = tx_split = None
if tx is None:
    nbtools.say("No purchase log: BG/NBD and Gamma-Gamma are for purchase data, not subscriptions.")
    results.skip("BG/NBD and Gamma-Gamma", "no purchase log: the data has no transactions with amounts and "
                 "transactions_source is empty", needs="purchase records")
else:
    try:
        tx_split = calibration_split(tx, calibration_end, holdout_end)
        rfm = rfm_summary(tx, tx_split.calibration_end, tx_split.holdout_end)
        bgnbd = fit_bgnbd(rfm["frequency"], rfm["recency"], rfm["T"])
    except NotEstimableError as err:
        nbtools.say("BG/NBD is {}.", err)
        results.skip("BG/NBD and Gamma-Gamma", str(err), needs=err.needs)

# %%
if bgnbd is not None:
    try:
        spend = fit_gamma_gamma(rfm["frequency"], rfm["monetary_value"])
    except NotEstimableError as err:
        results.skip("Gamma-Gamma", str(err), needs=err.needs)
    for note in filter(None, [tx_split.note, *(note for fit in (bgnbd, spend) if fit for note in fit.notes)]):
        nbtools.say("*Note:* {}", note)
    for fit in [f for f in (bgnbd, spend) if f is not None]:
        nbtools.table(fit.summary(), 3)
    results.estimates.update({**bgnbd.to_estimates(), **(spend.to_estimates(currency=currency) if spend else {})})

# %% [markdown]
# ### Does the model track the holdout?
# Left: cumulative repeat purchases of the whole cohort, week by week, against the model's expectation (the sum
# over customers of E[X(t)] from each one's first purchase, Fader, Hardie & Lee 2005, Fig. 3); right: the same per
# week (Fig. 4). The dotted line marks the end of calibration: everything to its right is a forecast. Below, each
# customer's forecast for the holdout given her calibration history, averaged by her number of calibration repeat
# purchases (Fig. 5).

# %%
if bgnbd is not None and tx_split.holdout_end is None:
    why = "holdout_end is empty" if not holdout_end else "the purchase log is too short to leave one"
    results.skip("BG/NBD tracking", f"no holdout period: {why}", needs="" if not holdout_end else "more history")
elif bgnbd is not None:
    track = track_repeat_purchases(bgnbd, rfm, tx, tx_split.holdout_end)
    by_frequency = holdout_by_frequency(bgnbd, rfm)
    nbtools.show(bgnbd_tracking(track))
    nbtools.table(track.summary(), 1)
    nbtools.show(bgnbd_holdout(bgnbd, rfm))
    nbtools.table(by_frequency, 2)
    results.estimates.update(track.to_estimates())
    results.add_table("bgnbd_holdout_by_frequency", by_frequency)
    results.findings.append(track.finding())

# %% [markdown]
# ### What the customers are still worth
# Each customer's residual value is her expected purchases month by month over `horizon_months` (BG/NBD, given
# her history), discounted at `monthly_discount_rate`, times her expected spend per purchase (Gamma-Gamma, which
# shrinks her own average towards the population's) times `transaction_margin`: the discounted expected residual
# transactions of Fader, Hardie & Lee (2005, "RFM and CLV") over a finite horizon. The interval redraws the model
# parameters (`clv_parameter_draws` times); it does not include the luck of individual customers.

# %%
btyd = None
if bgnbd is not None and spend is None:
    results.skip("BG/NBD x Gamma-Gamma CLV", "no Gamma-Gamma fit of spend (see above)", needs="purchase records")
elif spend is not None:
    btyd = btyd_clv(bgnbd, spend, rfm, transaction_margin, monthly_discount_rate, horizon_months, currency,
                    clv_parameter_draws, seed)
    nbtools.show(btyd_clv_distribution(btyd))
    nbtools.table(btyd.summary(), 2)
    nbtools.table(btyd.distribution(), 2)
    results.estimates.update(btyd.to_estimates())
    results.findings.append(btyd.finding())

# %% [markdown]
# ## Retention vs acquisition
# The save rate should be *incremental*: customers kept who would otherwise have left, measured against a
# control group. An offer-acceptance rate overstates it and makes retention look cheaper than it is. Nothing in
# this data measures it yet, so it is an assumption (`retention_save_rate`, plausible from
# `retention_save_rate_low` to `retention_save_rate_high`), as are the contact and incentive costs. Figures that
# divide by it are given as a range over these assumptions (the 5th-95th percentile of a Monte Carlo over their
# plausible values), not as a confidence interval, with the save rate at which the answer flips: acquiring a
# customer costs CAC x save rate / cost per contacted customer times what saving one does, so retention is the
# cheaper of the two above the save rate cost per contacted customer / CAC. An acquisition cost in the data is
# measured and enters with its 95% CI.

# %%
has_cac = "acquisition_cost" in lt and lt["acquisition_cost"].notna().any() or acquisition_cost > 0
econ = ratio_range = None
save_range = (retention_save_rate_low, retention_save_rate_high)
econ_skip = (f"no lifetime value ({no_clv})", clv_needs) if clv_all is None else (
    "no acquisition cost in the data or the acquisition_cost parameter", "acquisition costs")
if clv_all is None or not has_cac:
    nbtools.say("Retention vs acquisition is skipped: {}.", econ_skip[0])
    results.skip("retention vs acquisition", *econ_skip)
else:
    econ = retention_vs_acquisition(
        lt, retention_cost_per_contact=retention_cost_per_contact, retention_acceptance_rate=retention_save_rate,
        acquisition_cost=acquisition_cost or None, clv=results.estimates["clv_per_customer"],
        claim_multiple=claim_multiple, incentive_cost=incentive_cost, save_rate_range=save_range, **clv_args,
    )
    ratio_range = cost_ratio_range(econ, input_uncertainty, n_draws, seed)
    nbtools.show(acquisition_vs_retention(econ, ratio_range=ratio_range))
    nbtools.table(econ.summary(), 2)
    nbtools.table(ratio_range.summary(), 2)
    nbtools.table(ratio_range.inputs_table().set_index("label"), 3)
    for note in econ.notes:
        nbtools.say("*Note:* {}", note)

# %% [markdown]
# ## Which customers to contact, and how large a budget pays back
# Each active customer's churn risk over the next months comes from the churn model of notebook 02, her value
# from her residual CLV. Contacting her is worth risk x uplift x value, minus the contact cost and the incentive
# (which customers who would have stayed anyway also take). We contact customers in order of that expected
# profit; the optimal budget stops where the next contact would lose money. On large customer bases the risk model
# is fitted on a random `max_model_customers` of them (stated under "approximations"); every customer is scored.

# %%
campaign = risk = None
try:  # the churn model needs a usable snapshot (dates, churn in the window); real data may lack them
    risk = churn_risk(data, as_of, max_model_customers or None, seed) if resid is not None else None
except (ValueError, KeyError) as err:
    nbtools.say("No churn-risk model could be fitted ({}), so campaign targeting is skipped.", err)
    results.skip("campaign ROI", f"no churn-risk model: {err}", needs="churners")
if risk is not None:
    results.approximate("campaign churn-risk model", risk.sample)
    value = residual_clv(lt, **{**clv_args, "n_boot": 0}, current=risk.active).customers["residual_clv"]
    campaign = campaign_roi(risk.risk, value, retention_save_rate, retention_cost_per_contact, incentive_cost, currency)
    nbtools.show(campaign_profit_curve(campaign))
    nbtools.table(campaign.summary(), 2)
    nbtools.say("At these inputs a contact pays for {} of {} active customers; spending {} on them is expected to "
                "return a profit of {}.", f"{int(campaign.optimum.n_contacted):,}", f"{len(value):,}",
                f"{campaign.optimum.spend:,.0f} {currency}", f"{campaign.optimum.expected_profit:,.0f} {currency}")
    ends = [campaign_roi(risk.risk, value, rate, retention_cost_per_contact, incentive_cost, currency).optimum
            for rate in save_range]
    nbtools.say("The uplift is assumed: at {} the best campaign's expected profit is {}, at {} it is {}.",
                f"{save_range[0]:.0%}", f"{ends[0].expected_profit:,.0f} {currency}", f"{save_range[1]:.0%}",
                f"{ends[1].expected_profit:,.0f} {currency}")
elif resid is None:
    results.skip("campaign ROI", f"no residual customer value ({no_clv})", needs=clv_needs)

# %% [markdown]
# ## How sure are we? Monte Carlo and tornado
# The save rate, contact and incentive costs, margins and discount rate are assumed; a measured acquisition cost
# enters with its 95% CI. We draw them jointly (triangular distributions on low / most likely / high values) and
# ask, in each scenario, whether a unit of budget buys more lifetime value through retention than through
# acquisition. The share of scenarios in which it does describes the assumptions, not a probability the data
# gives; the tornado shows which input moves the answer most, and the break-even save rate where it flips.

# %%
mc = p_beats = value_even = None
if econ is not None:
    mc = retention_vs_acquisition_monte_carlo(
        clv_all, resid, econ.acquisition_cost.value, retention_save_rate, retention_cost_per_contact,
        input_uncertainty, save_range, n_draws, seed, incentive_cost, econ.acquisition_ci,
    )
    p_beats = mc.probability(0.0)
    share = value_break_even_save_rate(clv_all, resid, econ.acquisition_cost.value, econ.cost_per_contact)
    value_even = Estimate(100 * share, "%", "Save rate above which retention buys more lifetime value per unit "
                          "spent than acquisition", note="at the most likely assumed costs, measured margins")
    nbtools.show(tornado(mc, title="Retention minus acquisition: value per unit of budget"))
    nbtools.table(mc.tornado.set_index("label")[["low", "high", "output_low", "output_high"]], 2)
    nbtools.say("{} Counting value, retention wins above a save rate of {}.", retention_verdict(p_beats),
                value_even.format(1))
else:
    results.skip("Monte Carlo sensitivity", f"no retention-vs-acquisition comparison: {econ_skip[0]}", econ_skip[1])

# %% tags=["remove-cell"]
if clv_all is not None and econ is None:  # with a comparison, record_economics states the value of a customer
    results.findings.append(" ".join([clv_finding(results.estimates["clv_per_customer"], horizon_months,
                                                  monthly_discount_rate), *assumptions]))
record_economics(results, segment, clv_all, clv_seg, resid, sbg, monthly_discount_rate,
                 campaign, econ, p_beats, claim_multiple, horizon_months, ratio_range, value_even)
ctx.finish()
