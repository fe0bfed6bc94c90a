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
# out-of-time holdout fits and scores a simple random sample of at most `max_model_customers` customers, and
# what refits or re-scores many times (cross-validation, relative-weight bootstrap, permutation importance,
# partial dependence) at most `max_refit_customers`; their CIs come from the sample, and the results file lists
# every such sample under "approximations" (nothing is sampled on the 20,000-customer demo world).

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
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
max_model_customers = 200_000  # customers the out-of-time holdout fits and scores on (0 = all)
max_refit_customers = 50_000  # customers for what refits or re-scores many times: CV, importance, PD (0 = all)
pd_boot = 20  # bootstrap refits of the boosting model for the partial-dependence bands (0 = no bands)

# %% tags=["remove-cell"]
import pandas as pd

from cxresearch.churn.drivers import (
    partial_dependence, partial_dependence_bands, permutation_importance, relative_weights,
)
from cxresearch.churn.evaluation import (
    LOGIT, CampaignParameters, ModelComparison, Windows, class_balance, cross_validate, empc, fit_windows, judge_models,
    model_columns,
)
from cxresearch.churn.logit import fit_churn_logit, screen_leakage
from cxresearch.features.snapshot import snapshot
from cxresearch.plots.churn import (
    plot_calibration, plot_driver_importance, plot_gains, plot_odds_ratios, plot_partial_dependence,
    plot_profit_curve, plot_roc_pr,
)
from cxresearch.report import nbtools
from cxresearch.report.record.churn import record_churn_drivers
from cxresearch.stats.sampling import sample_customers
from cxresearch.truth.churn import known_truth_check, simulated_terms

ctx = nbtools.start(
    "02_churn_drivers", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "horizon_months": horizon_months, "window_months": window_months,
     "n_boot": n_boot, "weight_boot": weight_boot, "cv_folds": cv_folds, "truth_customers": truth_customers,
     "clv": clv, "incentive_cost": incentive_cost, "contact_cost": contact_cost,
     "accept_alpha": accept_alpha, "accept_beta": accept_beta, "max_model_customers": max_model_customers,
     "max_refit_customers": max_refit_customers, "pd_boot": pd_boot},
)
data, results = ctx.data, ctx.results
try:
    windows = fit_windows(data, window_months, horizon_months)
    window_months, horizon_months = windows.window_months, windows.horizon_months
    snap = snapshot(data, as_of=as_of, window_months=window_months, horizon_months=horizon_months)
except ValueError as error:  # too short a history for any snapshot: every model below is skipped
    windows, snap = Windows(window_months, horizon_months, None, str(error)), None
results.extra["windows"] = {"window_months": window_months, "horizon_months": horizon_months, "note": windows.note}
active = snap[snap["active"]].reset_index(drop=True) if snap is not None else pd.DataFrame(columns=["active", "churned"])
screen = screen_leakage(active)  # found once, left out of every model below
try:
    model = fit_churn_logit(active, exclude=screen.columns)
except ValueError as error:
    model = None
    results.skip("churn drivers", f"no churn model could be fitted: {windows.note or error}",
                 needs="more history" if snap is None else "churners")

# %% [markdown]
# ## Who is in the analysis

# %%
if model is not None:
    balance = class_balance(active["churned"].to_numpy())
    nbtools.say(
        "Snapshot at **{}**: **{}** active customers, of whom **{}** ({}) left {}. "
        "Predicting that nobody leaves would be right {} of the time, so accuracy says nothing here: we use "
        "ROC-AUC, PR-AUC (no-skill value = the churn share), lift and profit.",
        snap.attrs["as_of"][:10], f"{model.n:,}", f"{model.n_events:,}", f"{100 * model.event_rate:.1f}%",
        windows.horizon_words, f"{100 * balance['accuracy_of_no_churn']:.1f}%",
    )
else:
    nbtools.say("No churn model could be fitted on this data (see the skipped analyses in the results).")
