"""Everything the experiments notebook shows for one campaign: the randomisation checks, average effects overall
and by segment, the lifetime effect (RMST) for churn campaigns, and per treated arm the uplift models, their
Qini curves and the targeting policies on a held-out half."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from cxresearch.data.schema import CONTROL_ARM, CXData
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.balance import BalanceResult, SRMResult, covariate_balance, sample_ratio_mismatch
from cxresearch.experiments.campaigns import CampaignData, campaign_data, campaigns
from cxresearch.experiments.effects import ALL, AverageEffects, average_effects
from cxresearch.experiments.rmst import RMSTEffects, rmst_difference
from cxresearch.experiments.targeting import TargetingResult, targeting_experiment

#: Fewest customers per arm the uplift models are fitted on (half of them are held out).
MIN_UPLIFT_CUSTOMERS = 200


@dataclass
class Skip:
    """An analysis left out for one campaign: what, why, and the missing input (`Results.skip` vocabulary)."""

    analysis: str
    reason: str
    needs: str = ""


@dataclass
class CampaignAnalysis:
    """One campaign's checks, effects and targeting (see `analyse_campaign`)."""

    data: CampaignData
    srm: SRMResult
    balance: BalanceResult
    effects: list[AverageEffects]
    segment: str | None
    rmst: RMSTEffects | None
    targeting: list[TargetingResult]
    skipped: list[Skip] = field(default_factory=list)

    @property
    def campaign(self) -> str:
        """The campaign's name."""
        return self.data.campaign

    def effects_table(self) -> pd.DataFrame:
        """Every effect: one row per outcome, segment and arm (differences in outcome units, 95% CIs)."""
        return pd.concat([e.table.assign(outcome=e.outcome, kind=e.kind) for e in self.effects], ignore_index=True)

    def qini_table(self) -> pd.DataFrame:
        """Qini coefficient of each arm's uplift models on the held-out half, with 95% CIs."""
        frames = [t.summary().assign(arm=t.arm, outcome=t.outcome) for t in self.targeting]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def policy_table(self) -> pd.DataFrame:
        """Incremental profit of each targeting policy per arm on the held-out half, with 95% CIs, and the cost
        per contact it is net of with where that cost came from."""
        frames = [t.policies.summary().assign(arm=t.arm, cost_per_contact=t.policies.cost,
                                              cost_source=t.policies.cost_source) for t in self.targeting]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def summary(self) -> pd.DataFrame:
        """Overall effect of each arm on each outcome, with 95% CIs."""
        table = self.effects_table()
        return table[table["segment"] == ALL].drop(columns="segment").reset_index(drop=True)

    def _repr_html_(self) -> str:
        return f"<b>Campaign {self.campaign}</b>" + self.summary().to_html(index=False)


def _effects(cd: CampaignData, frame: pd.DataFrame, segment: str | None) -> list[AverageEffects]:
    """Average effects of every arm on every outcome (and the money value), overall and by `segment`."""
    names = cd.outcomes + ([cd.value] if cd.kind == "churn" else [])
    seg = frame[segment] if segment else None
    return [average_effects(frame[n], frame["arm"], segment=seg, name=n) for n in names]


def _segment(cd: CampaignData, segment: str) -> str | None:
    """The segment column asked for when the frame has it, else the first label covariate, else None."""
    if segment:
        return segment if segment in cd.frame else None
    labels = [c for c in cd.covariates if not pd.api.types.is_numeric_dtype(cd.frame[c])]
    return labels[0] if labels else None


#: Where a campaign arm's cost per contact came from (`arm_cost`), as the policy tables say it.
COST_FROM_DATA = "from the treatments table's cost column"
COST_ASSUMED = "assumed (the notebook's cost_per_contact; the treatments table records no cost)"


def arm_cost(data: CXData, campaign: str, arm: str, default: float) -> tuple[float, str]:
    """Cost of treating one customer of `arm` (currency) and where it came from: the mean of the treatments
    table's `cost` for the arm's customers when it records one (`COST_FROM_DATA`), else `default`
    (`COST_ASSUMED`)."""
    t = data.treatments
    cost = t.loc[(t["campaign"] == campaign) & (t["arm"] == arm), "cost"].dropna() if "cost" in t else ()
    return (float(cost.mean()), COST_FROM_DATA) if len(cost) else (default, COST_ASSUMED)


