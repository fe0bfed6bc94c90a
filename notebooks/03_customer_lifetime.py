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
# **Question.** How long does a customer relationship last, how does that differ by contract, and which
# experiences shorten or lengthen it?
#
# **Method.** Lifetime runs from sign-up to the end of the relationship; customers still active at the end of
# observation are right-censored (we know only that they stayed at least that long), and customers who joined
# before observation began are left-truncated (counted from the day observation began, since those who left
# earlier are not in the data). Kaplan-Meier curves with
# 95% bands and the number still at risk; a log-rank test of whether the curves differ; median lifetime and
# survival at 12/24/36 months with CIs. A Cox proportional-hazards model then measures the experience drivers,
# as a *landmark* analysis: drivers are measured over the months before a landmark date and customers
# followed from it, so no one's future contacts or scores explain their past.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
segment = "contract"
landmark_months_before_end = 12
window_months = 3

# %% tags=["remove-cell"]
import pandas as pd

from cxresearch import nbtools
from cxresearch.churn import FEATURE_LABELS
from cxresearch.features import lifetimes, snapshot
from cxresearch.plots.survival import hazard_ratio_forest, km_curves
from cxresearch.recovery import recovery_table, true_hazard_ratios
from cxresearch.results import format_p
from cxresearch.survival import ALL, fit_cox, kaplan_meier, logrank, rmst

ctx = nbtools.start(
    "03_customer_lifetime", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "segment": segment, "landmark_months_before_end": landmark_months_before_end},
)
data, results = ctx.data, ctx.results
lt = lifetimes(data)
has_segment = segment in lt.columns
km_all = kaplan_meier(lt, entry="entry_months")
km = kaplan_meier(lt, group=segment, entry="entry_months") if has_segment else None

# %% [markdown]
# ## Lifetime of the whole customer base

# %%
nbtools.show(km_curves(km_all, title="Share of customers still active, by months since sign-up"))
nbtools.table(km_all.summary((12, 24, 36)), 2)

# %% [markdown]
# ## By segment

# %%
if km is not None:
    nbtools.show(km_curves(km, title=f"Share still active by {segment}"))
    nbtools.table(km.medians, 1)
    nbtools.table(km.survival_at((12, 24, 36)), 3)
    test = logrank(lt, group=segment, entry="entry_months")
    nbtools.say("Log-rank test across {} groups: chi-square {} on {} df, {}.",
                segment, f"{test.statistic:.1f}", test.dof, format_p(test.p_value))
    rmst_table = rmst(km, horizon_months=24)
    nbtools.say("Restricted mean lifetime over the first 24 months (months stayed, out of 24):")
    nbtools.table(rmst_table, 2)
else:
    nbtools.say("The data has no `{}` column: the segment comparison is skipped.", segment)

# %% [markdown]
# ## Experience drivers of lifetime (landmark Cox model)
# Customers active at the landmark; drivers measured over the `window_months` before it; hazard ratio > 1
# means a shorter expected lifetime per unit of the driver.

# %%
landmark = (data.observed_until - pd.DateOffset(months=landmark_months_before_end)).normalize()
snap = snapshot(data, as_of=landmark, window_months=window_months, horizon_months=landmark_months_before_end)
at_landmark = snap[snap["active"]].assign(
    residual_months=lambda d: d["duration_months"] - d["tenure_months"]
)
drivers = ["reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d", "tenure_months"]
categorical = [c for c in ("contract", "plan") if c in at_landmark]
cox = fit_cox(at_landmark, covariates=drivers, categorical=categorical, duration="residual_months")
nbtools.show(hazard_ratio_forest(cox, title="Hazard ratios of churn after the landmark"))
nbtools.table(cox.summary(), 3)
nbtools.say("Landmark {}: {} customers, {} churned afterwards; concordance {}.",
            landmark.date(), f"{cox.n:,}", f"{cox.events:,}", f"{cox.concordance:.3f}")
for note in [*km_all.notes, *(km.notes if km else []), *cox.notes]:
    nbtools.say("*Note:* {}", note)

# %% [markdown]
# ## Known truth (demo world only)
# The simulator's churn hazard ratios against the landmark Cox estimates. The landmark model holds each driver
# at its value at the landmark while the simulator's drivers keep changing afterwards, so estimates of the
# time-varying drivers are pulled towards 1; the time-varying Cox model (a later notebook section) removes that.

# %%
truth = nbtools.read_truth(data_source)
recovery = None
if truth is not None:
    hrs = cox.summary().rename(columns={"hazard_ratio": "estimate", "hr_ci_low": "ci_low", "hr_ci_high": "ci_high"})
    recovery = recovery_table(hrs, true_hazard_ratios(truth), "hazard_ratio")
    nbtools.table(recovery, 3)
else:
    nbtools.say("No `truth.json` in this data source: the known-truth check only applies to the demo world.")

# %% tags=["remove-cell"]
overall = km_all.to_estimates((12, 24, 36))
results.add("median_lifetime_months", overall.pop(f"median_lifetime_{ALL}"))
results.estimates.update(overall)
if km is not None:
    results.estimates.update(km.to_estimates((12, 24)))
    results.add_table(f"km_by_{segment}", km.survival)
    results.add_table(f"medians_by_{segment}", km.medians)
    results.add_table(f"rmst24_by_{segment}", rmst_table)
    results.extra["logrank"] = {"statistic": test.statistic, "dof": test.dof, "p_value": test.p_value}
else:
    results.skip(f"lifetime by {segment}", f"the data has no {segment} column")
for term in cox.summary().index:
    results.add(f"hr_{term}", cox.hazard_ratio(term))
results.add_table("hazard_ratios", cox.summary())
if recovery is not None:
    results.add_table("recovery", recovery)
else:
    results.skip("known-truth check", "the data source has no truth.json (only the demo world does)")
results.findings.append(
    f"Half of new customers are gone after {results.estimates['median_lifetime_months'].format(1)}."
)
if km is not None:
    results.findings.append(
        f"Lifetimes differ by {segment} (log-rank {format_p(test.p_value)}); restricted mean lifetime over the "
        "first 24 months: " + "; ".join(f"{r.group} {r.rmst:.1f} months" for r in rmst_table.itertuples()) + "."
    )
results.findings.extend(
    f"{FEATURE_LABELS[term]}: hazard ratio {row.hazard_ratio:.2f} (95% CI {row.hr_ci_low:.2f} to {row.hr_ci_high:.2f})."
    for term, row in cox.summary().iterrows()
    if row.p_value < 0.05 and term in FEATURE_LABELS and term != "tenure_months"
)
results.warnings.extend([*km_all.notes, *cox.notes])
ctx.finish()
