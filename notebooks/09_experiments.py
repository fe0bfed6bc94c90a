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
# # 09 · Experiments: what a campaign causes, and whom to target
#
# **Question.** When a campaign kept a randomised holdout, what did it cause: how much did it change churn (or
# visits, purchases, spend), overall and by segment? And whom should the next one target: the customers most at
# risk, or those the contact actually changes (Ascarza 2018, "Retention futility")?
#
# **Method.** Each campaign in the data's `treatments` table is one randomised experiment; every arm is compared
# with the arm named `control`. First the randomisation is checked: arm counts against the intended allocation
# (a chi-square sample-ratio test) and standardised mean differences of traits measured before assignment.
# Average effects are differences in means with 95% intervals (Newcombe for 0/1 outcomes, Welch for amounts);
# on churn data the outcome is churn within `horizon_months` of assignment, plus the lifetime gained within the
# horizon (restricted mean survival time). Per-customer uplift is estimated by a T-learner and a DR-learner
# (gradient-boosted trees, cross-fitted) on one half of the customers and judged on the other half: by Qini
# curves, and by the incremental profit of targeting policies (by uplift x value - cost, by baseline risk,
# everyone, no one) with bootstrap intervals.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""
seed = 0
cost_per_contact = 0.10  # currency per treated customer where the treatments table has no cost (an e-mail)
segment = ""  # column to break effects down by; empty = the first label trait recorded at assignment
horizon_months = 12.0  # churn campaigns: churn counts within this many months of assignment
uplift_outcome = ""  # outcome_* campaigns: the outcome the uplift models predict; empty = the first 0/1 one
value_outcome = ""  # outcome_* campaigns: the outcome in money the policies are valued by; empty = the first other
allocation = ""  # intended arm shares as arm:weight, e.g. treatment:9, control:1; empty = equal arms
n_boot = 200
folds = 5
holdout = 0.5

# %% tags=["remove-cell"]
from IPython.display import display

from cxresearch.experiments.analysis import analyse_experiments, parse_allocation
from cxresearch.plots.experiments import plot_policy_comparison, plot_qini
from cxresearch.report import nbtools
from cxresearch.report.record.experiments import record_experiments

# %% tags=["remove-cell"]
ctx = nbtools.start(
    "09_experiments", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "cost_per_contact": cost_per_contact, "segment": segment,
     "horizon_months": horizon_months, "uplift_outcome": uplift_outcome, "value_outcome": value_outcome,
     "allocation": allocation, "n_boot": n_boot, "folds": folds, "holdout": holdout},
    shared_tables=shared_tables,
)

# %% tags=["remove-cell"]
experiments = analyse_experiments(
    ctx.data, cost_per_contact=cost_per_contact, segment=segment, horizon_months=horizon_months,
    uplift_outcome=uplift_outcome, value_outcome=value_outcome, allocation=parse_allocation(allocation),
    n_boot=n_boot, seed=seed, folds=folds, holdout=holdout,
)
record_experiments(ctx.results, experiments, currency=ctx.data.currency)

# %%
for skip in experiments.skipped:
    nbtools.say("*Not analysed:* {}: {}.", skip.analysis, skip.reason)
for finding in ctx.results.findings:
    nbtools.say("{}", finding)

# %% [markdown]
# ## Was the randomisation sound?
# A sample-ratio mismatch (arm counts unlikely under the intended allocation, p < 0.001) means customers were
# lost or moved between arms after assignment: the comparison is then not randomised any more. A standardised
# difference above 0.1 flags a trait that differs between an arm and control by more than chance usually gives.

# %%
for campaign in experiments.campaigns:
    nbtools.say("**{}**", campaign.campaign)
    display(campaign.srm)
    display(campaign.balance)

# %% [markdown]
# ## Average effects, overall and by segment
# Differences are arm minus control, in the outcome's units (a share for 0/1 outcomes: 0.01 is one percentage
# point), with the relative lift; an interval that excludes 0 is an effect the holdout rules out as chance.

# %%
for campaign in experiments.campaigns:
    display(campaign)
    if campaign.segment:
        nbtools.say("By {}:", campaign.segment)
        nbtools.table(campaign.effects_table().query("segment != 'all'").reset_index(drop=True), digits=4)
    if campaign.rmst is not None:
        display(campaign.rmst)

# %% [markdown]
# ## Whom does the campaign change? Uplift and Qini curves
# The models are fitted on one half of each arm and its control and ranked on the other half. The Qini curve
# counts the extra outcomes gained by treating the top-ranked share of customers; the dashed line is random
# targeting. A curve above the line for a small share means the model finds the persuadable customers; the
# coefficient is the area between the two (0 = no better than random).

# %%
for campaign in experiments.campaigns:
    for targeting in campaign.targeting:
        nbtools.say("**{}**: {} vs control, uplift in {}: fitted on {} customers, judged on {} held out.",
                    campaign.campaign, targeting.arm, targeting.outcome, f"{targeting.n_train:,}",
                    f"{targeting.n_test:,}")
        nbtools.table(targeting.summary(), digits=3)
        nbtools.show(plot_qini(targeting.qini))

# %% [markdown]
# ## Which targeting policy pays?
# Each policy's incremental profit per customer against contacting no one, on the held-out half: the value
# (e.g. spend, or margin kept) of the customers it would treat, estimated from those the random assignment
# happened to treat the same way, minus the cost per contact: the treatments table's `cost` when it records one,
# else the assumed `cost_per_contact` (each table's heading and chart title say which). The risk policy targets
# as many customers as the DR-learner's uplift policy, so the two compare at one budget.

# %%
for campaign in experiments.campaigns:
    for targeting in campaign.targeting:
        nbtools.say("**{}**: {} vs control", campaign.campaign, targeting.arm)
        display(targeting.policies)
        nbtools.show(plot_policy_comparison(targeting.policies))

# %% tags=["remove-cell"]
ctx.finish()
