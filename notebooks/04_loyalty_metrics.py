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

# %% tags=["remove-cell"]
import pandas as pd

from cxresearch.churn.evaluation import fit_lookback, fit_windows
from cxresearch.churn.logit import screen_leakage
from cxresearch.data.sample import sample_data
from cxresearch.features.snapshot import snapshot
from cxresearch.loyalty.claims import evaluate_claims
from cxresearch.loyalty.metrics import (
    ces, churn_by_level, csat, metric_by_channel, monthly_trend, nps, nps_by_segment, nps_gap_churned, survey_window,
    surveys_linked,
)
from cxresearch.loyalty.nonresponse import ipw_nps, ipw_transactional, nps_population, responder_churn, transactional_response
from cxresearch.plots.loyalty import (
    plot_churn_by_level, plot_metric_by, plot_metric_trend, plot_nonresponse_correction, plot_nps_composition,
    plot_score_nonresponse,
)
from cxresearch.report import nbtools
from cxresearch.report.record.loyalty import record_loyalty

NEEDS = {"nps": "NPS scores", "csat": "CSAT scores", "ces": "effort scores (CES)"}  # missing input, for skips
ctx = nbtools.start(
    "04_loyalty_metrics", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "lookback_months": lookback_months, "horizon_months": horizon_months,
     "segment": segment, "claim_snapshots": claim_snapshots, "n_boot": n_boot,
     "equivalence_margin": equivalence_margin, "trap_threshold_pct": trap_threshold_pct,
     "max_claim_customers": max_claim_customers, "max_survival_customers": max_survival_customers},
)
data, results = ctx.data, ctx.results
try:
    windows = fit_windows(data, 3, horizon_months)
    horizon_months = windows.horizon_months
    snap = snapshot(data, as_of=as_of, window_months=windows.window_months, horizon_months=horizon_months)
    cutoff = pd.Timestamp(snap.attrs["as_of"])
except ValueError as error:  # observation too short for a prediction window: churn sections are skipped
    windows, snap, cutoff = None, None, data.observed_until + pd.Timedelta(days=1)
    results.skip("churn by score and non-response", str(error), needs="more history")
lookback_months, lookback_note = fit_lookback(data, cutoff, lookback_months)
answers = survey_window(data.surveys, snap, cutoff, lookback_months, data.has_timestamps)
surveys, recent = answers.surveys, answers.recent
scores = {name: recent.loc[recent["instrument"] == name, "score"] for name in ("nps", "csat", "ces")}
screen = screen_leakage(snap) if snap is not None else None

# %% [markdown]
# ## What this data allows
# Windows shortened to fit a short history, and any score that on its own nearly equals the churn outcome.

# %%
notes = [n for n in (windows.note if windows else "", lookback_note, screen.finding() if screen else None) if n]
for sentence in notes or ["The requested windows fit the data, and no score leaks the churn outcome."]:
    nbtools.say("{}", sentence)
results.extra.update(windows={"horizon_months": horizon_months, "lookback_months": lookback_months,
                              "note": " ".join(n for n in notes if not screen or n != screen.finding())},
                     leaking_columns=screen.to_records() if screen is not None else [])

# %% [markdown]
# ## The headline metrics

# %%
metrics = {name: fn(scores[name]) for name, fn in (("nps", nps), ("csat", csat), ("ces", ces)) if len(scores[name])}
for name, result in metrics.items():
    nbtools.say("**{}** ({} responses, {}):", name.upper(), f"{result.n:,}", answers.period)
    nbtools.table(result.summary(), 1)
for name in ("nps", "csat", "ces"):
    if name not in metrics:
        nbtools.say("No {} responses, {}: not reported.", name.upper(), answers.period)
        results.skip(f"{name.upper()} metric", f"no {name.upper()} responses, {answers.period}", needs=NEEDS[name])

# %% [markdown]
# ## Trends
# Each instrument's headline figure per calendar month, with its 95% confidence interval (months with fewer
# than `min_responses` answers are left out). A band that widens means fewer answers that month, not more
# change.

