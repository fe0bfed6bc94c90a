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
# # 02 · What goes with churn
#
# **Question.** Which parts of the customer experience — satisfaction (CSAT, NPS), effort (CES), reactive
# service contacts and whether they were resolved, proactive outreach, cross-channel inconsistency — go with a
# higher chance of leaving in the next months, once tenure, contract and plan are held fixed? How well can we
# predict who leaves, and what is a retention campaign built on that prediction worth?
#
# **Words.** These are observational data: an odds ratio says what *goes with* churn, holding the other
# features fixed, not what *causes* it (customers who call often may differ in ways the data does not record).
# Only a randomised experiment, such as a retention campaign with a control group, could show a cause; none is
# analysed here.
#
# **Design (leakage-safe).** A snapshot at `as_of`: features only from before it, churn observed in the
# `horizon_months` after it, customers already gone at `as_of` excluded. Prediction is judged out of time —
# models trained on the snapshot `horizon_months` earlier, whose outcomes end exactly at `as_of`, score the
# customers at `as_of` — and, as a second view, by cross-validation within the `as_of` snapshot. Where the data
# cannot support an out-of-time holdout (flat data describes one date; a short history has no earlier snapshot)
# the evaluation is cross-validated and labelled so. When the observed history is shorter than the feature window
# plus the horizon, both are shortened to fit and the report says so. A column that on its own nearly equals the
# outcome (leakage) is found once and left out of every model below.
#
# **Scale.** The explanatory model and the churn rates use every active customer. On large customer bases the
# out-of-time holdout fits and scores, and the known-truth check's person-month hazard model fits, a simple random
# sample of at most `max_model_customers` customers, and what refits or re-scores many times (cross-validation,
# relative-weight bootstrap, permutation importance, partial dependence) at most `max_refit_customers`; their CIs
# come from the sample, and the results file lists every such sample under "approximations" (nothing is sampled
# on the 20,000-customer demo world).

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""
seed = 0
horizon_months = 3
window_months = 3
n_boot = 200  # bootstrap resamples for the AUC CIs
weight_boot = 100  # bootstrap resamples for the relative-weight CIs
cv_folds = 5
permutation_repeats = 5
truth_customers = 100_000  # size of the simulated world that gives the true window odds ratios
clv = 200.0  # value of a retained would-be churner (currency)
incentive_cost = 10.0  # cost of the retention offer per customer who accepts it (currency)
contact_cost = 1.0  # cost of contacting one customer (currency)
accept_alpha = 6.0  # acceptance rate of the offer among would-be churners ~ Beta(alpha, beta)
accept_beta = 14.0
max_model_customers = 200_000  # customers the out-of-time holdout and the hazard check use (0 = all)
max_refit_customers = 50_000  # customers for what refits or re-scores many times: CV, importance, PD (0 = all)
pd_boot = 20  # bootstrap refits of the boosting model for the partial-dependence bands (0 = no bands)

# %% tags=["remove-cell"]
from cxresearch.churn.empc import CampaignParameters
from cxresearch.report import churn_sections as sections
from cxresearch.report import nbtools
from cxresearch.report.record.churn import record_churn_drivers

ctx = nbtools.start(
    "02_churn_drivers", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "horizon_months": horizon_months, "window_months": window_months,
     "n_boot": n_boot, "weight_boot": weight_boot, "cv_folds": cv_folds, "truth_customers": truth_customers,
     "clv": clv, "incentive_cost": incentive_cost, "contact_cost": contact_cost,
     "accept_alpha": accept_alpha, "accept_beta": accept_beta, "max_model_customers": max_model_customers,
     "max_refit_customers": max_refit_customers, "pd_boot": pd_boot},
    shared_tables=shared_tables,
)

# %% tags=["remove-cell"]
results = ctx.results
inputs = sections.prepare(ctx.data, results, as_of, window_months, horizon_months, seed, max_model_customers or None,
                          max_refit_customers or None, ctx.cache)

# %% [markdown]
# ## Who is in the analysis

# %%
sections.population_section(inputs)

# %% [markdown]
# ## Explanatory model: odds ratios
# **Method.** Logistic regression (statsmodels) of churn in the window on the CX drivers, tenure, contract and
# plan. An odds ratio above 1 means more churn per unit of the driver (per point of a score, per contact),
# holding the others fixed; bars are 95% confidence intervals. Customers who never answered a survey stay in
# the model: their score is set to the average and flagged by a "missing" indicator.
#
# **Multiplicity.** Several drivers are tested at once, so at 5% each some would look real by chance. A driver
# is reported as going with churn only if its odds ratio differs from 1 after **Holm's step-down adjustment**
# over the CX drivers (Holm 1979; the controls tenure, contract and plan are not in the family): the chance that
# any of these findings is a fluke stays at most 5%. Holm rather than Benjamini-Hochberg because each finding is
# read and acted on by itself, the family is small (so little power is lost), and the drivers' estimates are
# correlated (reactive and unresolved counts), which Holm needs no assumption about. The second table gives each
# driver's adjusted p-value and its CI at its Holm level.
#
# **Contacts and resolution.** Reactive contacts enter as two counts: all reactive contacts, and those not
# resolved at first contact. Because unresolved = reactive × (1 − first-contact-resolution rate), the second
# term *is* the reactive × unresolved interaction: one more contact that is resolved first time goes with odds
# higher by the "reactive" odds ratio, one that is not by the product of both, and a contact resolved first time
# goes with odds lower by the inverse of the "unresolved" odds ratio than one that is not (table below).

# %%
sections.odds_ratio_section(inputs, results)

