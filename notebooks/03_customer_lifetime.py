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
# parametric AFT models extrapolate the tail, and a time-varying Cox model follows contacts month by month.

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

# %% tags=["remove-cell"]
import pandas as pd

from cxresearch import nbtools
from cxresearch.churn import FEATURE_LABELS
from cxresearch.features import lifetimes
from cxresearch.parametric import fit_aft
from cxresearch.plots.survival import aft_extrapolation, hazard_ratio_forest, km_curves, rmst_difference_forest
from cxresearch.recovery import recovery_table, true_hazard_ratios
from cxresearch.results import Estimate, format_p
from cxresearch.survival import ALL, check_proportional_hazards, compare_groups, kaplan_meier, landmark_cohort
from cxresearch.timevarying import (CES_DRIVER, COUNT_DRIVERS, can_build_person_months, fit_person_month_cloglog,
                                    fit_time_varying_cox, person_months)

ctx = nbtools.start(
    "03_customer_lifetime", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "segment": segment, "landmark_months_before_end": landmark_months_before_end,
     "window_months": window_months, "rmst_horizon_months": rmst_horizon_months,
     "extrapolate_months": extrapolate_months, "n_draws": n_draws},
)
data, results = ctx.data, ctx.results
lt = lifetimes(data)
truncated = bool((lt["entry_months"] > 0).any())
km_all = kaplan_meier(lt, entry="entry_months")
horizon = min(rmst_horizon_months, float(lt["duration_months"].max()))

# %% [markdown]
# ## Lifetime of the whole customer base

# %%
nbtools.show(km_curves(km_all, title="Share of customers still active, by months since sign-up"))
nbtools.table(km_all.summary((12, 24, 36)), 2)
nbtools.say("Left truncation: {}.", "customers who joined before observation began count from that date"
            if truncated else "none (every customer is observed from sign-up)")

# %% [markdown]
# ## By segment
# Kaplan-Meier curves, a log-rank test that all curves are equal and pairwise tests (Holm-adjusted p-values), and
# the restricted mean lifetime: months a customer stays within the first `rmst_horizon_months`, and how many
# more months one group stays than the shortest-lived group (95% CIs add the two groups' variances).

# %%
by_segment = compare_groups(lt, segment, horizon, entry="entry_months") if segment in lt else None
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
    nbtools.say("The data has no `{}` column: the segment comparison is skipped.", segment)

# %% [markdown]
# ## Experience groups at a landmark
# NPS group, effort band and "had an unresolved contact" are only known once a customer has answered or
# called. Comparing answerers with non-answerers over their whole lifetime would credit the score with the
# months a customer had to survive to give it (*immortal-time bias*). So we fix a **landmark** date
# (`landmark_months_before_end` before the end of observation), take the customers active then, group them by
# their latest score before it (or unresolved contacts in the `window_months` before it) and follow them from it.
# Customers who never answered form their own group ("no answer"): non-response is itself informative.

# %%
landmark = (data.observed_until - pd.DateOffset(months=landmark_months_before_end)).normalize()
groupings = {"nps_group": ("surveys", "nps"), "effort_band": ("surveys", "ces"),
             "unresolved_contact": ("contacts", "resolved_first_contact")}
available = {g: (not data.surveys.empty and (data.surveys["instrument"] == need).any()) if table == "surveys"
             else (not data.contacts.empty and need in data.contacts) for g, (table, need) in groupings.items()}
cohort = landmark_cohort(data, landmark, window_months) if any(available.values()) else None
follow = min(landmark_months_before_end, round(float(cohort["residual_months"].max()), 1)) if cohort is not None else 0
references = {"nps_group": "detractor", "effort_band": "high effort (5-7)", "unresolved_contact": "yes"}
by_experience = {g: compare_groups(cohort, g, follow, duration="residual_months", at_risk_step=3,
                                   reference=references[g] if references[g] in set(cohort[g]) else None)
                 for g, ok in available.items() if ok and cohort[g].nunique() > 1}
for g, comparison in by_experience.items():
    nbtools.show(km_curves(comparison.km, title=f"Still active after the landmark ({landmark.date()}), by {g}"))
    nbtools.table(comparison.summary(), 2)
    nbtools.table(comparison.pairwise, 4)
    nbtools.say("{}", comparison.sentence())
for g in [g for g in groupings if g not in by_experience]:
    nbtools.say("No `{}` comparison: the data lacks the {} it needs.", g, groupings[g][0])

# %% [markdown]
# ## Experience drivers at the landmark (Cox model) and the proportional-hazards check
# Customers active at the landmark, drivers counted over the `window_months` before it. A hazard ratio > 1 means
# a shorter expected lifetime per unit of the driver. The Cox model assumes each ratio is constant over
# follow-up; scaled Schoenfeld residuals test that per term, and a term that fails is refitted with its effect
# split into before and after a cut time.