# %%
trends = {name: monthly_trend(surveys, name, min_responses) for name in ("nps", "csat", "ces")}
titles = {"nps": "NPS by month", "csat": "CSAT: % satisfied (4-5) by month", "ces": "CES: % high effort (5-7) by month"}
for name, trend in trends.items():
    if len(trend) >= 2:
        nbtools.show(plot_metric_trend(trend, titles[name]))
    elif name in metrics and not answers.dated:
        results.skip(f"{name.upper()} trend", "flat data: the scores carry no dates", needs="event dates")
    else:
        nbtools.say("{}: fewer than two months with {} or more responses, so no trend.", name.upper(), min_responses)
        results.skip(f"{name.upper()} trend", f"fewer than two months with at least {min_responses} {name.upper()} "
                     "responses", needs=NEEDS[name] if name not in metrics else "more customers")

# %% [markdown]
# ## By segment and by channel
# NPS by customer segment; CSAT and CES by the channel of the service contact the survey followed (linked by
# `contact_id`).

# %%
if "nps" in metrics and segment in data.customers:
    by_segment = nps_by_segment(recent, data.customers, segment, min_responses)
    nbtools.show(plot_nps_composition(by_segment, title=f"NPS by {segment}"))
else:
    nbtools.say("No NPS responses or no `{}` column: NPS by segment is not shown.", segment)
    results.skip("NPS by segment", f"no NPS responses or no {segment!r} column",
                 needs="NPS scores" if "nps" not in metrics else "segments")
linked = surveys_linked(recent, data.contacts)
by_channel = {name: metric_by_channel(recent, data.contacts, name, min_responses) for name in ("csat", "ces")} if linked else {}
for name, table in by_channel.items():
    if len(table):
        nbtools.show(plot_metric_by(table, f"{titles[name].split(' by ')[0]} by contact channel"))
        results.add_table(f"{name}_by_channel", table)
if not linked:
    nbtools.say("No survey answer is linked (by `contact_id`) to a recorded contact: CSAT and CES by channel are not shown.")
    results.skip("CSAT and CES by channel", "no survey answer is linked (by contact_id) to a recorded contact",
                 needs="contact records")

# %% [markdown]
# ## Do scores go with churn?
# Churn within the next months among customers active at `as_of`, by their latest score (customers who never
# answered are not in these charts).

# %%
by_nps = churn_by_level(snap, "nps_last") if nbtools.has_values(snap, "nps_last") else None
by_ces = churn_by_level(snap, "ces_last") if nbtools.has_values(snap, "ces_last") else None
if by_nps is None and by_ces is None:
    nbtools.say("The data has no NPS or CES scores per customer: churn by score level is skipped.")
    results.skip("churn by score level", "no NPS or CES scores per customer in this data", needs="survey scores")
if by_nps is not None:
    nbtools.show(plot_churn_by_level(by_nps, window_months=horizon_months, title="Churn by latest NPS group"))
if by_ces is not None:
    nbtools.show(plot_churn_by_level(by_ces, window_months=horizon_months,
                                     title="Churn by latest effort score (CES, 7 = highest effort)"))
gap = nps_gap_churned(snap)
if gap is not None:
    nbtools.say("Latest NPS of customers who went on to churn minus those who stayed: **{}** points (95% CI {} to {}).",
                f"{gap.difference:.1f}", f"{gap.ci_low:.1f}", f"{gap.ci_high:.1f}")

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
if linked:
    response = transactional_response(data)
    nbtools.table(response, 1)
    results.add_table("transactional_response_by_channel", response)
dated_snap = snap if answers.dated else None  # flat data records neither who was asked nor when
population = nps_population(snap, surveys, lookback_months, nps_min_tenure_months) if dated_snap is not None else None
weighted = churn_gap = None
if population is not None and population["responded"].any() and not population["responded"].all():
    churn_gap = responder_churn(population)
    weighted = ipw_nps(population)
    nbtools.table(churn_gap.summary(), 2)
    nbtools.show(plot_nonresponse_correction(weighted))
    nbtools.table(weighted.summary(), 1)
else:
    nbtools.say("No NPS responders and non-responders to compare: the non-response analysis is skipped.")
    results.skip("NPS non-response", "no NPS responses (or no non-responders) among customers active at as_of"
                 if answers.dated else "flat data: who was asked, and when, is not recorded",
                 needs="NPS scores" if answers.dated or "nps" not in metrics else "event dates")

# %% [markdown]
# **CSAT and CES.** The same correction for the transactional surveys. Only customers with a reactive service
# contact in the lookback were asked, so they are the population; the number of those contacts joins the
# response model (more contacts, more invitations). Each customer counts once, with their latest answer, so
# the raw figures here differ slightly from the headline metrics above, which count every answer.

