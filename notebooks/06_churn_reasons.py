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
# # 06 · Why customers leave
#
# **Question.** Customers leave for different reasons: price, a competitor's offer, the service they got, moving
# away, non-payment. How many leave for each reason, and does the service experience (effort, unresolved
# contacts, inconsistent answers) drive service-related churn rather than price churn?
#
# **Method.** Churn by reason as *competing risks*: a customer who leaves for one reason can no longer leave for
# another. Aalen-Johansen cumulative incidence by reason with 95% CIs, overall and by segment, counting customers
# who joined before observation began from the date they entered it (left truncation); the share of churn that
# is service-related with a bootstrap CI; a test across segments; one hazard model per reason (cause-specific
# hazards) with the CX drivers, month by month where the data has event dates; and the Fine-Gray model of
# service-related churn. On simulated data, the simulator's reason model is recovered.
#
# **Scale.** The incidences use every customer. The hazard models use a simple random sample of at most
# `max_model_customers` customers (0 = everyone), the known-truth check at most `max_model_customers` of those who
# left; the Fine-Gray fits at most 10,000. The report says where a sample was used.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""
seed = 0
segment = "contract"
horizons = [12, 24, 48]  # months; those beyond the longest follow-up are left out
window_months = 3
max_model_customers = 50_000  # hazard models use a random sample this large; 0 for everyone

# %% tags=["remove-cell"]
from IPython.display import display

from cxresearch.plots import set_theme
from cxresearch.plots.competing import plot_cumulative_incidence_by_segment, plot_cumulative_incidence_stacked
from cxresearch.report import nbtools
from cxresearch.report.record.churn_reasons import record_churn_reasons
from cxresearch.survival import churn_reasons as cr

# %% tags=["remove-cell"]
ctx = nbtools.start("06_churn_reasons", data_source, results_dir, {
    "as_of": as_of, "seed": seed, "segment": segment, "horizons": horizons, "window_months": window_months,
    "max_model_customers": max_model_customers}, shared_tables)
data, results = ctx.data, ctx.results
max_customers = max_model_customers or None  # 0 = everyone
set_theme()

# %% [markdown]
# ## Of 100 new customers, how many have left by month t, and why
# **How to read it.** A cumulative incidence curve gives, of the customers who signed up, the share who have
# left *for that reason* by month t, with every other way of leaving taken into account: the bands add up to all
# churn, and the space above them is the customers still here. One minus a Kaplan-Meier curve per reason (other
# reasons treated as censored) overstates each reason, because it counts customers who already left for another
# reason as if they could still leave for this one; the sentence under the table shows by how much.

# %%
reasons = cr.reason_data(data, horizons)
incidence = cr.overall_incidence(reasons, seed) if reasons.lifetimes is not None else None
if incidence is not None:
    nbtools.show(plot_cumulative_incidence_stacked(incidence.cif, max_months=reasons.horizons[-1]))
    display(incidence)
    nbtools.say("**{}** {}", incidence.finding(), incidence.overstatement())
else:
    nbtools.say("No analysis of churn reasons: {}.", reasons.why_not)

# %% [markdown]
# ## By segment: how much of the churn is service-related?
# Customers of 100 in each segment level who have left by each horizon, by reason (95% CIs), and per level the
# share of its churn by the longest horizon that is service-related (95% bootstrap CI). The test asks whether
# service-related churn's cumulative incidence is the same in every level: Gray's test when every customer is
# observed from sign-up; it is not valid when customers enter part-way through their lifetime, and then the test
# is the Wald test of the segment in a Fine-Gray model, whose weights allow for late entry (Geskus 2011). A level
# can differ in how many leave for service reasons while its service share stays the same. The chart is the
# stacked chart above once per level, on shared axes, each reason in the same colour as above.

# %%
segments, segments_why_not = (cr.segment_incidence(reasons, segment, max_customers, seed)
                              if incidence is not None else (None, reasons.why_not))