# %% [markdown]
# ## Real-data hazards: what was detected and what was done
# Perfect separation (→ Firth's penalised fit), a feature that almost equals the outcome (leakage → dropped),
# constant columns (→ dropped), mostly missing survey scores (→ missing indicators) and heavy class imbalance
# (→ reported; judged by PR-AUC, lift and profit) are checked on every run.

# %%
sections.hazards_section(inputs)

# %% [markdown]
# ## Known truth (demo world only): two checks, and what each can detect
# The simulator's churn hazard is known (`truth.json`), as monthly log hazard ratios (cloglog link). A window
# logistic model estimates window odds ratios, a different quantity, so we check it twice:
#
# 1. **Against the true window odds ratios.** The same model, on the same snapshot design, fitted to a large
#    independent simulated world with the same settings and effects (`truth_customers` customers), gives the value
#    our estimate converges to. This check detects sampling error and mistakes in building the snapshot. It
#    **cannot** detect a bias of the window model itself (its link, tenure term, handling of unanswered surveys,
#    the customer mood it leaves out): the truth is the same model, so it carries the same bias. The truth world
#    has its own Monte-Carlo error (`true_se`), so we also ask whether estimate and truth differ by less than 1.96
#    combined standard errors.
# 2. **Against the generating hazard.** A person-month cloglog model (Prentice & Gloeckler 1978), the simulator's
#    own form, is fitted to this world and its hazard ratios compared with the generating ones. This check
#    **can** reveal a bias of the features or of the hazard model; it says nothing about the window odds ratios.
#
# A true effect of exactly zero has no direction to get right: its row reads "n/a — true effect is zero" (only
# whether the CI covers 1 is judged). Neither check can reveal what the simulator leaves out, such as
# confounding by traits the data does not record.

# %%
truth_check = sections.truth_section(inputs, results, data_source, truth_customers)

# %% [markdown]
# ## Predictive model: gradient boosting against the logistic model
# **Method.** Gradient-boosted trees (scikit-learn HistGradientBoosting, shallow trees, no imputation needed)
# and the logistic model are trained on the earlier snapshot and scored on the `as_of` customers (out of time);
# without an earlier snapshot, each customer is scored by models fitted on the other folds (cross-validated,
# `cv_folds` folds): that judges prediction for new customers of the same period, not drift over time. ROC-AUC and
# PR-AUC come with paired percentile-bootstrap 95% CIs (`n_boot` resamples); calibration is summarised by the
# calibration slope (1 = ideal, below 1 = overconfident) and the expected calibration error.

# %%
judged = sections.prediction_section(inputs, results, cv_folds, n_boot)

# %%
cv = sections.cross_validation_section(inputs, results, cv_folds)

# %% [markdown]
# ## Lift and gains
# Customers ranked by predicted risk, in ten equal groups: how many of the churners each decile holds, and the
# lift over targeting at random.

# %%
sections.gains_section(judged)

# %% [markdown]
# ## What a retention campaign is worth: expected maximum profit (EMPC)
# **Method.** Verbraken, Verbeke & Baesens (2013): target the riskiest customers; a targeted would-be churner
# accepts the offer with probability γ and is then worth `clv` minus the incentive; every targeted customer
# costs the contact, and stayers who are targeted take the incentive too. γ is uncertain,
# Beta(`accept_alpha`, `accept_beta`); EMPC is the expected profit per customer when the share targeted is
# chosen best for each γ, and comes with that profit-maximising share.

# %%
profits = sections.campaign_section(
    judged, CampaignParameters(clv, incentive_cost, contact_cost, accept_alpha, accept_beta))

# %% [markdown]
# ## Which features the models lean on: importance with confidence intervals
# **Method.** Permutation importance (Breiman 2001): the drop in holdout ROC-AUC when one column is shuffled (on
# data without an out-of-time holdout, the drop in ROC-AUC on the customers the model was fitted on: in-sample).
# Relative weights (Johnson 2000; logistic extension by Tonidandel & LeBreton 2010) split the logistic model's
# explained variance between correlated drivers; a score's weight includes its "missing" flag. Bootstrap 95% CIs.

# %%
# without a holdout, importance is measured on the customers the model was fitted on (in-sample), and says so
explain = sections.explained_customers(inputs, judged)
importance, weights = sections.importance_section(inputs, judged, explain, results, permutation_repeats,
                                                  weight_boot)

# %% [markdown]
# ## Partial dependence: effort and contacts
# Average predicted churn when every customer's effort score, or contact count, is set to a value — the
# shape of the relation the boosting model learned, other features as they are (Friedman 2001).
#
# **Uncertainty.** The shaded band is a 95% bootstrap band: the model is refitted `pd_boot` times on resamples
# of its training customers (at most `max_refit_customers`), and the band is the curve ± 1.96 times the spread
# of the refits' curves (Efron & Tibshirani 1993). It shows how far the learned shape moves with the data; it
# does not show the model's own smoothing, so where few customers have a value (the right-hand tail of the
# contact counts) the curve flattens and the band can miss a steeper true relation. Where bands of two values
# overlap widely, the data do not tell them apart.

# %%
pd_bands = sections.partial_dependence_section(inputs, judged, explain, results, pd_boot)

# %% tags=["remove-cell"]
screen = inputs.screen
record_churn_drivers(results, inputs.model, weights=weights, cv=cv, truth_check=truth_check,
                     truth_customers=truth_customers, evaluation=judged.evaluation, importance=importance,
                     profits=profits, clv=clv, pd_bands=pd_bands)
results.extra["leaking_columns"] = screen.to_records()
if screen.leaking:
    results.findings.insert(0, screen.finding())
ctx.finish()
