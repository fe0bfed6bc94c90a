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
# # 03 · How long customers stay
#
# **Question.** How long does a customer relationship last, how does that differ by contract and by experience
# (NPS, effort, unresolved contacts), and which experiences shorten or lengthen it?
#
# **Method.** Lifetime runs from sign-up to the end of the relationship. Customers still active at the end of
# observation are right-censored (we know only that they stayed at least that long); customers who joined
# before observation began are left-truncated (they are in the data only because they were still active then,
# so they count from that date). Kaplan-Meier curves with 95% bands and at-risk tables; log-rank tests, global
# and pairwise with Holm's correction; median lifetime and survival at 12/24/36 months with CIs; restricted mean
# survival time (RMST: months active within a horizon) and its differences between groups. Scores are compared at
# a *landmark* date, a Cox model checks the proportional-hazards assumption and repairs it when it fails,
# parametric AFT models extrapolate the tail, and a time-varying Cox model follows contacts month by month (and
# checks proportional hazards on every customer, left-truncated ones included). One verdict per term weighs the
# two proportional-hazards checks, Holm-adjusted together.
#
# **Scale.** Kaplan-Meier curves, log-rank tests and restricted means always use every customer. The model fits
# whose cost grows with the base (landmark Cox with its Schoenfeld check, AFT, time-varying models) use a simple
# random sample of at most `max_model_customers` customers when the base is larger (0 = everyone): estimates stay
# unbiased, intervals are those of the sample, and the report says so wherever a sample was used.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
segment = "contract"
landmark_months_before_end = 12
window_months = 3
rmst_horizon_months = 36
extrapolate_months = 120
n_draws = 200
max_model_customers = 50_000  # Cox, AFT and time-varying fits use a random sample this large (0 = everyone)
ph_tenure_form = "log"  # PH check over tenure: hazard ratio drifting with "log" tenure or by tenure "bands"; "" = off

# %% tags=["remove-cell"]
from cxresearch.errors import NotEstimableError
from cxresearch.features.snapshot import lifetimes
from cxresearch.plots.survival import (
    aft_extrapolation,
    hazard_ratio_forest,
    km_curves,
    rmst_difference_forest,
    tenure_drift_forest,
)
from cxresearch.report import nbtools
from cxresearch.stats.estimate import format_p
from cxresearch.survival import report as lifetime_report
from cxresearch.survival.estimators import kaplan_meier
from cxresearch.survival.timevarying import can_build_person_months, fit_time_varying_drivers
from cxresearch.truth.recovery import recovery_table, true_hazard_ratios

ctx = nbtools.start(
    "03_customer_lifetime", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "segment": segment, "landmark_months_before_end": landmark_months_before_end,
     "window_months": window_months, "rmst_horizon_months": rmst_horizon_months,
     "extrapolate_months": extrapolate_months, "n_draws": n_draws, "max_model_customers": max_model_customers,
     "ph_tenure_form": ph_tenure_form},
)
data, results = ctx.data, ctx.results
max_customers = max_model_customers or None  # 0 = everyone

# %% [markdown]
# ## Lifetime of the whole customer base

# %%
lt = lifetimes(data)
km_all = kaplan_meier(lt, entry="entry_months")
truncated = bool((lt["entry_months"] > 0).any())
nbtools.show(km_curves(km_all, title="Share of customers still active, by months since sign-up"))
nbtools.table(km_all.summary((12, 24, 36)), 2)
nbtools.say("{}", lifetime_report.overall_sentence(km_all))
nbtools.say("Left truncation: {}.", "customers who joined before observation began count from that date"
            if truncated else "none (every customer is observed from sign-up)")
for assumption in results.extra["assumptions"]:
    nbtools.say("*Assumption:* {}", assumption)

