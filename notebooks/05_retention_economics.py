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
# beyond the observed horizon with the tail that extrapolated best in a backtest), discounted monthly. Residual CLV does the same for a
# current customer, conditional on the tenure she has reached. 95% intervals come from a bootstrap over
# customers. Contractual cohorts are projected with the shifted-beta-geometric model (Fader & Hardie 2007);
# non-contractual purchase logs with BG/NBD and Gamma-Gamma (Fader, Hardie & Lee 2005). The cost of retaining a
# customer is the cost of a retention contact divided by the share of contacted customers it actually keeps; we
# compare it with the acquisition cost, target a campaign by risk x value x uplift, and propagate the uncertain
# inputs with a Monte Carlo.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""
seed = 0
segment = "contract"
currency = ""  # "" = the data's own currency (dataset.json or the mapping), else "currency units"
monthly_discount_rate = 0.008
horizon_months = 60
n_boot = 200
clv_tail = "auto"  # survival beyond the observed horizon: "auto" (backtested), "constant", "weibull", ...
retention_cost_per_contact = 25.0
retention_save_rate = 0.15  # assumed: the most likely share of contacted at-risk customers a contact keeps
retention_save_rate_low = 0.05  # its plausible range (used when no randomised retention campaign measures it)
retention_save_rate_high = 0.25
retention_campaign = ""  # the treatments table's retention offer whose holdout measures the save rate ("" = by name)
preventable_only = True  # campaign economics leave out exits no offer prevents (moves, non-payment), if recorded
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
uplift_boot = 30  # bootstrap refits of the per-customer save-rate model over the experiment (0 = no interval)
max_uplift_customers = 20_000  # randomised customers that model is fitted on, a random sample (0 = all)
max_target_customers = 10_000  # customers in its support a refit is evaluated on, a random sample (0 = all)

# %% tags=["remove-cell"]
from cxresearch.economics import RetentionCampaign, Valuation
from cxresearch.report import campaign_sections, nbtools
from cxresearch.report import economics_sections as sections
from cxresearch.report.record.economics import record_economics

# %% tags=["remove-cell"]
ctx = nbtools.start(
    "05_retention_economics", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "segment": segment, "currency": currency,
     "monthly_discount_rate": monthly_discount_rate, "horizon_months": horizon_months, "n_boot": n_boot,
     "clv_tail": clv_tail, "max_target_customers": max_target_customers,
     "retention_cost_per_contact": retention_cost_per_contact, "retention_save_rate": retention_save_rate,
     "retention_save_rate_low": retention_save_rate_low, "retention_save_rate_high": retention_save_rate_high,
     "retention_campaign": retention_campaign,
     "preventable_only": preventable_only, "uplift_boot": uplift_boot, "max_uplift_customers": max_uplift_customers,
     "incentive_cost": incentive_cost, "claim_multiple": claim_multiple, "acquisition_cost": acquisition_cost,
     "transactions_source": transactions_source, "n_draws": n_draws, "input_uncertainty": input_uncertainty,
     "max_model_customers": max_model_customers, "calibration_end": calibration_end, "holdout_end": holdout_end,
     "transaction_margin": transaction_margin, "clv_parameter_draws": clv_parameter_draws},
    shared_tables=shared_tables,
)

# %% tags=["remove-cell"]
results = ctx.results
valuation = Valuation(monthly_discount_rate, horizon_months, n_boot, seed, currency, entry="entry_months",
                      tail=clv_tail)
inputs = sections.prepare(ctx.data, results, segment, valuation)
campaign_inputs = RetentionCampaign(retention_cost_per_contact, retention_save_rate, incentive_cost,
                                    save_rate_range=(retention_save_rate_low, retention_save_rate_high))

