"""Randomised campaigns in the simulated world: a proactive follow-up programme and a retention offer, each with a
randomised holdout and heterogeneous true effects on the monthly churn hazard (`simulate(..., campaigns=True)`).

Each campaign starts on the first day of one month t_c (a share of the window) and takes the customers at risk
that month (active, past their signup month); the retention offer only those whose observed risk (below) is in
the top `eligible_share`. Each eligible customer is assigned to `treatment` with probability `treated_share`,
else to `control` (the holdout). A treated customer's monthly log hazard (cloglog) gains

    tau_i = beta_0 + beta_effort (effort_i - 4) + beta_unresolved unresolved_i + beta_new [tenure_i <= 12]
            + beta_loyal [tenure_i >= 25] + beta_plan[plan_i]

in months t_c .. t_c + effect_months - 1. Every trait is observed and written with the assignment as a
`covariate_*` column: effort is the mean CES of the customer's answered post-contact surveys before t_c (4, the
scale's middle, without any), unresolved the reactive contacts not resolved at first contact in the 3 months
before t_c, tenure the months since the signup month. The offer's coefficients make it futile or harmful where
churn risk is highest (high effort, unresolved problems, the first year: a discount does not fix them and reminds
the customer to shop around) and for long-standing premium customers ("sleeping dogs"), so the riskiest customers
are not the most persuadable (Ascarza 2018).

Observed risk: the monthly log hazard the observed traits give, INTERCEPT + tenure band + contract + plan +
sum_X b_X X (the window counts' total effects) + b_C (effort - 4).

Truth. Per assigned customer, `tau_i` and the parts of the log hazard without treatment at t_c: intercept and
segments, tenure, the trailing window's terms, and latent mood z; with the window term everyone at risk has on
average on the hazard's scale, log mean exp(w) (the mean of the log would understate churn: the hazard is convex
in the window)
(what a window drifts to as it forgets the months before t_c), `cxresearch.truth.campaigns` turns them into the
true effect on churn within a horizon and on the months retained.

Randomness: assignments are drawn from a generator of their own (seeded by the world's seed and
`CAMPAIGN_STREAM`), and a world without campaigns never calls this module: `campaigns=False` gives value for value
the world it gave before campaigns existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.data.simulate_arrays import id_text
from cxresearch.data.simulate_months import AtRisk, Hazard, Journeys, Population
from cxresearch.data.simulate_parameters import (
    CONTRACT_SHARE,
    DRIVER_LOG_HR,
    INTERCEPT,
    MOOD_LOG_HR,
    MOOD_SHIFT,
    PLAN_SHARE,
    PRE_HISTORY_MONTHS,
)

#: Second seed word of the campaigns' own random stream ("campaigns" in ASCII).
CAMPAIGN_STREAM = int.from_bytes(b"campaigns", "big")
#: Fewest months a world with campaigns needs (each campaign starts after 3 months of history).
MIN_CAMPAIGN_MONTHS = 8
#: What one unit of each effect coefficient is.
EFFECT_UNITS: dict[str, str] = {
    "intercept": "log hazard ratio per month of a treated basic customer with tenure 13-24, effort 4 and no "
                 "unresolved contacts",
    "effort": "one CES point (1-7, 7 = high effort) of the mean answered CES before assignment above 4",
    "unresolved_90d": "one reactive contact not resolved at first contact in the 3 months before assignment",
    "tenure_new": "tenure at assignment of at most 12 months instead of 13-24",
    "tenure_loyal": "tenure at assignment of 25 months or more instead of 13-24",
    "plan[standard]": "plan standard instead of basic",
    "plan[premium]": "plan premium instead of basic",
}


def campaigns_for(months: int, requested: bool | None = None) -> tuple[bool, str]:
    """Whether a world of `months` months runs the campaigns, and a note saying why not when it drops them.

    `requested` None runs them when the world is long enough and otherwise drops them with the note; True insists
    (ValueError on a world shorter than `MIN_CAMPAIGN_MONTHS`); False leaves them out without a note.
    """
    if requested is False:
        return False, ""
    if months >= MIN_CAMPAIGN_MONTHS:
        return True, ""
    if requested:
        raise ValueError(f"campaigns need at least {MIN_CAMPAIGN_MONTHS} months of observation, not {months}")
    return False, (f"No randomised campaigns: they need at least {MIN_CAMPAIGN_MONTHS} months of observation (each "
                   f"starts after 3 months of history) and this world has {months}, so it has no treatments table. "
                   f"Simulate {MIN_CAMPAIGN_MONTHS} months or more for them.")


@dataclass(frozen=True)
class CampaignDesign:
    """One campaign: name, start (share of the window), effect duration (months), share treated, cost per treated
    customer (currency), share of the riskiest at-risk customers eligible (1 = all), and the effect's log hazard
    ratio coefficients (`EFFECT_UNITS`)."""

    name: str
    description: str
    start_share: float
    effect_months: int
    treated_share: float
    cost: float
    eligible_share: float
    log_hr: dict[str, float]


CAMPAIGNS: tuple[CampaignDesign, ...] = (
    CampaignDesign(
        "proactive_follow_up", "a proactive call to every active customer, to check that everything works",
        start_share=1 / 6, effect_months=6, treated_share=0.5, cost=2.0, eligible_share=1.0,
        log_hr={"intercept": -0.20, "effort": -0.15, "unresolved_90d": -0.25, "tenure_new": -0.05,
                "tenure_loyal": 0.25, "plan[standard]": 0.0, "plan[premium]": -0.10}),
    CampaignDesign(
        "retention_offer", "a discount offered to the customers whose observed churn risk is highest",
        start_share=1 / 2, effect_months=12, treated_share=0.8, cost=10.0, eligible_share=0.5,
        log_hr={"intercept": -0.70, "effort": 0.50, "unresolved_90d": 0.40, "tenure_new": 0.20,
                "tenure_loyal": 0.40, "plan[standard]": 0.10, "plan[premium]": 0.30}),
)


def campaign_log_hr(design: CampaignDesign, traits: pd.DataFrame) -> np.ndarray:
    """The true log hazard ratio per month of treating each customer (rows of `traits`: effort, unresolved_90d,
    tenure_months, plan, as in the treatments table's covariates)."""
    b = design.log_hr
    plan = traits["plan"].astype(str).to_numpy()
    return (b["intercept"] + b["effort"] * (traits["effort"].to_numpy(float) - 4.0)
            + b["unresolved_90d"] * traits["unresolved_90d"].to_numpy(float)
            + b["tenure_new"] * (traits["tenure_months"].to_numpy(float) <= 12)
            + b["tenure_loyal"] * (traits["tenure_months"].to_numpy(float) >= 25)
            + b["plan[standard]"] * (plan == "standard") + b["plan[premium]"] * (plan == "premium"))


@dataclass
class Assignment:
    """One campaign's assigned customers: indices, month of assignment, treated flags, traits at assignment
    (covariates), true log hazard ratio, and the log hazard's parts at assignment: intercept and segments,
    window terms (and log mean exp of them over everyone at risk), latent mood z."""

    design: CampaignDesign
    month: int
    cust: np.ndarray
    treated: np.ndarray
    traits: pd.DataFrame
    log_hr: np.ndarray
    base: np.ndarray
    window: np.ndarray
    window_mean: float
    mood: np.ndarray
    n_at_risk: int = 0


class CampaignRunner:
    """The `campaigns` step of `simulate_months`: assigns each campaign in its month and sets the treated
    customers' log hazard shift while their effect lasts."""

    def __init__(self, seed: int, pop: Population, hazard: Hazard, months: int,
                 designs: tuple[CampaignDesign, ...] = CAMPAIGNS, stream: tuple[int, ...] = ()) -> None:
        campaigns_for(months, requested=True)  # a world too short for them is refused
        # `stream`: a chunk's number in a world simulated in chunks, () for a whole world
        self.rng = np.random.default_rng([seed, CAMPAIGN_STREAM, *stream])
        self.pop, self.hazard = pop, hazard
        self.designs = designs
        self.starts = {d.name: int(months * d.start_share) for d in designs}
        self.assignments: list[Assignment] = []

    def allocation(self) -> dict[str, dict[str, float]]:
        """Each campaign's intended arm shares (for the sample-ratio test; written to dataset.json)."""
        return {d.name: {"treatment": d.treated_share, "control": round(1 - d.treated_share, 10)}
                for d in self.designs}

    def __call__(self, state: Journeys, at: AtRisk, t: int) -> None:
        """Assign the campaigns starting in month t, then set this month's log hazard shifts."""
        for design in self.designs:
            if self.starts[design.name] == t:
                self.assignments.append(self._assign(design, state, at, t))
        shift = np.zeros(len(state.alive))
        for a in self.assignments:
            if t < a.month + a.design.effect_months:
                shift[a.cust[a.treated]] += a.log_hr[a.treated]
        state.shift = shift

    def _assign(self, design: CampaignDesign, state: Journeys, at: AtRisk, t: int) -> Assignment:
        """Eligible customers at risk in month t, randomised, with their traits, effects and hazards."""
        traits = self._traits(state, at)
        total = {k: self.hazard.direct[k] + MOOD_LOG_HR * MOOD_SHIFT[k] for k in DRIVER_LOG_HR}
        counts = sum(total[k] * at.window[k] for k in DRIVER_LOG_HR)
        risk = self._static(at) + counts + self.hazard.ces_log_hr * (traits["effort"].to_numpy() - 4.0)
        eligible = risk >= np.quantile(risk, 1.0 - design.eligible_share)
        treated = self.rng.random(int(eligible.sum())) < design.treated_share
        traits = traits[eligible].reset_index(drop=True)
        window = counts + self.hazard.ces_log_hr * (at.ces_mean - 4.0)  # with the experienced effort
        base = INTERCEPT + self.hazard.contract_hr[at.idx] + self.hazard.plan_hr[at.idx]
        return Assignment(design, t, at.idx[eligible], treated, traits, campaign_log_hr(design, traits),
                          base[eligible], window[eligible], _log_mean_exp(window), state.z[at.idx[eligible]],
                          len(at.idx))

    def _static(self, at: AtRisk) -> np.ndarray:
        """Monthly log hazard of the customers at risk without contacts and mood: intercept, tenure, segments."""
        h, idx = self.hazard, at.idx
        return INTERCEPT + h.tenure_hr[at.tenure] + h.contract_hr[idx] + h.plan_hr[idx]

    def _traits(self, state: Journeys, at: AtRisk) -> pd.DataFrame:
        """Traits observed at assignment: tenure, plan, contract, margin, answered surveys and their mean CES
        (4 without any), and the trailing window's reactive and unresolved contacts."""
        n, idx = len(state.alive), at.idx
        answered, ces_sum = np.zeros(n), np.zeros(n)
        for chunk in state.reactive:
            answered += np.bincount(chunk["cust"], weights=chunk["responded"], minlength=n)
            ces_sum += np.bincount(chunk["cust"], weights=chunk["ces"] * chunk["responded"], minlength=n)
        effort = np.divide(ces_sum[idx], answered[idx], out=np.full(len(idx), 4.0), where=answered[idx] > 0)
        return pd.DataFrame({
            "tenure_months": at.tenure.astype(float),
            "plan": np.array(tuple(PLAN_SHARE))[self.pop.plan[idx]],
            "contract": np.array(tuple(CONTRACT_SHARE))[self.pop.contract[idx]],
            "monthly_margin": self.pop.margin[idx],
            "surveys_answered": answered[idx],
            "effort": np.round(effort, 3),
            "reactive_90d": at.window["reactive"].astype(float),
            "unresolved_90d": at.window["unresolved"].astype(float),
        })


def _log_mean_exp(x: np.ndarray, weights: np.ndarray | None = None) -> float:
    """log of the (weighted) mean of exp(x): the window term whose hazard is the average hazard."""
    top = float(np.max(x))
    return top + float(np.log(np.average(np.exp(np.asarray(x) - top), weights=weights)))


def treatments_table(assignments: list[Assignment], bounds: np.ndarray, width: int, first: int = 0) -> pd.DataFrame:
    """The canonical treatments table: customer_id, campaign, assigned_at (first day of the campaign's month),
    arm, cost (currency, treated customers only; 0 for the holdout) and the traits as `covariate_*` columns;
    customer indices start at `first` (a chunk of a larger world)."""
    frames = []
    for a in assignments:
        frames.append(pd.DataFrame({
            "customer_id": id_text("C", a.cust + first, width), "campaign": a.design.name,
            "assigned_at": pd.Timestamp(bounds[a.month + PRE_HISTORY_MONTHS]),
            "arm": np.where(a.treated, "treatment", "control"), "cost": np.where(a.treated, a.design.cost, 0.0),
            **{f"covariate_{c}": a.traits[c].to_numpy() for c in a.traits.columns},
        }))
    return pd.concat(frames, ignore_index=True)


def campaign_truth(assignments: list[Assignment], width: int, first: int = 0) -> dict:
    """`truth["campaigns"]`: per campaign its design, the effect's coefficients (log hazard ratio per month,
    `EFFECT_UNITS`) and per assigned customer the true log hazard ratio and the parts of the log hazard without
    treatment (`cxresearch.truth.campaigns` gives the effects on churn within a horizon); customer indices
    start at `first`."""
    out = {}
    for a in assignments:
        d = a.design
        out[d.name] = {
            "description": d.description, "month": a.month, "effect_months": d.effect_months,
            "treated_share": d.treated_share, "cost": d.cost, "eligible_share": d.eligible_share,
            "eligible": "customers at risk in the campaign's month" + (
                "" if d.eligible_share >= 1 else f" whose observed risk is in the top {d.eligible_share:.0%}"),
            "scale": "log hazard ratio per month (cloglog) while the effect lasts",
            "coefficients": {k: {"value": v, "per": EFFECT_UNITS[k]} for k, v in d.log_hr.items()},
            "mean_log_hazard_ratio": float(a.log_hr.mean()),
            "share_harmed": float((a.log_hr > 0).mean()),
            "window_mean": a.window_mean,
            "customers": {
                "customer_id": list(id_text("C", a.cust + first, width)),
                "treated": a.treated.astype(int).tolist(),
                "log_hazard_ratio": np.round(a.log_hr, 6).tolist(),
                "tenure_months": a.traits["tenure_months"].astype(int).tolist(),
                "base_log_hazard": np.round(a.base, 6).tolist(),
                "window_log_hazard": np.round(a.window, 6).tolist(),
                "mood": np.round(a.mood, 6).tolist(),
                "monthly_margin": a.traits["monthly_margin"].tolist(),
            },
        }
    return out


def merge_campaign_truths(parts: list[tuple[dict, dict[str, int]]]) -> dict:
    """One world's `truth["campaigns"]` from its chunks' (campaign truth, customers at risk per campaign): means
    weighted by the customers they are over, per-customer lists joined in chunk order."""
    out = {}
    for name in parts[0][0]:
        chunks = [(truth[name], at_risk[name]) for truth, at_risk in parts]
        eligible = [len(t["customers"]["customer_id"]) for t, _ in chunks]
        merged = dict(chunks[0][0])
        for key in ("mean_log_hazard_ratio", "share_harmed"):
            merged[key] = float(np.average([t[key] for t, _ in chunks], weights=eligible))
        merged["window_mean"] = _log_mean_exp(np.array([t["window_mean"] for t, _ in chunks]),
                                              np.array([n for _, n in chunks]))
        merged["customers"] = {k: [v for t, _ in chunks for v in t["customers"][k]] for k in merged["customers"]}
        out[name] = merged
    return out
