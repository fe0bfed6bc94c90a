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
# # 05 · What retention is worth
#
# **Question.** What is a customer worth over their lifetime, and is keeping one really several times cheaper
# than winning a new one (the oft-quoted "7x")?
#
# **Method.** Customer lifetime value (CLV) is the expected discounted margin of a new customer:
# the margin per month, times the chance of still being a customer that month (the Kaplan-Meier survival
# curve, extended beyond the observed horizon with a constant churn rate), discounted monthly. 95% intervals
# come from a bootstrap over customers. The cost of retaining a customer is what a retention contact costs
# divided by the share of contacted at-risk customers it actually keeps; we compare it with the acquisition
# cost per customer in the data and test the 7x claim against that ratio's interval.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
segment = "contract"
currency = "EUR"
monthly_discount_rate = 0.008
horizon_months = 60
n_boot = 200
retention_cost_per_contact = 25.0
retention_save_rate = 0.15
claim_multiple = 7.0

# %% tags=["remove-cell"]
from cxresearch import nbtools
from cxresearch.economics import clv_from_survival, retention_vs_acquisition
from cxresearch.features import lifetimes
from cxresearch.plots.economics import acquisition_vs_retention, clv_by_segment

ctx = nbtools.start(
    "05_retention_economics", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "segment": segment, "currency": currency,
     "monthly_discount_rate": monthly_discount_rate, "horizon_months": horizon_months, "n_boot": n_boot,
     "retention_cost_per_contact": retention_cost_per_contact, "retention_save_rate": retention_save_rate},
)
data, results = ctx.data, ctx.results
lt = lifetimes(data)
clv_args = dict(monthly_discount_rate=monthly_discount_rate, horizon_months=horizon_months, n_boot=n_boot,
                seed=seed, currency=currency, entry="entry_months")
clv_all = clv_from_survival(lt, **clv_args)
clv_seg = clv_from_survival(lt, group=segment, **clv_args) if segment in lt else None

# %% [markdown]
# ## Lifetime value of a new customer

# %%
nbtools.table(clv_all.summary(), 2)
if clv_seg is not None:
    nbtools.show(clv_by_segment(clv_seg, title=f"Lifetime value of a new customer by {segment} ({currency})"))
    nbtools.table(clv_seg.summary(), 2)
for note in clv_all.notes:
    nbtools.say("*Note:* {}", note)

# %% [markdown]
# ## Retention vs acquisition
# The save rate should be *incremental*: customers kept who would otherwise have left, measured against a
# control group. An offer-acceptance rate overstates it and makes retention look cheaper than it is.

# %%
econ = retention_vs_acquisition(
    lt, retention_cost_per_contact=retention_cost_per_contact, retention_acceptance_rate=retention_save_rate,
    clv=clv_all, claim_multiple=claim_multiple, **clv_args,
)
nbtools.show(acquisition_vs_retention(econ, title=f"Cost to acquire vs cost to retain a customer ({currency})"))
nbtools.table(econ.summary(), 2)
for note in econ.notes:
    nbtools.say("*Note:* {}", note)

# %% tags=["remove-cell"]
if clv_seg is not None:
    results.estimates.update(clv_seg.to_estimates())
    results.add_table(f"clv_by_{segment}", clv_seg.summary())
else:
    results.skip(f"CLV by {segment}", f"the data has no {segment} column")
results.estimates.update(econ.to_estimates())
results.add_table("retention_vs_acquisition", econ.summary())
results.findings.append(
    f"A new customer is worth {econ.clv.format(0)} over {horizon_months} months; acquiring one costs "
    f"{econ.cost_ratio.format(1)} times what retaining one does, so the {claim_multiple:g}x claim is "
    f"{econ.claim_verdict} by these inputs."
)
results.warnings.extend([*clv_all.notes, *econ.notes])
ctx.finish()
