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
# # 08 · What bad service costs us
#
# **Question.** How much margin did service failures cost us last year, and which fix is worth most?
#
# **Method.** A person-month churn model (one row per customer and month at risk; the monthly churn hazard
# depends on the unresolved, proactive and channel-inconsistency contacts and the mean effort of the last three
# months, with tenure, contract and plan; a grouped-time proportional-hazards model, Prentice & Gloeckler 1978)
# is fitted on every person-month. For the customers' months in the last `window_months` months we predict the
# monthly hazard twice: with the drivers as they were, and with a lever fixed (g-computation, Robins 1986). The
# difference in each customer's chance of churning within the window, summed, is the churners avoided; the extra
# months of margin they would have paid (in the window and beyond it, up to `horizon_months` months from the
# window's start, discounted at `monthly_discount_rate`) is the margin retained. Each lever has a full scenario
# (the failure removed) and a realistic one (e.g. 10% fewer unresolved contacts); the joint scenario removes all
# service failures at once. 95% intervals come from a bootstrap over customers that refits the model each time.
#
# **Service-related churn, where the data says why customers left.** When the customers table records
# `end_reason` (notebook 06), the levers act on service-related churn only: the model above is fitted for leaving
# for service reasons, with leaving for any other reason ending the time at risk (a cause-specific hazard), and a
# second model of the same form gives the hazard of the other exits, which every scenario keeps as estimated.
# The churners avoided are then the fall in all exits: the service-related exits avoided less those of the
# customers kept who would still have left for price, a competitor or another reason within the window (the
# competing-risks arithmetic; the report says how many). Without reasons, or with `by_reason = False`, the levers
# act on all churn. The report states which was used.
# The E-value (VanderWeele & Ding 2017) says how strongly an unmeasured confounder would have to be tied to both
# the lever and churn to explain its effect away.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
shared_tables = ""  # set by a suite run: where its validated data and features are shared
as_of = ""  # end of the valuation window ("" = end of observation)
seed = 0
window_months = 12  # the valuation window: the last this many months (fewer when the data is shorter)
horizon_months = 60  # margin counted up to this many months from the window's start
monthly_discount_rate = 0.008
n_boot = 200  # bootstrap draws, each refitting the model
reduction_share = 0.10  # realistic: this share fewer unresolved contacts and inconsistency events
effort_points = 1.0  # realistic: effort lowered by this many CES points ...
effort_top_share = 0.10  # ... for this top share of the high-effort (above 4) months
follow_up_share = 0.10  # realistic: a proactive follow-up after this share of unresolved contacts
max_model_customers = 50_000  # the model uses a random sample this large (0 = everyone); totals are scaled up
by_reason = True  # where the data records churn reasons, the levers act on service-related churn only
proactive_campaign = ""  # the treatments campaign of proactive outreach set beside the follow-up lever (empty: by name)

# %% tags=["remove-cell"]
from IPython.display import display

from cxresearch.economics.value_at_stake import value_at_stake
from cxresearch.economics.value_at_stake_result import CAVEAT
from cxresearch.economics.value_at_stake_scenarios import Improvements
from cxresearch.errors import NotEstimableError
from cxresearch.plots.value_at_stake import plot_value_at_stake
from cxresearch.report import nbtools
from cxresearch.report.record.value_at_stake import record_value_at_stake
from cxresearch.truth.value_at_stake import hazard_truth_available, value_at_stake_recovery

# %% tags=["remove-cell"]
ctx = nbtools.start(
    "08_value_at_stake", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "window_months": window_months, "horizon_months": horizon_months,
     "monthly_discount_rate": monthly_discount_rate, "n_boot": n_boot, "reduction_share": reduction_share,
     "effort_points": effort_points, "effort_top_share": effort_top_share, "follow_up_share": follow_up_share,
     "max_model_customers": max_model_customers, "by_reason": by_reason, "proactive_campaign": proactive_campaign},
    shared_tables=shared_tables,
)
results = ctx.results
improvements = Improvements(reduction_share, effort_points, effort_top_share, follow_up_share)

# %% [markdown]
# ## The value at stake per lever

# %%
result, failure = None, None
try:
    result = value_at_stake(ctx.data, window_months=window_months, horizon_months=horizon_months,
                            monthly_discount_rate=monthly_discount_rate, improvements=improvements, n_boot=n_boot,
                            max_model_customers=max_model_customers or None, seed=seed, as_of=as_of or None,
                            by_reason=by_reason, proactive_campaign=proactive_campaign)
except NotEstimableError as err:
    failure = err
    nbtools.say("Not estimable from this data: {}", err.reason)
nbtools.say("{}", CAVEAT)
if result is not None:
    nbtools.say("{}", result.basis_sentence())
    display(result)

# %% [markdown]
# ## What bad service cost us, and what to fix first
# The joint scenario gives the margin lost to bad service in a year and the share of the year's churn it
# explains (population attributable fraction). The chart ranks the realistic improvements by the margin they
# would retain a year; where two intervals overlap, the order of those two levers is not established.

# %%
if result is not None:
    for key, estimate in result.to_estimates().items():
        nbtools.say("**{}**: {}", estimate.label, estimate.format(0 if "pct" not in key else 1))
    nbtools.say("{}", result.ranking_sentence())
    nbtools.show(plot_value_at_stake(result))
for analysis, reason, _ in (result.skipped if result is not None else []):
    nbtools.say("Skipped, {}: {}", analysis, reason)

# %% [markdown]
# ## The follow-up lever beside a randomised campaign
# Where the treatments table holds a randomised campaign of proactive outreach (one with "proactive" in its name,
# or the one named by `proactive_campaign`), its treated arm against its holdout measures what a follow-up does
# without the model's assumptions. Both are put in the same units: churners avoided within the campaign's horizon
# (12 months, or the follow-up every arm has) per 1,000 customers given one proactive follow-up. The model's
# figure is the follow-up lever's hazard model applied to the campaign's customers with one more proactive contact
# in the month of assignment; the two agree when the 95% interval of their difference contains 0. The campaign's
# call need not be the follow-up the lever values (after an unresolved contact, acting for three months through
# the trailing window), so a disagreement says the lever's model does not carry over to that campaign.

# %%
if result is not None and result.randomised is not None:
    display(result.randomised)
elif result is not None and result.randomised_skip is not None:
    nbtools.say("No randomised check of the follow-up lever: {}", result.randomised_skip[0])

# %% [markdown]
# ## Known truth (demo world only)
# On simulated data the true value of the same estimand is known: the simulator's own hazard model (its true
# coefficients, the latent mood averaged out) applied to the same person-months under the same scenarios. On
# service-related churn the truth moves only the simulator's service-related hazard (its share of the monthly
# hazard, `truth.json`'s churn reasons) and keeps the other exits' hazard as it was.

# %%
truth = nbtools.read_truth(data_source)
known = result is not None and hazard_truth_available(truth, result.basis)
recovery = value_at_stake_recovery(result, truth) if known else None
if recovery is not None:
    nbtools.table(recovery, 1)
else:
    nbtools.say("No simulator truth (or no estimate): the known-truth check only applies to the demo world.")

# %% tags=["remove-cell"]
record_value_at_stake(results, result, failure=failure, recovery=recovery)
ctx.finish()
