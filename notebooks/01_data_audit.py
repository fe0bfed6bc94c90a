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
# # 01 · Data audit
#
# **Question.** What does the data hold, and is it fit for the analyses that follow? Tables, date ranges,
# the customer base and churn month by month, how often customers contact us (reactive) and we contact them
# (proactive), and how many customers ever answer a survey. First, what is legal but implausible: values that
# pass validation yet usually mean a mapping mistake, and would quietly distort every figure that follows.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""
seed = 0

# %% tags=["remove-cell"]
from cxresearch.data.audit import audit
from cxresearch.plots.audit import plot_monthly_activity, plot_score_distribution
from cxresearch.report import nbtools
from cxresearch.report.record.audit import record_audit

ctx = nbtools.start("01_data_audit", data_source, results_dir, {"as_of": as_of, "seed": seed},
                    shared_tables=shared_tables)
data, results = ctx.data, ctx.results
result = audit(data)

# %% [markdown]
# ## Tables

# %%
nbtools.table(result.overview)
text, values = result.size_sentence()
nbtools.say(text, *values)

# %% [markdown]
# ## Is the data plausible?
# Validation refuses what breaks the data model; these checks only warn. Most margins zero or negative, churn
# above 90% or below 0.5% of customers, a survey score that never varies, sign-up dates decades before anything
# else was recorded, margins that grow with tenure like totals to date, a segment held by one customer: each is
# legal, and each is more often a mapping mistake than a fact about the business.

# %%
for text, values in result.plausibility_sentences():
    nbtools.say(text, *values)

# %% [markdown]
# ## The customer base and churn, month by month
# Churn rate = customers whose relationship ended in the month / customers active at its start.

# %%
if result.has_timestamps:
    nbtools.show(plot_monthly_activity(result))
for text, values in result.churn_sentences():
    nbtools.say(text, *values)

# %% [markdown]
# ## Contacts: reactive (customer-initiated) and proactive (company-initiated)

# %%
nbtools.table(result.contact_mix)

# %% [markdown]
# ## Surveys: who answers, and what they say
# Most customers never answer a survey, so every score-based analysis rests on a self-selected minority;
# the loyalty notebook measures how responders differ.

# %%
nbtools.table(result.survey_coverage, 1)
nbtools.show(plot_score_distribution(result))

# %% tags=["remove-cell"]
record_audit(results, result)
ctx.finish()