if segments is not None:
    nbtools.show(plot_cumulative_incidence_by_segment(segments.cif, max_months=reasons.horizons[-1],
                                                      segment=segment))
    nbtools.table(cr.per_100(segments.cif.summary(reasons.horizons)), 1)
    display(segments)
else:
    nbtools.say("No comparison by {}: {}.", segment, segments_why_not)

# %% [markdown]
# ## What drives each reason: cause-specific hazards
# One model per reason: the hazard of leaving for that reason among customers still here, where leaving for
# another reason ends a customer's time at risk. A hazard ratio above 1 means the driver speeds up leaving for
# that reason. With event dates, the drivers are time-varying: each month's contacts (reactive, unresolved,
# proactive, channel inconsistencies) and mean effort are counted over the `window_months` before it, as they
# stood then, with contract and plan fixed (person-month complementary log-log models, the exact grouped-time
# proportional-hazards model); without event dates, the customer's columns enter a Cox model, fixed at baseline. The point is the contrast: effort, unresolved contacts
# and inconsistent answers should act on service-related churn, not on price churn. The two reasons' models
# have separate likelihoods, so the ratio of their hazard ratios has an interval from the two standard errors.

# %%
hazards, hazards_why_not = (cr.cause_specific_hazards(data, reasons, window_months, max_customers, seed)
                            if incidence is not None else (None, reasons.why_not))
if hazards is not None:
    display(hazards)
    for sentence in cr.contrast_sentences(hazards):
        nbtools.say("{}", sentence)
if hazards is None or not hazards.time_varying:
    nbtools.say("No hazards with drivers measured month by month: {}.", hazards_why_not)

# %% [markdown]
# ## How each driver shifts the share leaving for service reasons: Fine-Gray
# The Fine-Gray model keeps customers who left for another reason in the risk set with a weight, so its
# subdistribution hazard ratios describe the cumulative incidence of service-related churn itself (how many
# leave for it), not the rate among those still here.
#
# **Baseline covariates only, by design** (contract, plan, margin and CSAT, where present). A customer who left
# for another reason stays in Fine-Gray's risk set, but she has no contacts or effort after she left, so a
# driver that changes month by month has no value there and its subdistribution hazard ratio no clear meaning
# (Beyersmann & Schumacher 2008; Cortese & Andersen 2010; Latouche et al. 2013). The time-varying drivers
# therefore enter the cause-specific models above, whose risk set is the customers still here.

# %%
fine_gray, fine_gray_why_not = cr.service_fine_gray(reasons, max_customers, seed) if incidence is not None else (
    None, reasons.why_not)
if fine_gray is not None:
    display(fine_gray)
else:
    nbtools.say("No Fine-Gray model: {}.", fine_gray_why_not)

# %% [markdown]
# ## Known truth (simulated data only)
# The simulator splits each leaver's hazard between the reasons with multinomial-logit shares, so among leavers
# a multinomial logit of the reason on the drivers (the churn month's trailing window, margin and plan) estimates
# the true log relative hazards against `moved`: each true value should fall inside its 95% interval about 19
# times in 20.

# %%
truth = nbtools.read_truth(data_source)
recovery, recovery_why_not, recovery_sample = (cr.reason_recovery(data, truth, max_customers, seed)
                                               if incidence is not None else (None, reasons.why_not, None))
if recovery is not None:
    nbtools.table(recovery, 3)
    nbtools.say("{}", cr.recovery_sentence(recovery))
    if recovery_sample.sampled:
        nbtools.say("{}.", recovery_sample.describe("The known-truth check"))
else:
    nbtools.say("No known-truth check: {}.", recovery_why_not)

# %% tags=["remove-cell"]
record_churn_reasons(results, reasons, incidence=incidence, segments=segments, segments_why_not=segments_why_not,
                     hazards=hazards, hazards_why_not=hazards_why_not, fine_gray=fine_gray,
                     fine_gray_why_not=fine_gray_why_not, recovery=recovery, recovery_why_not=recovery_why_not,
                     recovery_sample=recovery_sample)
ctx.finish()