if windows.note:
    nbtools.say("*{}*", windows.note)

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
if model is not None:
    nbtools.show(plot_odds_ratios(model))
    nbtools.table(model.summary(), 3)
    nbtools.table(model.driver_tests(), 3)
    for sentence in model.findings():
        nbtools.say("- {}", sentence)
    contact = model.contact_effects()
    if len(contact):
        nbtools.table(contact, 3)
    else:
        nbtools.say("No resolution data (unresolved contacts) in this source: the contact x resolution "
                    "interaction cannot be estimated.")
        results.skip("contact x resolution interaction", "the data has no unresolved-contact counts",
                     needs="contact resolution")

# %% [markdown]
# ## Real-data hazards: what was detected and what was done
# Perfect separation (→ Firth's penalised fit), a feature that almost equals the outcome (leakage → dropped),
# constant columns (→ dropped), mostly missing survey scores (→ missing indicators) and heavy class imbalance
# (→ reported; judged by PR-AUC, lift and profit) are checked on every run.

# %%
if screen.leaking:
    nbtools.say("**Leakage.** {} Relative weights, cross-validation, the holdout, permutation importance and "
                "partial dependence below all leave it out.", screen.finding())
if model is not None:
    for note in model.notes:
        nbtools.say("- {}", note)
    nbtools.table(screen.table.rename(columns={"auc": "single-feature ROC-AUC"}), 3)

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
truth = nbtools.read_truth(data_source)
truth_check = None
if truth and simulated_terms(truth) and model is not None:  # a truth.json without simulated effects has no truth
    truth_check = known_truth_check(data, truth, model, snap.attrs["as_of"], window_months, horizon_months,
                                    truth_customers)
    for caption, table in truth_check.tables():
        nbtools.say("{}", caption)
        nbtools.table(table, 3)
    for sentence in truth_check.sentences():
        nbtools.say("- {}", sentence)
else:
    nbtools.say("No known truth (a `truth.json` with the simulated effects) in this data source: the known-truth "
                "checks only apply to simulated worlds.")

# %% [markdown]
# ## Predictive model: gradient boosting against the logistic model
# **Method.** Gradient-boosted trees (scikit-learn HistGradientBoosting, shallow trees, no imputation needed)
# and the logistic model are trained on the earlier snapshot and scored on the `as_of` customers (out of time);
# without an earlier snapshot, each customer is scored by models fitted on the other folds (cross-validated,
# `cv_folds` folds): that judges prediction for new customers of the same period, not drift over time. ROC-AUC and
# PR-AUC come with paired percentile-bootstrap 95% CIs (`n_boot` resamples); calibration is summarised by the
# calibration slope (1 = ideal, below 1 = overconfident) and the expected calibration error.

# %%
refit = sample_customers(active, max_refit_customers or None, seed)
judged = judge_models(data, snap, refit.frame, as_of, window_months, horizon_months, cv_folds, n_boot, seed,
                      screen.columns, max_model_customers or None) if model is not None else ModelComparison(None, None)
evaluation, boosting, train, test = judged.evaluation, judged.boosting, judged.train, judged.test
for analysis, reason, needs in judged.skipped:
    results.skip(analysis, reason, needs=needs)
    nbtools.say("*{}*: {}.", analysis, reason)
for analysis, sample in judged.samples():
    results.approximate(analysis, sample)
if evaluation is not None:
    results.extra["evaluation_design"] = evaluation.design
    nbtools.say("Evaluation: **{}**.", evaluation.design)
    nbtools.table(evaluation.summary(), 3)
    nbtools.table(evaluation.difference, 3)
    nbtools.show(plot_roc_pr(evaluation))
    nbtools.show(plot_calibration(evaluation))

# %%
cv = weights = importance = profits = None
if model is not None:
    results.approximate("cross-validation and relative weights", refit)
    try:
        cv = cross_validate(refit.frame, cv_folds, seed, screen.columns)
        nbtools.say("{}-fold cross-validation within the `as_of` snapshot (mean and SD over folds):", cv_folds)
        nbtools.table(cv, 3)
    except ValueError as error:
        results.skip("cross-validation", str(error), needs="churners")

# %% [markdown]
# ## Lift and gains
# Customers ranked by predicted risk, in ten equal groups: how many of the churners each decile holds, and the
# lift over targeting at random.