# %% [markdown]
# ## Lifetime value of a new customer
# The Kaplan-Meier curve is used as far as at least 10 customers are still at risk (month T_c); beyond it the
# curve needs a tail. A tail that fits the observed months well (AIC) need not extrapolate well, so each candidate
# (a constant hazard fitted on the last 12 months, or a Weibull, log-normal or log-logistic curve fitted on the
# whole curve) is backtested: cut the data at about two thirds of T_c, fit the tail on what was known then, and
# compare the months a customer active at the cut stays until T_c with what the full data show (error in months
# and %). The constant hazard is kept unless another tail misses by clearly less (by more than the sampling error
# of the observed months). The bootstrap keeps the chosen family and refits its parameters in every resample.

# %%
sections.clv_section(inputs, results)

# %% [markdown]
# ## What current customers are still worth
# A customer who has already stayed a while has survived the risky first months; her remaining (residual) value
# uses the survival curve from her current tenure on: S(tenure + t) / S(tenure). The interval reflects the
# uncertainty of the survival curve; the customer base itself is known.

# %%
resid = sections.residual_section(inputs, results)

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
sbg = sections.sbg_section(inputs, results, sbg_calibration_months)

# %% [markdown]
# ## Non-contractual customers: BG/NBD and Gamma-Gamma
# For retail-style purchase logs (the CDNOW kind) nobody cancels: a customer simply stops buying. BG/NBD
# models repeat purchases and silent drop-out from each customer's frequency, recency and age; Gamma-Gamma models
# spend per purchase. The model is fitted on a calibration period (up to `calibration_end`) and checked on the
# following holdout (up to `holdout_end`); dates outside the purchase log are replaced by its first half and its
# second half, and the report says so. The purchases come from `transactions_source` (a CDNOW file) or, when
# that is empty, from the data's own transaction table (e.g. `data_source = "cdnow:DIR"`).

# %%
purchases = sections.bgnbd_section(ctx.data, results, transactions_source, calibration_end, holdout_end)

# %%
sections.spend_section(purchases, results, inputs.valuation.currency)

# %% [markdown]
# ### Does the model track the holdout?
# Left: cumulative repeat purchases of the whole cohort, week by week, against the model's expectation (the sum
# over customers of E[X(t)] from each one's first purchase, Fader, Hardie & Lee 2005, Fig. 3); right: the same per
# week (Fig. 4). The dotted line marks the end of calibration: everything to its right is a forecast. Below, each
# customer's forecast for the holdout given her calibration history, averaged by her number of calibration repeat
# purchases (Fig. 5).

# %%
sections.tracking_section(purchases, results, holdout_end)

# %% [markdown]
# ### What the customers are still worth
# Each customer's residual value is her expected purchases month by month over `horizon_months` (BG/NBD, given
# her history), discounted at `monthly_discount_rate`, times her expected spend per purchase (Gamma-Gamma, which
# shrinks her own average towards the population's) times `transaction_margin`: the discounted expected residual
# transactions of Fader, Hardie & Lee (2005, "RFM and CLV") over a finite horizon. The interval redraws the model
# parameters (`clv_parameter_draws` times); it does not include the luck of individual customers.

# %%
btyd = sections.btyd_clv_section(purchases, results, transaction_margin, inputs.valuation, clv_parameter_draws)

# %% [markdown]
# ## Churn a retention campaign can prevent
# Customers who move away (or die) and those who leave involuntarily (non-payment, the company ending the
# contract) leave whatever a retention offer says. With `preventable_only` (and reasons recorded in the data) the
# campaign economics below count only the other exits: each customer's churn risk is scaled by the preventable
# share of exits, and the assumed save rate applies to that part. The lifetime value keeps every exit: customers
# do leave that way, so their expected lifetime includes it.

# %%
campaign_inputs = sections.preventable_section(inputs, results, campaign_inputs, preventable_only)
campaign_inputs = sections.save_rate_section(inputs, results, campaign_inputs, retention_campaign)