# %% [markdown]
# ## By segment
# Kaplan-Meier curves, a log-rank test that all curves are equal and pairwise tests (Holm-adjusted p-values), and
# the restricted mean lifetime: months a customer stays within the first `rmst_horizon_months`, and how many
# more months one group stays than the shortest-lived group (95% CIs add the two groups' variances).

# %%
segments = lifetime_report.compare_segments(lt, segment, rmst_horizon_months)
by_segment = segments.comparison
if segments.note:
    nbtools.say("{}", segments.note)
if by_segment is not None:
    nbtools.show(km_curves(by_segment.km, title=f"Share still active by {segment}"))
    nbtools.table(by_segment.summary(), 2)
    nbtools.table(by_segment.km.survival_at((12, 24, 36)), 3)
    nbtools.say("Log-rank across {} groups: chi-square {} on {} df, {}. Pairwise:", segment,
                f"{by_segment.logrank.statistic:.1f}", by_segment.logrank.dof, format_p(by_segment.logrank.p_value))
    nbtools.table(by_segment.pairwise, 4)
    if by_segment.rmst_difference is not None:
        nbtools.show(rmst_difference_forest(by_segment.rmst_difference))
    nbtools.say("{}", by_segment.sentence())
else:
    nbtools.say("No comparison by {}: {}.", segment, segments.why_not)

# %% [markdown]
# ## Experience groups at a landmark
# NPS group, effort band and "had an unresolved contact" are only known once a customer has answered or
# called. Comparing answerers with non-answerers over their whole lifetime would credit the score with the
# months a customer had to survive to give it (*immortal-time bias*). So we fix a **landmark** date
# (`landmark_months_before_end` before the end of observation), take the customers active then, group them by
# their latest score before it (or unresolved contacts in the `window_months` before it) and follow them from it.
# Customers who never answered form their own group ("no answer"): non-response is itself informative.

# %%
experience = lifetime_report.compare_at_landmark(data, landmark_months_before_end, window_months)
if experience.why_not:
    nbtools.say("No landmark comparison: {}.", experience.why_not)
if experience.note:
    nbtools.say("{}", experience.note)
for g, comparison in experience.comparisons.items():
    nbtools.show(km_curves(comparison.km, title=f"Still active after the landmark ({experience.landmark.date()}), by {g}"))
    nbtools.table(comparison.summary(), 2)
    nbtools.table(comparison.pairwise, 4)
    nbtools.say("{}", comparison.sentence())
for g, why in experience.missing.items():
    nbtools.say("No comparison by {}: {}.", g.replace("_", " "), why)

# %% [markdown]
# ## Experience drivers at the landmark (Cox model) and the proportional-hazards check
# Customers active at the landmark, drivers counted over the `window_months` before it. A hazard ratio > 1 means
# a shorter expected lifetime per unit of the driver. The Cox model assumes each ratio is constant over
# follow-up; scaled Schoenfeld residuals test that per term (p-values Holm-adjusted across terms), and a term that
# fails is refitted with its effect split into before and after a cut time (`hazard_ratio_before`, `_after`).
# This check alone does not decide whether a ratio changes over the lifetime: the verdict per term, weighing it
# with the tenure check below, closes the lifetime models.

# %%
landmark_cox = lifetime_report.fit_landmark_cox(data, experience, max_customers, seed)
if landmark_cox is not None:
    cox = landmark_cox.model
    nbtools.show(hazard_ratio_forest(cox, title="Hazard ratios of churn after the landmark"))
    nbtools.table(cox.summary(), 3)
    nbtools.say("Landmark {}: {} customers, {} churned afterwards; concordance {}.",
                experience.landmark.date(), f"{cox.n:,}", f"{cox.events:,}", f"{cox.concordance:.3f}")
    nbtools.table(landmark_cox.check.summary(), 3)
    for note in landmark_cox.notes():
        nbtools.say("{}", note)
else:
    landmark_why = experience.why_not or "the data has no contact records"
    nbtools.say("No landmark Cox model of experience drivers: {}.", landmark_why)

