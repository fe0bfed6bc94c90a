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
# # Customer experience, churn and value: executive summary

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
segment = "contract"
currency = ""  # empty: the currency the data states (or "currency units")
min_cell_size = 10
previous_results_dir = ""

# %% tags=["remove-cell"]
from cxresearch.plots import set_theme
from cxresearch.report import executive
from cxresearch.report.nbtools import show_parts
from cxresearch.report.suite_results import load_suite_results

set_theme()
suite = load_suite_results(results_dir)

# %% tags=["remove-input"]
show_parts(executive.provenance_section(suite))

# %% [markdown]
# ## Key figures
# A measured figure comes with its 95% confidence interval: the range the true value plausibly lies in, given how
# many customers the estimate rests on. A figure that rests on an assumed input (such as the share of at-risk
# customers a retention contact saves) shows its range over the plausible values of that input instead, which is
# not a confidence interval. A figure the data can only bound reads "more than ..."; a figure it cannot give at all
# is left out, and what is missing is listed further down.

# %% tags=["remove-input"]
show_parts(executive.key_figures_section(suite, currency))

# %% [markdown]
# ## What we found

# %% tags=["remove-input"]
show_parts(executive.findings_section(suite))

# %% [markdown]
# ## What to do
# The actions the evidence in this run supports most, each with the figure behind it; built only from figures
# the analyses already computed.

# %% tags=["remove-input"]
show_parts(executive.actions_section(suite))

# %% [markdown]
# ## What bad service costs, and what to fix first
# Each CX lever's cost in churn and margin over the last year, from a model of monthly churn: the churn that
# would not have happened had the service failure not occurred, valued at the margin those customers would have
# paid. The bars rank realistic improvements by the margin they would keep a year.

# %% tags=["remove-input"]
show_parts(executive.service_cost_section(suite, currency))

# %% [markdown]
# ## Why customers leave

# %% tags=["remove-input"]
show_parts(executive.reasons_section(suite))

# %% [markdown]
# ## What randomised experiments measured
# A campaign with a randomised holdout measures cause and effect, not just association: the difference between
# the contacted customers and the holdout is what the campaign did.

# %% tags=["remove-input"]
show_parts(executive.experiments_section(suite, currency))

# %% [markdown]
# ## Is retention cheaper than acquisition?

# %% tags=["remove-input"]
show_parts(executive.retention_section(suite))

# %% [markdown]
# ## What CX writing claims, tested on our customers
# Each claim gets a verdict by a rule fixed before looking: *supported* when the confidence interval excludes
# "no effect" in the claimed direction, *not supported* when it points the other way or the effect is negligible,
# *inconclusive* otherwise, *cannot test* when the data lacks what the claim needs. Many claims are tested at once,
# so each verdict is read at a multiplicity-adjusted level (Holm): the table shows the 95% interval and the
# adjusted p-value, and the line above it states the rule.

# %% tags=["remove-input"]
show_parts(executive.claims_section(suite))

# %% [markdown]
# ## What goes with churn
# One odds ratio per CX driver, from one model, with what that model measures underneath.

# %% tags=["remove-input"]
show_parts(executive.drivers_section(suite))

# %% [markdown]
# ## The pictures behind it

# %% tags=["remove-input"]
show_parts(executive.pictures_section(suite, segment, currency, min_cell_size))

# %% [markdown]
# ## What this report cannot say, and what rests on a sample

# %% tags=["remove-input"]
show_parts(executive.gaps_section(suite))

# %% [markdown]
# ## What changed since the last run
# Each key figure against the previous successful run on the same data. A change counts as real only when it
# is larger than the two estimates' combined uncertainty; otherwise it is within the noise of sampling. A figure
# that rests on assumed inputs counts as changed only when its ranges over those assumptions no longer overlap.

# %% tags=["remove-input"]
show_parts(executive.changes_section(suite, previous_results_dir, currency))

# %% [markdown]
# ## How to read this
# - **Churn** means a customer ended the relationship. A churn rate is the share of the customers active on the
#   stated date who left within the stated number of months after it (on data with one row per customer: within
#   the period the data's churn flag covers, up to the stated date).
# - **NPS** (Net Promoter Score, -100 to 100) is the share of customers rating 9-10 ("would recommend")
#   minus the share rating 0-6. **CSAT** is the share satisfied (4-5 out of 5). **CES** (customer effort,
#   1-7) measures how hard it was to get help; 5-7 counts as high effort.
# - An **odds ratio** above 1 means the factor goes with more churn; below 1, with less. The bars show the 95%
#   confidence interval; a bar crossing 1 means the data cannot tell.
# - **Lifetime value** is the margin a new customer is expected to bring over the stated horizon, discounted.
# - Segments with fewer customers than the minimum cell size are not shown, so no small group can be singled out.
# - **"Goes with"** means an association in observational data: customers with more of something churn more (or
#   less), which may or may not be because of it. **"Causes"** is used only where a randomised experiment (a
#   campaign with a randomly held-out control group) measured the effect. The research notebooks give the details.