# %%
weighted_scores = ipw_transactional(snap, surveys, data.contacts, lookback_months) if dated_snap is not None else {}
if weighted_scores:
    nbtools.show(plot_score_nonresponse(weighted_scores))
    for name, result in weighted_scores.items():
        nbtools.say("**{}**: {}% of the {} customers asked answered.", name.upper(), f"{result.response_rate_pct:.0f}",
                    f"{result.n_population:,}")
        nbtools.table(result.summary(), 2)
for name in sorted({"csat", "ces"} - set(weighted_scores)):
    nbtools.say("No {} responders and non-responders among customers with a service contact: not corrected.", name.upper())
    results.skip(f"{name.upper()} non-response", f"no {name.upper()} responders (or no non-responders) among "
                 "customers with a service contact", needs=NEEDS[name] if name not in metrics else "contact records")

# %% [markdown]
# ## The claims, tested
# One row per claim (or part of one), the claim as CX writing puts it and, in brackets, what was tested.
# **Rule (declared before looking at the data).** A claim is *supported* when its CI excludes "no effect" in
# the claimed direction, *not supported* when it excludes it the other way or lies within the equivalence margin
# (ratios between 1/`equivalence_margin` and `equivalence_margin`, AUC differences within ±0.01), *inconclusive*
# otherwise.
#
# **Multiplicity: Holm.** Up to 13 rows are judged at once; at 5% each, a world where no claim holds would show
# at least one false verdict about half the time (1 − 0.95¹³ = 49%). So the verdicts are adjusted together with
# **Holm's step-down procedure** (Holm 1979), which keeps the chance of *any* wrong "supported" or "not supported"
# among them at 5%: each row's p-value (against no effect, or against the margin for the no-harm claim 4c) is
# Holm-adjusted (`p_adjusted`) and the verdict is read from the row's CI at its Holm level (`level`, between
# 1 − 0.05/13 ≈ 99.6% and 95%; `adj_ci_low`, `adj_ci_high`). The unadjusted 95% CI stays beside it. We chose
# Holm over Benjamini-Hochberg because each verdict is read and acted on by itself on the executive page, so the
# risk that matters is that any one of them is wrong, not the average share of wrong ones; the family is small,
# so little power is lost; and rows 1a/1a_cox and 1b/1b_cox reuse the same answers, a dependence Holm needs no
# assumption about.
#
# **Words.** "Supported" means the association is there in the claimed direction. The data are observational, so
# it does not show that the CX factor *causes* churn; only a randomised experiment could, and none is analysed
# here.
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
claim_data = sample_data(data, max_claim_customers or None, seed)
results.approximate("claim tests (pooled monthly snapshots)", claim_data.sample)
evidence = evaluate_claims(claim_data.data, as_of=as_of, max_snapshots=claim_snapshots,
                           n_boot=n_boot, seed=seed, margin=equivalence_margin, trap_threshold_pct=trap_threshold_pct,
                           max_survival_customers=max_survival_customers or None,
                           leaking=screen.columns if screen is not None else ())
nbtools.say("**Data for the churn claims:** {}.", evidence.design)
nbtools.say("{}", evidence.rule_statement())
nbtools.table(evidence.summary().drop(columns=["rule", "needs", "adjustment"]).set_index("id"), 3)
for row in evidence.untestable():
    nbtools.say("*Claim {} cannot be tested on this data:* {}.", row.id, row.note)
results.extra["untestable_claims"] = evidence.untestable_summary()
results.extra["claims_design"] = evidence.design

# %% [markdown]
# **Reading the table.** Odds ratios are per unit (one point of a score, one contact in the last 90 days) for
# churn in the next month; below 1 means less churn. Hazard ratios (the Cox rows) are per point of the latest
# score, for the churn rate at any time; below 1 means less churn. The satisfaction-trap row is the share of
# churners whose latest score before leaving was satisfied. `p_value` is each row's own, `p_adjusted` its Holm-
# adjusted one, and `adj_ci_low`/`adj_ci_high` the CI at the row's Holm `level` that the verdict was read from.
# Associations are not proof of cause: on real data, customers who contact service differ in ways the model may
# not see.

# %% tags=["remove-cell"]
record_loyalty(results, metrics, trends, by_nps, by_ces, gap, weighted, churn_gap, evidence, lookback_months,
               weighted_scores=weighted_scores)
ctx.finish()