def analyse_campaign(
    data: CXData, campaign: str, *, cost_per_contact: float, segment: str = "", horizon_months: float = 12.0,
    uplift_outcome: str = "", value_outcome: str = "", n_boot: int = 200, seed: int = 0, folds: int = 5,
    holdout: float = 0.5, learner: BaseEstimator | None = None, allocation: Mapping[str, float] | None = None,
) -> CampaignAnalysis:
    """Randomisation checks, average effects, lifetime effect and uplift targeting of one campaign.

    Parameters
    ----------
    data : CXData
        Validated data with a treatments table.
    campaign : str
        The campaign.
    cost_per_contact : float
        Cost of treating one customer (currency), used by the policy comparison for arms whose cost the
        treatments table does not record (`arm_cost`).
    segment : str
        Column to break the effects down by (a customer segment or covariate); "" = the first label covariate.
    horizon_months, uplift_outcome, value_outcome : float, str, str
        See `campaigns.campaign_data`.
    n_boot, seed, folds, holdout : int, int, int, float
        Bootstrap resamples, seed, cross-fitting folds and held-out share of the uplift models.
    learner : scikit-learn estimator, optional
        Base learner of the uplift models (default gradient-boosted trees).
    allocation : mapping of str to float, optional
        Intended share of each arm for the sample-ratio test; when omitted, the campaign's entry of the data's
        `campaign_allocation` metadata (dataset.json) if it has one, else equal arms.

    Returns
    -------
    CampaignAnalysis
        Sample-ratio test against the intended allocation (all assigned customers), SMD balance of the
        covariates, effects with 95% CIs (Newcombe for 0/1 outcomes, Welch otherwise), the RMST difference for
        churn campaigns, and per treated arm the T- and DR-learners fitted on one part and judged on the
        held-out part (Qini, policies); what could not be run is in `skipped`.
    """
    cd = campaign_data(data, campaign, horizon_months=horizon_months, uplift_outcome=uplift_outcome,
                       value_outcome=value_outcome)
    frame = cd.frame[cd.frame["followed"]].reset_index(drop=True) if cd.kind == "churn" else cd.frame
    seg = _segment(cd, segment)
    skipped = [] if seg or not segment else [Skip(f"effects by {segment}", f"the data has no {segment} column",
                                                   "segments")]
    rmst = (rmst_difference(cd.frame["duration"], cd.frame["event"], cd.frame["arm"], cd.horizon)
            if cd.kind == "churn" else None)
    targeting = []
    for arm in cd.arms:
        counts = frame["arm"].value_counts()
        smallest = int(min(counts.get(arm, 0), counts.get(CONTROL_ARM, 0)))
        if cd.uplift_outcome is None or cd.value is None:
            missing = "a 0/1 outcome" if cd.uplift_outcome is None else "an outcome in money"
            skipped.append(Skip(f"uplift targeting: {arm}", f"the campaign has no {missing} (outcome_<name>)", ""))
        elif smallest < MIN_UPLIFT_CUSTOMERS:
            skipped.append(Skip(f"uplift targeting: {arm}", f"{smallest} customers in the smaller arm; the models "
                                f"need at least {MIN_UPLIFT_CUSTOMERS}", "more customers"))
        else:
            cost, source = arm_cost(data, campaign, arm, cost_per_contact)
            targeting.append(targeting_experiment(
                frame, arm=arm, outcome=cd.uplift_outcome, value=cd.value, covariates=cd.covariates, cost=cost,
                risk=cd.risk, holdout=holdout, learner=learner, folds=folds, seed=seed, n_boot=n_boot,
                currency=data.currency, cost_source=source))
    intended = allocation or data.metadata.get("campaign_allocation", {}).get(campaign)
    srm = sample_ratio_mismatch(cd.frame["arm"], intended)
    balance = covariate_balance(cd.frame[cd.covariates], cd.frame["arm"])
    return CampaignAnalysis(cd, srm, balance, _effects(cd, frame, seg), seg, rmst, targeting, skipped)


def parse_allocation(text: str) -> dict[str, float] | None:
    """`"treatment:9, control:1"` as {arm: weight}; None for "" (equal arms)."""
    if not text.strip():
        return None
    pairs = [part.split(":") for part in text.split(",")]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"allocation must read arm:weight, arm:weight (e.g. treatment:9, control:1), not {text!r}")
    return {arm.strip(): float(weight) for arm, weight in pairs}


@dataclass
class ExperimentsResult:
    """Every campaign that could be analysed, and what could not be (no treatments table, a campaign with one
    arm or without control, an analysis left out for one campaign)."""

    campaigns: list[CampaignAnalysis]
    skipped: list[Skip]

    def summary(self) -> pd.DataFrame:
        """Overall effects of every campaign's arms on every outcome, with 95% CIs."""
        frames = [c.summary().assign(campaign=c.campaign) for c in self.campaigns]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _repr_html_(self) -> str:
        skipped = "".join(f"<li>{s.analysis}: {s.reason}</li>" for s in self.skipped)
        return (f"<b>{len(self.campaigns)} campaign(s) analysed</b>" + self.summary().to_html(index=False)
                + (f"<ul>{skipped}</ul>" if skipped else ""))


def analyse_experiments(data: CXData, *, threads: int = 1, **options: Any) -> ExperimentsResult:
    """`analyse_campaign` for every campaign of `data`; campaigns that cannot be compared, or data without
    treatments, become skips with the reason (`options` are `analyse_campaign`'s keywords). The models use at
    most `threads` OpenMP threads: on a shared machine larger pools oversubscribe the cores."""
    with threadpool_limits(limits=threads, user_api="openmp"):
        return _analyse_all(data, options)


def _analyse_all(data: CXData, options: dict[str, Any]) -> ExperimentsResult:
    """Every campaign analysed or skipped with its reason."""
    try:
        names = campaigns(data)
    except NotEstimableError as err:
        return ExperimentsResult([], [Skip("experiments", err.reason, err.needs)])
    done, skipped = [], []
    for name in names:
        try:
            analysis = analyse_campaign(data, name, **options)
        except NotEstimableError as err:
            skipped.append(Skip(f"campaign {name}", err.reason, err.needs))
            continue
        done.append(analysis)
        skipped += [Skip(f"campaign {name}: {s.analysis}", s.reason, s.needs) for s in analysis.skipped]
    return ExperimentsResult(done, skipped)