# %% [markdown]
# ## Beyond the observed horizon: parametric lifetime models
# Weibull, log-normal and log-logistic accelerated-failure-time models (one scale per segment, common shape),
# compared by AIC (lower is better; a difference above 10 is decisive). The best is drawn over the Kaplan-Meier
# curves and continued to `extrapolate_months`; its restricted mean lifetime over that horizon (95% interval
# from the parameters' uncertainty) is what a lifetime-value model needs. The tail rests on the chosen shape.

# %%
try:
    extrapolation = lifetime_report.extrapolate_lifetime(lt, segment if by_segment is not None else None,
                                                         extrapolate_months, n_draws, seed, max_customers)
    aft_failure = None
except NotEstimableError as err:
    extrapolation, aft_failure = None, err
if extrapolation is not None:
    nbtools.table(extrapolation.aft.summary(), 1)
    nbtools.show(aft_extrapolation(extrapolation.aft, by_segment.km if by_segment is not None else km_all,
                                   extrapolation.horizon_months))
    nbtools.table(extrapolation.table, 2)
    nbtools.say("Best by AIC: {}. Mean months active within {} months across groups by model: {}.",
                extrapolation.aft.best, f"{extrapolation.horizon_months:g}", extrapolation.tails_text())
    for note in extrapolation.notes():
        nbtools.say("{}", note)
else:
    nbtools.say("No parametric lifetime model: not estimable from this data ({}).", aft_failure.reason)

# %% [markdown]
# ## Experience as it happens: time-varying Cox model
# One row per customer and calendar month at risk; the contact counts and the mean effort (CES) of the reactive
# contacts over the `window_months` before each month, and the latest NPS group, all as they stood when the month
# began, so no driver borrows from the future. Churn is recorded to the month, so customers share churn times:
# the Cox model treats the ties with Efron's method, and a person-month complementary log-log regression (the
# exact grouped-time proportional-hazards model) cross-checks it.

# %%
can_tv, why_not = can_build_person_months(data)
tv = fit_time_varying_drivers(data, window_months, max_customers, seed, ph_tenure_form or None) if can_tv else None
if tv is not None:
    nbtools.show(hazard_ratio_forest(tv.cox, title="Hazard ratios of churn, drivers measured month by month"))
    nbtools.table(tv.summary(), 3)
    nbtools.say("{} customers, {} person-months, {} churns. Adding the latest NPS group as it stood each month:",
                f"{tv.cox.n_customers:,}", f"{tv.cox.n_episodes:,}", f"{tv.cox.events:,}")
    nbtools.table(tv.nps_summary(), 3)
    for note in tv.notes():
        nbtools.say("*Note:* {}", note)
else:
    nbtools.say("No time-varying model: {}.", why_not)

# %% [markdown]
# ## Does each hazard ratio hold over the whole lifetime? Proportional hazards on every customer
# The landmark check above uses only the customers active at the landmark: scaled Schoenfeld residuals are not
# available when customers enter the data part-way through their lifetime (left truncation). The person-month
# model has no such limit, since every month at risk enters whatever the customer's tenure when observation
# began. For each term in turn we add its product with g(tenure) (`ph_tenure_form`: log tenure, or tenure bands)
# to the complementary log-log model, so its hazard ratio may drift with tenure, and a likelihood-ratio test asks
# whether it does: the discrete-time analogue of the Grambsch & Therneau (1994) test (Allison 1982; 2010, ch. 7).
# Many terms are tested, so the p-values are Holm-adjusted: when all hazards are proportional, the chance of
# flagging any term is at most 5%. The table gives each hazard ratio at 6 and at 24 months of tenure and the
# drift (their ratio; 1 = constant). Same customers as the time-varying model. A flagged term's single hazard
# ratio averages an effect that changes over the lifetime: read its ratios by tenure instead.

