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
# # 04 · Satisfaction, loyalty and effort: testing what CX writing claims
#
# **Question.** How satisfied and loyal are customers (NPS, CSAT), how much effort does service cost them
# (CES), and do the claims CX practitioners repeat — satisfied customers stay, effort kills loyalty, proactive
# service helps, inconsistency hurts, promoters recommend — hold in this company's data?
#
# **Method.** Each metric over the responses of the `lookback_months` before `as_of`, with a 95% confidence
# interval that stays open at 0% and 100%: NPS (% promoters 9-10 minus % detractors 0-6) with the adjusted-Wald
# interval of Rocks (2016, 3/4 promoter and 3/4 detractor added, the best of the intervals he compared on real NPS
# data), CSAT as % satisfied (4-5) and CES as % high effort (5-7) with Wilson intervals, and the mean scores with
# one pseudo-answer added at each end of the scale (Agresti & Caffo 2000). All promoters therefore reads
# "100 (95% CI 17.5 to 100)" on five answers, not "100 (100 to 100)". Trends by month, differences by
# segment and channel. NPS, CSAT and CES non-response is measured and corrected by inverse-probability
# weighting. Each claim
# is then tested with a pre-declared rule on its CI (supported / not supported / inconclusive), Holm-adjusted for
# the number of claims tested together, on pooled
# snapshots: features from the months before each `as_of`, churn in the `horizon_months` after it. When the data
# covers fewer months than `lookback_months` or the horizon, they are shortened to fit and the report says so. A
# score that on its own nearly equals the churn outcome (recorded after the decision to leave: leakage) is found
# by the same screen as notebook 02, and no claim about churn rests on it.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""
seed = 0
lookback_months = 12
horizon_months = 3
segment = "contract"
min_responses = 30  # smallest group (month, segment, channel) whose metric is shown
claim_snapshots = 8  # pooled monthly snapshots (person-months) back from as_of for the claim tests
n_boot = 200  # bootstrap draws for the AUC comparison
equivalence_margin = 1.05  # ratios within 1/margin..margin count as "no effect"
trap_threshold_pct = 25.0  # share of churners who were satisfied that counts as "sizeable"
nps_min_tenure_months = 6  # customers younger than this are not yet asked for NPS
max_claim_customers = 200_000  # customers (with all their events) the claim tests run on (0 = all)
max_survival_customers = 50_000  # of those, customers with an NPS/CSAT answer in the Cox test of claim 1 (0 = all)
proactive_campaign = ""  # treatments campaign of proactive outreach for claim 4a's randomised row; "" = by name

# %% tags=["remove-cell"]
from cxresearch.report import loyalty_sections as sections
from cxresearch.report import nbtools
from cxresearch.report.record.loyalty import record_loyalty

ctx = nbtools.start(
    "04_loyalty_metrics", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "lookback_months": lookback_months, "horizon_months": horizon_months,
     "segment": segment, "claim_snapshots": claim_snapshots, "n_boot": n_boot,
     "equivalence_margin": equivalence_margin, "trap_threshold_pct": trap_threshold_pct,
     "max_claim_customers": max_claim_customers, "max_survival_customers": max_survival_customers,
     "proactive_campaign": proactive_campaign},
    shared_tables=shared_tables,
)
results = ctx.results
inputs = sections.prepare(ctx.data, results, as_of, horizon_months, lookback_months, ctx.cache)

# %% [markdown]
# ## What this data allows
# Windows shortened to fit a short history, and any score that on its own nearly equals the churn outcome.

# %%
sections.windows_section(inputs, results, horizon_months)

# %% [markdown]
# ## The headline metrics

# %%
metrics = sections.headline_section(inputs, results)

# %% [markdown]
# ## Trends
# Each instrument's headline figure per calendar month, with its 95% confidence interval (months with fewer
# than `min_responses` answers are left out). A band that widens means fewer answers that month, not more
# change.

# %%
trends = sections.trends_section(inputs, metrics, results, min_responses)

# %% [markdown]
# ## By segment and by channel
# NPS by customer segment; CSAT and CES by the channel of the service contact the survey followed (linked by
# `contact_id`).

# %%
sections.segment_section(inputs, metrics, results, segment, min_responses)
linked = sections.channel_section(inputs, results, min_responses)

# %% [markdown]
# ## Do scores go with churn?
# Churn within the next months among customers active at `as_of`, by their latest score (customers who never
# answered are not in these charts).

# %%
by_score = sections.churn_by_score_section(inputs, results)

# %% [markdown]
# ## Who answers the surveys?
# Transactional surveys (CES, CSAT) follow service contacts: their response rate is the share of reactive
# contacts with a linked answer. Relationship NPS is answered by whoever chooses to: if unhappy customers answer
# less, the NPS of responders is too rosy. We compare churn of responders and non-responders (customers active at
# `as_of` who had been customers for at least `nps_min_tenure_months`), then re-weight responders by the inverse
# of their modelled chance of answering (tenure, contract, plan, recent contacts and later churn) to estimate
# the NPS of all customers (Horvitz-Thompson / Hajek). Weighting removes only the bias that these observed
# traits explain; mood that leaves no trace in the data stays.