# %%
drivers = [] if data.contacts.empty else ["reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d"]
categorical = [c for c in ("contract", "plan") if cohort is not None and c in cohort]
ph = (check_proportional_hazards(cohort, [*drivers, "tenure_months"], categorical, duration="residual_months")
      if cohort is not None and drivers else None)
if ph is not None:
    cox = ph.model
    nbtools.show(hazard_ratio_forest(cox, title="Hazard ratios of churn after the landmark"))
    nbtools.table(cox.summary(), 3)
    nbtools.say("Landmark {}: {} customers, {} churned afterwards; concordance {}.",
                landmark.date(), f"{cox.n:,}", f"{cox.events:,}", f"{cox.concordance:.3f}")
    nbtools.table(ph.summary(), 3)
    for sentence in ph.sentences():
        nbtools.say("{}", sentence)
else:
    nbtools.say("No contacts in the data: the landmark Cox model of experience drivers is skipped.")

# %% [markdown]
# A driver measured once at the landmark describes only the months right after it: contacts age out of the
# window, so its effect fades with follow-up, which is what a failing Schoenfeld test on the contact counts means
# here. The time-varying model below re-measures the drivers every month instead.

# %% [markdown]
# ## Beyond the observed horizon: parametric lifetime models
# Weibull, log-normal and log-logistic accelerated-failure-time models (one scale per segment, common shape),
# compared by AIC (lower is better; a difference above 10 is decisive). The best is drawn over the Kaplan-Meier
# curves and continued to `extrapolate_months`; its restricted mean lifetime over that horizon (95% interval
# from the parameters' uncertainty) is what a lifetime-value model needs. The tail rests on the chosen shape.

# %%
aft_group = segment if by_segment is not None else None
aft = fit_aft(lt, aft_group, entry="entry_months")
nbtools.table(aft.summary(), 1)
extrapolated = aft.extrapolate(extrapolate_months, n_draws=n_draws, seed=seed)
nbtools.show(aft_extrapolation(aft, by_segment.km if by_segment is not None else km_all, extrapolate_months))
nbtools.table(extrapolated, 2)
tails = {m: aft.extrapolate(extrapolate_months, model=m, n_draws=n_draws, seed=seed)["rmst"].mean()
         for m in aft.comparison.index}
nbtools.say("Best by AIC: {}. Mean months active within {} months across groups by model: {}.", aft.best,
            extrapolate_months, "; ".join(f"{m} {v:.1f}" for m, v in tails.items()))

# %% [markdown]
# ## Experience as it happens: time-varying Cox model
# One row per customer and calendar month at risk; the contact counts and the mean effort (CES) of the reactive
# contacts over the `window_months` before each month, and the latest NPS group, all as they stood when the month
# began, so no driver borrows from the future. Churn is recorded to the month, so customers share churn times:
# the Cox model treats the ties with Efron's method, and a person-month complementary log-log regression (the
# exact grouped-time proportional-hazards model) cross-checks it.

# %%
can_tv, why_not = can_build_person_months(data)
long = person_months(data, window_months) if can_tv else None
tv_covariates = [*COUNT_DRIVERS, CES_DRIVER]
tv_categorical = [c for c in ("contract", "plan") if long is not None and c in long]
tv = fit_time_varying_cox(long, tv_covariates, tv_categorical) if can_tv else None
if tv is not None:
    nbtools.show(hazard_ratio_forest(tv, title="Hazard ratios of churn, drivers measured month by month"))
    glm = fit_person_month_cloglog(long, tv_covariates, tv_categorical)
    nbtools.table(tv.summary().join(glm.summary()[["hazard_ratio"]].rename(columns={"hazard_ratio": "hr_cloglog"})), 3)
    tv_scores = fit_time_varying_cox(long, tv_covariates, [*tv_categorical, "nps_group"])
    nbtools.say("{} customers, {} person-months, {} churns. Adding the latest NPS group as it stood each month:",
                f"{tv.n_customers:,}", f"{tv.n_episodes:,}", f"{tv.events:,}")
    nbtools.table(tv_scores.summary().filter(like="nps_group", axis=0), 3)
    for note in [*long.attrs["notes"], *tv.notes]:
        nbtools.say("*Note:* {}", note)
else:
    nbtools.say("No time-varying model: {}.", why_not)

# %% [markdown]
# ## Known truth (demo world only)
# The simulator's churn hazard is a monthly complementary log-log model of exactly these trailing-window counts,
# so the time-varying Cox hazard ratios estimate its coefficients directly: each true value should fall inside
# the 95% interval about 19 times in 20.

# %%
truth = nbtools.read_truth(data_source)
recovery = (recovery_table(tv.recovery_estimates(), true_hazard_ratios(truth), "hazard_ratio")
            if truth is not None and tv is not None else None)
if recovery is not None:
    nbtools.table(recovery, 3)
else:
    nbtools.say("No `truth.json` (or no time-varying model): the known-truth check only applies to the demo world.")