# %% [markdown]
# ## Retention vs acquisition
# The save rate should be *incremental*: customers kept who would otherwise have left, measured against a
# control group. An offer-acceptance rate overstates it and makes retention look cheaper than it is. When the data
# holds a randomised retention campaign (a treatments table; `retention_campaign` names it, else one named for
# retention or an offer), the save rate is measured on it: one minus the risk ratio of churn within 12 months,
# treated vs holdout, with its 95% CI. Otherwise it is an assumption (`retention_save_rate`, plausible from
# `retention_save_rate_low` to `retention_save_rate_high`), as are the contact and incentive costs. Figures that
# divide by an assumed save rate are given as a range over these assumptions (the 5th-95th percentile of a Monte Carlo over their
# plausible values), not as a confidence interval, with the save rate at which the answer flips: acquiring a
# customer costs CAC x save rate / cost per contacted customer times what saving one does, so retention is the
# cheaper of the two above the save rate cost per contacted customer / CAC. An acquisition cost in the data is
# measured and enters with its 95% CI.

# %%
econ, ratio_range = sections.retention_section(inputs, results, campaign_inputs, acquisition_cost, claim_multiple,
                                               input_uncertainty, n_draws)

# %% [markdown]
# ## Which customers to contact, and how large a budget pays back
# Each active customer's churn risk over the next months comes from the churn model of notebook 02, her value
# from her residual CLV. Contacting her is worth risk x uplift x value, minus the contact cost and the incentive
# (which customers who would have stayed anyway also take). We contact customers in order of that expected
# profit; the optimal budget stops where the next contact would lose money. On large customer bases the risk model
# is fitted on a random `max_model_customers` of them (stated under "approximations"); every customer is scored.

# %%
targets = campaign_sections.campaign_targets(inputs, results, resid, campaign_inputs, as_of,
                                             max_model_customers or None)
campaign = campaign_sections.campaign_section(inputs, targets, campaign_inputs)

# %% [markdown]
# ### A save rate per customer, where an experiment measured it
# One save rate for everyone hides that an offer keeps some customers and pushes others away, and that the
# riskiest customers are not always the most persuadable (Ascarza 2018). When a randomised retention campaign
# measured the save rate, its customers also tell whom the offer keeps: a T-learner (two gradient-boosted churn
# models, treated and held out, cross-fitted) predicts each customer's churn within 12 months with and without
# the offer from her state on the day she was assigned, and her save rate is one minus their ratio (negative
# where the offer pushes her away). Applied to the active customers now, it is trusted only within the
# experiment's support: customers whose churn risk lies within the central 98% of the randomised customers' risk
# at assignment and whose traits lie within their ranges. The others keep the measured average save rate, as in
# the campaign above: a campaign randomised among its riskiest customers measured nothing about the rest. The
# interval refits the model on `uplift_boot` bootstrap resamples of the experiment (customers resampled within
# arm); it leaves out the churn model's and the values' uncertainty, and the costs stay assumed. A campaign with
# more than `max_uplift_customers` randomised customers is modelled on a random sample of them; each refit is
# evaluated on a random `max_target_customers` of the customers inside the support when there are more, its
# change of profit scaled up to all of them and added to the exact estimate (both samples stated).

# %%
per_customer = campaign_sections.per_customer_section(inputs, results, targets, campaign_inputs, campaign,
                                                      uplift_boot, max_uplift_customers or None,
                                                      max_target_customers or None)

# %% [markdown]
# ## How sure are we? Monte Carlo and tornado
# The save rate, contact and incentive costs, margins and discount rate are assumed; a measured acquisition cost
# enters with its 95% CI. We draw them jointly (triangular distributions on low / most likely / high values) and
# ask, in each scenario, whether a unit of budget buys more lifetime value through retention than through
# acquisition. The share of scenarios in which it does describes the assumptions, not a probability the data
# gives; the tornado shows which input moves the answer most, and the break-even save rate where it flips.

# %%
p_beats, value_even = sections.monte_carlo_section(inputs, results, resid, econ, campaign_inputs, acquisition_cost,
                                                   input_uncertainty, n_draws)

# %% tags=["remove-cell"]
record_economics(results, segment, clv_all=inputs.clv_all, clv_seg=inputs.clv_seg, resid=resid, sbg=sbg,
                 valuation=valuation, campaign=campaign, per_customer=per_customer, econ=econ, p_beats=p_beats,
                 ratio_range=ratio_range, value_break_even=value_even)
ctx.finish()
