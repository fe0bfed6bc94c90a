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
# # 07 · How good are the lifetime models?
#
# **Question.** Notebook 03 fits Kaplan-Meier, Cox, parametric (AFT) and person-month models, and notebook 05
# extrapolates lifetime value with one of them. How well does each *predict* how long a customer stays, and is
# any better than knowing only the average churn curve?
#
# **Method.** The models learn from the history before a cut month and are judged on what happened after it
# (out of time); flat data (one row per customer, no dates to cut at) is split into random halves instead (out of
# sample). Customers enter the evaluation at their tenure then (left truncation), and those still active are
# censored, so every metric uses risk sets from entry and inverse-probability-of-censoring weights: a naive
# C-index or Brier score is biased under censoring. 95% intervals from a customer-level bootstrap, every model
# scored on the same resamples.
#
# **How to read the metrics.**
# - *Harrell's and Uno's concordance*: the chance that, of two customers, the model gives the higher risk to the
#   one who leaves first (0.5 = chance, 1 = perfect ranking); Uno's weights correct for censoring up to a
#   truncation time. Use it to decide **which customers to contact first**.
# - *Time-dependent AUC at a horizon*: the same question for "left by month t" vs "still here at t".
# - *Brier score* at a horizon (squared error of the predicted chance of still being a customer; lower is better)
#   and its integral over the horizons (IBS), with the Kaplan-Meier curve (the same prediction for everyone) as
#   the reference: the *skill* is the share of its error a model removes. Use it to decide **whose survival
#   probabilities to put in a lifetime-value model**.
# - *Calibration*: predicted vs observed (Kaplan-Meier) survival by risk decile, for the model with the lowest
#   IBS; points on the diagonal inside their intervals mean the probabilities can be taken at face value.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
seed = 0
as_of = ""  # the cut: first month of the evaluation period ("" = the last leaving the last horizon of follow-up)
horizons = [3, 6, 12]  # months of tenure at which AUC, Brier score and calibration (the last) are judged
n_boot = 100
max_model_customers = 6000  # the comparison rests on a random sample this large (0 = everyone)

# %% tags=["remove-cell"]
from IPython.display import display

from cxresearch.plots.lifetime_evaluation import plot_calibration, plot_model_comparison
from cxresearch.report import nbtools
from cxresearch.report.record.lifetime_models import record_lifetime_models
from cxresearch.survival.model_comparison import try_compare_lifetime_models

# %% tags=["remove-cell"]
ctx = nbtools.start("07_lifetime_models", data_source, results_dir, {
    "seed": seed, "as_of": as_of, "horizons": horizons, "n_boot": n_boot, "max_model_customers": max_model_customers},
    shared_tables=shared_tables)
data, results = ctx.data, ctx.results

# %% [markdown]
# ## The models side by side, and which to trust for what
# Each model's metrics with 95% intervals; the Kaplan-Meier column is the reference that knows only the average
# churn curve. The sentence under the table says which model to use for ranking customers and which for
# survival probabilities.

# %%
comparison, failure = try_compare_lifetime_models(
    data, as_of or None, horizons, n_boot, max_model_customers or None, seed)
if comparison is not None:
    nbtools.show(plot_model_comparison(comparison))
    display(comparison)
else:
    nbtools.say("No comparison of lifetime models: {}.", failure.reason)

# %% [markdown]
# ## Calibration of the model with the lowest prediction error

# %%
if comparison is not None:
    nbtools.show(plot_calibration(comparison.calibration))
    nbtools.table(comparison.calibration.summary(), 3)

# %% tags=["remove-cell"]
record_lifetime_models(results, comparison, failure=failure)
ctx.finish()
