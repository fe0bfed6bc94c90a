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
# # 02 · What drives churn
#
# **Question.** Which parts of the customer experience — satisfaction (CSAT, NPS), effort (CES), reactive
# service contacts and whether they were resolved, proactive outreach, cross-channel inconsistency — go with a
# higher chance of leaving in the next months, once tenure, contract and plan are held fixed?
#
# **Method.** A snapshot at `as_of`: features from the months before it, churn observed in the
# `horizon_months` after it, customers already gone at `as_of` excluded. A logistic regression gives odds
# ratios with 95% confidence intervals. Customers who never answered a survey stay in the model: their score
# is set to the average and flagged by a "missing" indicator.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
horizon_months = 3
window_months = 3

# %% tags=["remove-cell"]
from cxresearch import nbtools
from cxresearch.churn import fit_churn_logit
from cxresearch.features import snapshot
from cxresearch.plots.churn import plot_odds_ratios
from cxresearch.recovery import recovery_table, true_hazard_ratios

ctx = nbtools.start(
    "02_churn_drivers", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "horizon_months": horizon_months, "window_months": window_months},
)
data, results = ctx.data, ctx.results
snap = snapshot(data, as_of=as_of, window_months=window_months, horizon_months=horizon_months)
active = snap[snap["active"]]
model = fit_churn_logit(active)

# %% [markdown]
# ## Who is in the analysis

# %%
nbtools.say(
    "Snapshot at **{}**: **{}** active customers, of whom **{}** ({}) left within the next {} months.",
    snap.attrs["as_of"][:10], f"{model.n:,}", f"{model.n_events:,}", f"{100 * model.event_rate:.1f}%", horizon_months,
)

# %% [markdown]
# ## Odds ratios
# An odds ratio above 1 means more churn per unit of the driver (per point of a score, per contact),
# holding the other drivers fixed; the bar is the 95% confidence interval.

# %%
nbtools.show(plot_odds_ratios(model))
nbtools.table(model.summary(), 3)
for note in model.notes:
    nbtools.say("*Note:* {}", note)

# %% [markdown]
# ## Known truth (demo world only)
# The simulator's churn hazard is known (`truth.json`). Its coefficients are monthly log hazard ratios; a
# logistic model of churn within a few months estimates window odds ratios, which are close to the hazard
# ratios when churn in the window is rare — so expect agreement in sign and rough size, not equality.

# %%
truth = nbtools.read_truth(data_source)
recovery = None
if truth is not None:
    odds = model.summary().rename(columns={"odds_ratio": "estimate", "or_ci_low": "ci_low", "or_ci_high": "ci_high"})
    recovery = recovery_table(odds, true_hazard_ratios(truth), "odds_ratio")
if recovery is not None:
    nbtools.table(recovery, 3)
else:
    nbtools.say("No `truth.json` in this data source: the known-truth check only applies to the demo world.")

# %% tags=["remove-cell"]
estimates = model.to_estimates("churn")
results.add("churn_rate_window", estimates.pop("churn_event_rate"))
results.estimates.update(estimates)
results.add_table("odds_ratios", model.summary())
if recovery is not None:
    results.add_table("recovery", recovery)
else:
    results.skip("known-truth check", "the data source has no truth.json (only the demo world does)")
results.warnings.extend(model.notes)
results.findings.extend(model.findings())
ctx.finish()