# %%
if evaluation is not None:
    nbtools.show(plot_gains(evaluation))
    nbtools.table(evaluation.gains(LOGIT), 2)

# %% [markdown]
# ## What a retention campaign is worth: expected maximum profit (EMPC)
# **Method.** Verbraken, Verbeke & Baesens (2013): target the riskiest customers; a targeted would-be churner
# accepts the offer with probability γ and is then worth `clv` minus the incentive; every targeted customer
# costs the contact, and stayers who are targeted take the incentive too. γ is uncertain,
# Beta(`accept_alpha`, `accept_beta`); EMPC is the expected profit per customer when the share targeted is
# chosen best for each γ, and comes with that profit-maximising share.

# %%
if evaluation is not None:
    campaign = CampaignParameters(clv, incentive_cost, contact_cost, accept_alpha, accept_beta)
    profits = {name: empc(evaluation.y, prob, campaign) for name, prob in evaluation.predictions.items()}
    nbtools.show(plot_profit_curve(profits))
    for name, result in profits.items():
        nbtools.say("{}: EMPC **{}** per customer; target the riskiest **{}**.", name, f"{result.empc:.2f}",
                    f"{100 * result.fraction:.1f}%")

# %% [markdown]
# ## Which features the models lean on: importance with confidence intervals
# **Method.** Permutation importance (Breiman 2001): the drop in holdout ROC-AUC when one column is shuffled (on
# data without an out-of-time holdout, the drop in ROC-AUC on the customers the model was fitted on: in-sample).
# Relative weights (Johnson 2000; logistic extension by Tonidandel & LeBreton 2010) split the logistic model's
# explained variance between correlated drivers; a score's weight includes its "missing" flag. Bootstrap 95% CIs.

# %%
# without a holdout, importance is measured on the customers the model was fitted on (in-sample), and says so
explain = (sample_customers(test.frame, max_refit_customers or None, seed) if test is not None else refit) \
    if evaluation is not None else None
where = "holdout" if test is not None else "in-sample"
if evaluation is not None:
    results.approximate("permutation importance and partial dependence", explain)
    importance = permutation_importance(boosting, explain.frame, permutation_repeats, seed)
    nbtools.show(plot_driver_importance(importance, "importance", f"Drop in {where} ROC-AUC when shuffled",
                                        f"Permutation importance, gradient boosting, {where} (95% CI)"))
if model is not None:
    try:
        weights = relative_weights(refit.frame, *model_columns(active, exclude=screen.columns), weight_boot, seed)
        nbtools.show(plot_driver_importance(weights.summary(), "weight_pct", "Share of explained variance (%)",
                                            "Relative weights of the drivers (95% bootstrap CI)"))
        nbtools.table(weights.summary(), 2)
    except ValueError as error:
        results.skip("relative weights", str(error), needs="more customers")

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
shown = [c for c in ("ces_mean_90d", "reactive_90d", "unresolved_90d", "ces_last", "reactive_contacts",
                     "unresolved_contacts") if boosting is not None and c in boosting.features]
pd_bands = None
if shown and pd_boot > 1:
    pd_train = sample_customers(train.frame, max_refit_customers or None, seed) if train is not None else refit
    results.approximate("partial-dependence bands (bootstrap refits)", pd_train)
    pd_bands = partial_dependence_bands(boosting, pd_train.frame, explain.frame, shown, pd_boot, seed)
    nbtools.show(plot_partial_dependence(pd_bands))
    nbtools.table(pd_bands.ranges(), 2)
elif shown:
    nbtools.show(plot_partial_dependence([partial_dependence(boosting, explain.frame, c) for c in shown]))
else:
    results.skip("partial dependence", "the data has no effort scores or contact counts per customer (or no "
                 "boosting model)", needs="contact records")

# %% tags=["remove-cell"]
record_churn_drivers(results, model, weights, cv, truth_check, truth_customers, evaluation, importance, profits, clv,
                     pd_bands=pd_bands)
results.extra["leaking_columns"] = screen.to_records()
if screen.leaking:
    results.findings.insert(0, screen.finding())
ctx.finish()