# %% tags=["remove-cell"]
overall = km_all.to_estimates((12, 24, 36))
results.add("median_lifetime_months", overall.pop(f"median_lifetime_{ALL}"))
results.estimates.update(overall)
results.warnings.extend(km_all.notes)
results.findings.append(
    f"Half of new customers are gone after {results.estimates['median_lifetime_months'].format(1)}."
)
if by_segment is not None:
    results.estimates.update(by_segment.km.to_estimates((12, 24, 36)))
    results.add_table(f"km_by_{segment}", by_segment.km.survival)
    results.add_table(f"at_risk_by_{segment}", by_segment.km.at_risk)
    results.add_table(f"medians_by_{segment}", by_segment.km.medians)
    results.add_table(f"survival_at_by_{segment}", by_segment.km.survival_at((12, 24, 36)))
    results.add_table(f"rmst_by_{segment}", by_segment.rmst)
    results.add_table(f"pairwise_logrank_by_{segment}", by_segment.pairwise)
    if by_segment.rmst_difference is not None:
        results.add_table(f"rmst_difference_by_{segment}", by_segment.rmst_difference)
    results.extra["logrank"] = {"statistic": by_segment.logrank.statistic, "dof": by_segment.logrank.dof,
                                "p_value": by_segment.logrank.p_value}
    results.findings.append(by_segment.sentence())
    results.warnings.extend(by_segment.notes())
else:
    results.skip(f"lifetime by {segment}", f"the data has no {segment} column")
for g, comparison in by_experience.items():
    results.add_table(f"km_by_{g}", comparison.km.survival)
    results.add_table(f"at_risk_by_{g}", comparison.km.at_risk)
    results.add_table(f"rmst_by_{g}", comparison.rmst)
    results.add_table(f"pairwise_logrank_by_{g}", comparison.pairwise)
    if comparison.rmst_difference is not None:
        results.add_table(f"rmst_difference_by_{g}", comparison.rmst_difference)
        for row in comparison.rmst_difference.itertuples():
            results.add(f"rmst_diff_{g}_{row.group}", Estimate(
                row.difference, "months", f"Extra months active after the landmark: {row.group} vs {row.reference}",
                row.ci_low, row.ci_high, note=f"within {comparison.horizon_months:g} months of {landmark.date()}"))
    results.findings.append(f"From the landmark {landmark.date()}: " + comparison.sentence())
for g in [g for g in groupings if g not in by_experience]:
    results.skip(f"lifetime by {g}", f"the data has no {groupings[g][0]} to form {g}")
if ph is not None:
    for term in cox.summary().index:
        results.add(f"hr_{term}", cox.hazard_ratio(term))
    results.add_table("hazard_ratios", cox.summary())
    results.add_table("ph_check", ph.summary())
    results.findings.extend(ph.sentences())
    results.findings.extend(
        f"{FEATURE_LABELS[t]}: hazard ratio {r.hazard_ratio:.2f} (95% CI {r.hr_ci_low:.2f} to {r.hr_ci_high:.2f})."
        for t, r in cox.summary().iterrows() if r.p_value < 0.05 and t in FEATURE_LABELS and t != "tenure_months"
    )
    results.warnings.extend(cox.notes)
else:
    results.skip("landmark Cox model", "the data has no contacts")
results.add_table("aft_comparison", aft.summary())
results.add_table("aft_extrapolation", extrapolated)
results.estimates.update(aft.to_estimates(extrapolate_months, n_draws=n_draws, seed=seed))
results.findings.append(
    f"Extrapolated with the best-fitting {aft.best} model, customers stay on average "
    + "; ".join(f"{r.group} {r.rmst:.1f} months" for r in extrapolated.itertuples())
    + f" of the first {extrapolate_months} months (the tail depends on the model: " + ", ".join(
        f"{m} {v:.1f}" for m, v in tails.items()) + ")."
)
if tv is not None:
    results.estimates.update(tv.to_estimates())
    results.add_table("time_varying_hazard_ratios", tv.summary())
    results.add_table("time_varying_hazard_ratios_cloglog", glm.summary())
    results.add_table("time_varying_nps_group", tv_scores.summary().filter(like="nps_group", axis=0))
    results.findings.extend(
        f"Month by month, {FEATURE_LABELS.get(t, t)} in the last {window_months} months: hazard ratio "
        f"{r.hazard_ratio:.2f} (95% CI {r.hr_ci_low:.2f} to {r.hr_ci_high:.2f}; time-varying Cox)."
        for t, r in tv.table.iterrows() if t in ("proactive_90d", "unresolved_90d")
    )
else:
    results.skip("time-varying Cox model", why_not)
if recovery is not None:
    results.add_table("recovery", recovery)
else:
    results.skip("known-truth check", "the data source has no truth.json (only the demo world does)")
results.warnings = list(dict.fromkeys(results.warnings))
ctx.finish()