# %%
if tv is not None and tv.ph is not None:
    nbtools.show(tenure_drift_forest(tv.ph))
    nbtools.table(tv.ph.summary(), 3)
    nbtools.say("All terms at once: likelihood-ratio chi-square {} on {} df, {}.", f"{tv.ph.joint['statistic']:.1f}",
                tv.ph.joint["dof"], format_p(tv.ph.joint["p_value"]))
    for note in tv.ph.notes:
        nbtools.say("{}", note)
else:
    nbtools.say("No proportional-hazards check over tenure: {}.", why_not or lifetime_report.PH_SWITCHED_OFF)

# %% [markdown]
# ## One verdict per term: does its hazard ratio hold over the lifetime?
# The two checks above ask different questions, and on their own they can disagree. The **tenure check** follows
# every customer month by month with each driver as it stood that month, so it tests the lifetime hazard ratio
# directly. The **landmark check** tests drivers measured *once*, at the landmark, and that measurement goes
# stale: a contact counted in the `window_months` before the landmark ages out of that window as follow-up goes
# on, so what the landmark count says about the hazard a year later is far weaker than what it says about the
# next few months; tenure at the landmark likewise falls behind the customer's real tenure. The landmark hazard
# ratio of such a driver therefore fades towards 1 with follow-up *by construction*, even when the hazard is
# exactly proportional in the driver's current value, and a Schoenfeld test with enough customers flags that fade
# (van Houwelingen 2007 on landmarking). On the demo world, proportional by construction, this is what the
# landmark check flags.
#
# **Rule.** All p-values of both checks are Holm-adjusted together as one family, so when every hazard is
# proportional the chance of any "changes" verdict is at most 5%. Per term:
# 1. the tenure check flags it (adjusted p < 0.05): **changes with tenure: read its ratios by tenure**;
# 2. otherwise, the landmark check flags it: if the term was measured once at the landmark (the contact counts,
#    tenure) and its hazard ratio after the cut is closer to 1 than before, it **fades after the landmark because
#    the driver was measured once (stale covariate), not a PH violation**; any other change (a trait fixed at
#    sign-up, or a ratio that moves further from 1 after the cut) **changes with tenure**;
# 3. otherwise: **constant over the lifetime**.
#
# Only this verdict goes to the results file and the executive summary; the two checks stay as tables above.

# %%
verdict = lifetime_report.ph_verdict(landmark_cox, tv)
if verdict is not None:
    nbtools.table(verdict.summary(), 4)
    for sentence in verdict.sentences():
        nbtools.say("{}", sentence)
else:
    nbtools.say("No proportional-hazards verdict: neither check could run on this data.")

# %% [markdown]
# ## Known truth (demo world only)
# The simulator's churn hazard is a monthly complementary log-log model of exactly these trailing-window counts,
# so the time-varying Cox hazard ratios estimate its coefficients directly: each true value should fall inside
# the 95% interval about 19 times in 20.

# %%
truth = nbtools.read_truth(data_source)
recovery = (recovery_table(tv.cox.recovery_estimates(), true_hazard_ratios(truth), "hazard_ratio")
            if truth is not None and tv is not None else None)
if recovery is not None:
    nbtools.table(recovery, 3)
else:
    nbtools.say("No `truth.json` (or no time-varying model): the known-truth check only applies to the demo world.")

# %% tags=["remove-cell"]
lifetime_report.record_overall(results, km_all)
lifetime_report.record_segments(results, segments)
lifetime_report.record_landmark_groups(results, experience)
lifetime_report.record_landmark_cox(results, landmark_cox, experience)
lifetime_report.record_extrapolation(results, extrapolation, aft_failure)
lifetime_report.record_time_varying(results, tv, why_not)
lifetime_report.record_tenure_ph(results, tv, why_not)
lifetime_report.record_ph_verdict(results, verdict)
lifetime_report.record_recovery(results, recovery)
results.warnings = list(dict.fromkeys(results.warnings))
ctx.finish()