# %%
nps_nonresponse = sections.nps_nonresponse_section(inputs, metrics, results, linked, nps_min_tenure_months)

# %% [markdown]
# **CSAT and CES.** The same correction for the transactional surveys. Only customers with a reactive service
# contact in the lookback were asked, so they are the population; the number of those contacts joins the
# response model (more contacts, more invitations). Each customer counts once, with their latest answer, so
# the raw figures here differ slightly from the headline metrics above, which count every answer.

# %%
weighted_scores = sections.score_nonresponse_section(inputs, metrics, results)

# %% [markdown]
# ## The claims, tested
# One row per claim (or part of one), the claim as CX writing puts it and, in brackets, what was tested.
# **Rule (declared before looking at the data).** A claim is *supported* when its CI excludes "no effect" in
# the claimed direction, *not supported* when it excludes it the other way or lies within the equivalence margin
# (ratios between 1/`equivalence_margin` and `equivalence_margin`, AUC differences within ±0.01), *inconclusive*
# otherwise.
#
# **Multiplicity: Holm.** Up to 14 rows are judged at once; at 5% each, a world where no claim holds would show
# at least one false verdict about half the time (1 − 0.95¹⁴ = 51%). So the verdicts are adjusted together with
# **Holm's step-down procedure** (Holm 1979), which keeps the chance of *any* wrong "supported" or "not supported"
# among them at 5%: each row's p-value (against no effect, or against the margin for the no-harm claim 4c) is
# Holm-adjusted (`p_adjusted`) and the verdict is read from the row's CI at its Holm level (`level`, between
# 1 − 0.05/14 ≈ 99.6% and 95%; `adj_ci_low`, `adj_ci_high`). The unadjusted 95% CI stays beside it. We chose
# Holm over Benjamini-Hochberg because each verdict is read and acted on by itself on the executive page, so the
# risk that matters is that any one of them is wrong, not the average share of wrong ones; the family is small,
# so little power is lost; and rows 1a/1a_cox and 1b/1b_cox reuse the same answers, a dependence Holm needs no
# assumption about.
#
# **Words.** "Supported" means the association is there in the claimed direction. The data are observational, so
# it does not show that the CX factor *causes* churn; only a randomised experiment could.
#
# **The proactive claim, randomised (row `4a_rct`).** When the data's `treatments` table holds a randomised
# campaign of proactive outreach (one with "proactive" in its name, or the one named by `proactive_campaign`),
# claim 4a is also tested causally, beside its observational row: the risk ratio of churn within 12 months of
# assignment, the campaign's treated customers against its holdout, judged by the same rule and adjusted with the
# others. Notebook 09 analyses the same campaign in full. Without such a campaign the row is left out and the
# report says why.
#
# **Design.** Churn claims use a pooled logistic regression of churn
# in the next month over `claim_snapshots` monthly snapshots (a discrete-time hazard model, so odds ratios are
# close to hazard ratios), adjusted for tenure, contract and plan; "effort predicts better" compares the ROC-AUC of
# CES with that of CSAT and NPS on the same customers, with a bootstrap CI for the difference. Claim 1 has a
# second line of evidence from survival analysis (rows `1a_cox`, `1b_cox`): a Cox model of the churn hazard with
# the latest score as a time-varying covariate over the customers' whole observed lifetimes (tenure as the time
# scale, adjusted for contract; Andersen & Gill 1982), judged by the same rule on the hazard ratio per point. On
# large customer bases the claim tests run on a simple random sample of at most `max_claim_customers` customers
# with all their events, and the Cox test on at most `max_survival_customers` of them who answered (listed under
# "approximations" in the results; the headline metrics, trends and non-response analysis above always use every
# customer).

# %%
evidence = sections.claims_section(
    inputs, results, as_of, max_claim_customers or None, seed, max_snapshots=claim_snapshots, n_boot=n_boot,
    margin=equivalence_margin, trap_threshold_pct=trap_threshold_pct,
    max_survival_customers=max_survival_customers or None, proactive_campaign=proactive_campaign,
)

# %% [markdown]
# **Reading the table.** Odds ratios are per unit (one point of a score, one contact in the last 90 days) for
# churn in the next month; below 1 means less churn. Hazard ratios (the Cox rows) are per point of the latest
# score, for the churn rate at any time; below 1 means less churn. The satisfaction-trap row is the share of
# churners whose latest score before leaving was satisfied. `p_value` is each row's own, `p_adjusted` its Holm-
# adjusted one, and `adj_ci_low`/`adj_ci_high` the CI at the row's Holm `level` that the verdict was read from.
# Associations are not proof of cause: on real data, customers who contact service differ in ways the model may
# not see.

# %% tags=["remove-cell"]
record_loyalty(results, metrics, evidence=evidence, lookback_months=inputs.lookback_months, trends=trends,
               by_nps=by_score.by_nps, by_ces=by_score.by_ces, gap=by_score.gap, weighted=nps_nonresponse.weighted,
               churn_gap=nps_nonresponse.churn_gap, weighted_scores=weighted_scores)
ctx.finish()
