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
# # 04 · Satisfaction, loyalty and effort
#
# **Question.** How satisfied and loyal are customers (NPS, CSAT), how much effort does service cost them
# (CES), and do customers at each level actually churn differently?
#
# **Method.** Each metric over the responses of the `lookback_months` before `as_of`, with a 95% confidence
# interval: NPS (% promoters 9-10 minus % detractors 0-6, multinomial variance), CSAT as % satisfied (4-5,
# Wilson interval) and mean, CES as mean effort and % high effort (5-7). Then churn in the `horizon_months`
# after `as_of` by each customer's latest score.

# %% tags=["parameters"]
data_source = "../data/demo"
results_dir = "results"
as_of = ""
seed = 0
lookback_months = 12
horizon_months = 3
segment = "contract"

# %% tags=["remove-cell"]
import pandas as pd

from cxresearch import nbtools
from cxresearch.features import snapshot
from cxresearch.loyalty import ces, churn_by_level, compare_nps, csat, nps
from cxresearch.plots.loyalty import plot_churn_by_level, plot_nps_composition

ctx = nbtools.start(
    "04_loyalty_metrics", data_source, results_dir,
    {"as_of": as_of, "seed": seed, "lookback_months": lookback_months, "horizon_months": horizon_months,
     "segment": segment},
)
data, results = ctx.data, ctx.results
snap = snapshot(data, as_of=as_of, horizon_months=horizon_months)
cutoff = pd.Timestamp(snap.attrs["as_of"])
recent = data.surveys[
    (data.surveys["timestamp"] < cutoff) & (data.surveys["timestamp"] >= cutoff - pd.DateOffset(months=lookback_months))
]
scores = {name: recent.loc[recent["instrument"] == name, "score"] for name in ("nps", "csat", "ces")}

# %% [markdown]
# ## The headline metrics

# %%
metrics = {name: fn(scores[name]) for name, fn in (("nps", nps), ("csat", csat), ("ces", ces)) if len(scores[name])}
for name, result in metrics.items():
    nbtools.say("**{}** ({} responses in the {} months before {}):", name.upper(), f"{result.n:,}",
                lookback_months, cutoff.date())
    nbtools.table(result.summary(), 1)

# %% [markdown]
# ## NPS by segment

# %%
if "nps" in metrics and segment in data.customers:
    seg_of = data.customers.set_index("customer_id")[segment]
    nps_by_segment = {
        str(level): nps(group["score"])
        for level, group in recent[recent["instrument"] == "nps"].groupby(recent["customer_id"].map(seg_of))
        if len(group) >= 30
    }
    nbtools.show(plot_nps_composition(nps_by_segment, title=f"NPS by {segment}"))

# %% [markdown]
# ## Do scores go with churn?
# Churn within the next months among customers active at `as_of`, by their latest score (customers who never
# answered are not in these charts).

# %%
by_nps = churn_by_level(snap, "nps_last") if snap["nps_last"].notna().any() else None
by_ces = churn_by_level(snap, "ces_last") if snap["ces_last"].notna().any() else None
if by_nps is not None:
    nbtools.show(plot_churn_by_level(by_nps, window_months=horizon_months, title="Churn by latest NPS group"))
if by_ces is not None:
    nbtools.show(plot_churn_by_level(by_ces, window_months=horizon_months,
                                     title="Churn by latest effort score (CES, 7 = highest effort)"))
active = snap[snap["active"]]
gap = compare_nps(active.loc[active["churned"], "nps_last"].dropna(), active.loc[~active["churned"], "nps_last"].dropna())
nbtools.say("Latest NPS of customers who went on to churn minus those who stayed: **{}** points (95% CI {} to {}).",
            f"{gap.difference:.1f}", f"{gap.ci_low:.1f}", f"{gap.ci_high:.1f}")

# %% tags=["remove-cell"]
for name, result in metrics.items():
    results.estimates.update(result.to_estimates(name))
for name in ("nps", "csat", "ces"):
    if name not in metrics:
        results.skip(f"{name.upper()} metric", f"no {name.upper()} responses in the {lookback_months} months before as_of")
if by_nps is not None:
    results.add_table("churn_by_nps_group", by_nps)
if by_ces is not None:
    results.add_table("churn_by_ces", by_ces)
results.estimates.update(gap.to_estimates("nps_gap_churned_vs_stayed"))
if "nps" in metrics:
    results.findings.append(f"NPS is {results.estimates['nps_score'].format(1)} over the last {lookback_months} months.")
if "ces" in metrics:
    results.findings.append(
        f"{results.estimates['ces_high_effort_pct'].format(1)} of service contacts were high effort (CES 5-7)."
    )
ctx.finish()
