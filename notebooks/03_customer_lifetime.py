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
shared_tables = ""  # set by a suite run: where its validated data and features are shared
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
from IPython.display import display

from cxresearch.features.snapshot import lifetimes
from cxresearch.plots import set_theme
from cxresearch.plots import survival as plots
from cxresearch.report import nbtools
from cxresearch.report.record.lifetime import record_lifetime
from cxresearch.survival import lifetime
from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.kaplan_meier import kaplan_meier
from cxresearch.survival.landmark import compare_at_landmark
from cxresearch.truth.recovery import recovery_table, true_hazard_ratios

# %% tags=["remove-cell"]
ctx = nbtools.start("03_customer_lifetime", data_source, results_dir, {
    "as_of": as_of, "seed": seed, "segment": segment, "landmark_months_before_end": landmark_months_before_end,
    "window_months": window_months, "rmst_horizon_months": rmst_horizon_months, "extrapolate_months": extrapolate_months,
    "n_draws": n_draws, "max_model_customers": max_model_customers, "ph_tenure_form": ph_tenure_form},
    shared_tables=shared_tables)
data, results = ctx.data, ctx.results
max_customers = max_model_customers or None  # 0 = everyone
set_theme()

# %% [markdown]
# ## Lifetime of the whole customer base

# %%
lt = lifetimes(data)
km_all = kaplan_meier(lt, columns=FROM_ENTRY)
if km_all.medians["events"].sum() > 0:  # with nobody seen leaving, a flat 100% curve would read as a finding
    nbtools.show(plots.plot_km_curves(km_all, title="Share of customers still active, by months since sign-up"))
    nbtools.table(km_all.summary((12, 24, 36)), 2)
nbtools.say("{}", lifetime.overall_sentence(km_all))
nbtools.say("{}", lifetime.truncation_sentence(lt))
for assumption in results.extra["assumptions"]:
    nbtools.say("*Assumption:* {}", assumption)

# %% [markdown]
# ## By segment
# Kaplan-Meier curves, a log-rank test that all curves are equal and pairwise tests (Holm-adjusted p-values), and
# the restricted mean lifetime: months a customer stays within the first `rmst_horizon_months`, and how many
# more months one group stays than the shortest-lived group (95% CIs add the two groups' variances).

# %%
segments = lifetime.compare_segments(lt, segment, rmst_horizon_months)
by_segment = segments.comparison
if by_segment is not None:
    nbtools.show(plots.plot_km_curves(by_segment.km, title=f"Share still active by {segment}"))
if by_segment is not None and by_segment.rmst_difference is not None:
    nbtools.show(plots.plot_rmst_differences(by_segment.rmst_difference))
display(segments)

# %% [markdown]
# ## Experience groups at a landmark
# NPS group, effort band and "had an unresolved contact" are only known once a customer has answered or
# called. Comparing answerers with non-answerers over their whole lifetime would credit the score with the
# months a customer had to survive to give it (*immortal-time bias*). So we fix a **landmark** date
# (`landmark_months_before_end` before the end of observation), take the customers active then, group them by
# their latest score before it (or unresolved contacts in the `window_months` before it) and follow them from it.
# Customers who never answered form their own group ("no answer"): non-response is itself informative.

# %%
experience = compare_at_landmark(data, landmark_months_before_end, window_months)
for g, comparison in experience.comparisons.items():
    nbtools.show(plots.plot_km_curves(comparison.km, title=f"Still active after the landmark ({experience.landmark.date()}), by {g}"))
display(experience)

# %% [markdown]
# ## Experience drivers at the landmark (Cox model) and the proportional-hazards check
# Customers active at the landmark, drivers counted over the `window_months` before it. A hazard ratio > 1 means
# a shorter expected lifetime per unit of the driver. The Cox model assumes each ratio is constant over
# follow-up; scaled Schoenfeld residuals test that per term (p-values Holm-adjusted across terms), and a term that
# fails is refitted with its effect split into before and after a cut time (`hazard_ratio_before`, `_after`).
# This check alone does not decide whether a ratio changes over the lifetime: the verdict per term, weighing it
# with the tenure check below, closes the lifetime models.

# %%
landmark_cox = lifetime.fit_landmark_cox(data, experience, max_customers, seed)
if landmark_cox is not None:
    nbtools.show(plots.plot_hazard_ratios(landmark_cox.model, title="Hazard ratios of churn after the landmark"))
    display(landmark_cox)
else:
    nbtools.say("No landmark Cox model of experience drivers: {}.", lifetime.why_no_landmark_cox(experience))

# %% [markdown]
# ## Beyond the observed horizon: parametric lifetime models
# Weibull, log-normal and log-logistic accelerated-failure-time models (one scale per segment, common shape),
# compared by AIC (lower is better; a difference above 10 is decisive). The best is drawn over the Kaplan-Meier
# curves and continued to `extrapolate_months`; its restricted mean lifetime over that horizon (95% interval
# from the parameters' uncertainty) is what a lifetime-value model needs. The tail rests on the chosen shape.

# %%
extrapolation, aft_failure = lifetime.try_extrapolate_lifetime(
    lt, segment if by_segment is not None else None, extrapolate_months, n_draws, seed, max_customers)
if extrapolation is not None:
    nbtools.show(plots.plot_aft_extrapolation(extrapolation.aft, by_segment.km if by_segment is not None else km_all,
                                        extrapolation.horizon_months))
    display(extrapolation)
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
tv, why_not = lifetime.time_varying_drivers(data, window_months, max_customers, seed, ph_tenure_form or None)
if tv is not None:
    nbtools.show(plots.plot_hazard_ratios(tv.cox, title="Hazard ratios of churn, drivers measured month by month"))
    display(tv)
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
tenure_check = tv.ph if tv is not None else None
if tenure_check is not None:
    nbtools.show(plots.plot_tenure_drift(tenure_check))
    display(tenure_check)
else:
    nbtools.say("No proportional-hazards check over tenure: {}.", lifetime.why_no_tenure_check(why_not))

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
verdict = lifetime.ph_verdict(landmark_cox, tv)
if verdict is not None:
    display(verdict)
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
record_lifetime(results, km=km_all, segments=segments, experience=experience, landmark_cox=landmark_cox,
                extrapolation=extrapolation, aft_failure=aft_failure, tv=tv, why_not=why_not, verdict=verdict,
                recovery=recovery)
ctx.finish()
