"""Per-customer save rates from a randomised retention campaign, for the customers a next campaign would contact.

The model: a cross-fitted T-learner (`uplift.fit_t_learner`) of churn within the horizon after assignment, on each
randomised customer's state the day she was assigned (the snapshot columns the churn model reads, from
`features.snapshot` at the assignment date). Her save rate is u(x) = 1 - mu1(x) / mu0(x), the share of her
would-be churn the offer prevents: the per-customer analogue of the measured save rate (1 - risk ratio, which
is what a T-learner's ratio averages to when weighted by mu0). It is at most 1 and negative where the offer
pushes customers away. A ratio, not a difference, so that it carries over to another horizon's churn risk (that
of the campaign economics) as the measured save rate does.

Applied to customers now (their snapshot at `as_of`), the model is trusted only within the experiment's support
(`Support`): customers whose churn risk, scored by one churn model on both, lies within the central 98% of the
randomised customers' risk at assignment, and whose every numeric feature lies within the range and every
category among the levels the randomised customers had. A campaign randomised among its riskiest customers
(the simulator's retention offer: the top half) says nothing measured about the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.churn.columns import DEFAULT_CATEGORICAL, default_features
from cxresearch.data.schema import CONTROL_ARM, CXData
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.analysis import MIN_UPLIFT_CUSTOMERS
from cxresearch.experiments.campaigns import CHURN, known_campaign_data
from cxresearch.experiments.uplift import UpliftModel, fit_t_learner
from cxresearch.features.snapshot import snapshot
from cxresearch.stats.sampling import Sample, sample_customers

#: Quantiles of the randomised customers' churn risk that bound the experiment's support.
SUPPORT_QUANTILES = (0.01, 0.99)

#: Scores a snapshot's rows with a churn model: churn probability (0-1) per row.
Scorer = Callable[[pd.DataFrame], np.ndarray]


def effect_features(snapshot_frame: pd.DataFrame) -> list[str]:
    """What the save-rate model reads: the churn model's default columns, the customer's mean effort score over
    her whole history and her monthly margin, where the snapshot has them."""
    wanted = [*default_features(snapshot_frame), "ces_mean", "monthly_margin", *DEFAULT_CATEGORICAL]
    return [c for c in wanted if c in snapshot_frame]


@dataclass(frozen=True)
class Support:
    """Customers like those randomised: churn risk (0-1) within [risk_low, risk_high], numeric features within
    `ranges`, categories among `levels`."""

    risk_low: float
    risk_high: float
    ranges: dict[str, tuple[float, float]]
    levels: dict[str, list[str]]

    def inside(self, frame: pd.DataFrame, risk: np.ndarray) -> np.ndarray:
        """Whether each row (a snapshot's customer with churn risk `risk`) lies in the support; a missing feature
        value does not take a customer out."""
        ok = (np.asarray(risk) >= self.risk_low) & (np.asarray(risk) <= self.risk_high)
        for c, (low, high) in self.ranges.items():
            x = frame[c].to_numpy(float)
            ok &= np.isnan(x) | ((x >= low) & (x <= high))
        for c, seen in self.levels.items():
            ok &= frame[c].isna().to_numpy() | frame[c].astype(str).isin(seen).to_numpy()
        return ok

    def rule(self) -> str:
        """The support in words."""
        ranges = ", ".join(f"{c} {low:.3g}-{high:.3g}" for c, (low, high) in self.ranges.items())
        return (f"churn risk {self.risk_low:.1%}-{self.risk_high:.1%}, the central "
                f"{SUPPORT_QUANTILES[1] - SUPPORT_QUANTILES[0]:.0%} of the risk of the randomised customers when "
                f"assigned; {ranges}; categories they had")


def design(frame: pd.DataFrame, levels: dict[str, list[str]]) -> np.ndarray:
    """Numeric columns as floats (missing kept: the trees route it) and 0/1 columns for every level of each
    categorical column in `levels` but its first; the same columns for any frame."""
    numeric = [c for c in frame.columns if c not in levels]
    dummies = [(frame[c].astype(str) == level).to_numpy(float)[:, None] for c, seen in levels.items()
               for level in seen[1:]]
    return np.hstack([frame[numeric].to_numpy(float), *dummies]) if dummies else frame[numeric].to_numpy(float)


def _save_rate(model: UpliftModel, X: np.ndarray) -> np.ndarray:
    """1 - mu1 / mu0 per row of X: the share of her churn within the horizon a treatment prevents."""
    return 1 - model.predict_treated(X) / model.predict_baseline(X)


@dataclass
class CampaignSaveRates:
    """A retention campaign's per-customer save-rate model (`fit_campaign_save_rates`).

    `fitted`: one row per randomised customer followed `horizon` months: customer_id, arm, churned (0/1),
    churn_without (predicted churn without the offer) and save_rate, both out of fold. `X`, `treated` and `y` are
    what the model was fitted on (for `resample`).
    """

    campaign: str
    horizon: float
    features: list[str]
    levels: dict[str, list[str]]
    model: UpliftModel
    fitted: pd.DataFrame
    support: Support
    X: np.ndarray
    treated: np.ndarray
    y: np.ndarray
    folds: int
    seed: int
    sample: Sample  # the randomised customers the model was fitted on (all of them, or a stated random sample)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Save rate (share of would-be churners kept; negative = pushed away) of each row of a snapshot."""
        return _save_rate(self.model, design(frame[self.features], self.levels))

    def resample(self, frame: pd.DataFrame, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap over the experiment (customers resampled within arm, the model refitted): per resample the
        save rate of each row of `frame` (n_boot x rows) and the campaign's average save rate (1 - risk ratio)."""
        rng = np.random.default_rng(seed)
        X_new = design(frame[self.features], self.levels)
        arms = [np.flatnonzero(self.treated), np.flatnonzero(~self.treated)]
        rates, averages = np.empty((n_boot, len(frame))), np.empty(n_boot)
        for b in range(n_boot):
            rows = np.concatenate([rng.choice(arm, len(arm)) for arm in arms])
            model = fit_t_learner(self.X[rows], self.treated[rows], self.y[rows], folds=self.folds, seed=self.seed)
            rates[b] = _save_rate(model, X_new)
            t, y = self.treated[rows], self.y[rows]
            averages[b] = 1 - y[t].mean() / y[~t].mean()
        return rates, averages

    def summary(self) -> pd.DataFrame:
        """Out-of-fold save rates of the randomised customers: mean weighted by churn without the offer (what the
        measured save rate estimates), quartiles, and the share the offer pushes away."""
        f = self.fitted
        return pd.DataFrame([{
            "campaign": self.campaign, "customers": len(f), "horizon_months": self.horizon,
            "save_rate_weighted": float(np.average(f["save_rate"], weights=f["churn_without"])),
            "q25": float(f["save_rate"].quantile(0.25)), "median": float(f["save_rate"].median()),
            "q75": float(f["save_rate"].quantile(0.75)), "share_pushed_away": float((f["save_rate"] < 0).mean()),
        }])

    def _repr_html_(self) -> str:
        return (f"<b>Per-customer save rates of {self.campaign}</b> (T-learner, {self.folds} folds)"
                + self.summary().to_html(index=False))


def state_at_assignment(data: CXData, campaign: str, customers: pd.Series) -> pd.DataFrame:
    """Each customer's snapshot row (`features.snapshot`) on the day the campaign assigned her, in `customers`'
    order; NotEstimableError when a snapshot cannot be taken there."""
    t = data.treatments
    rows = t[t["campaign"] == campaign].drop_duplicates("customer_id").set_index("customer_id")
    days = rows["assigned_at"].dt.normalize().loc[customers]
    parts = []
    for day in days.unique():
        try:
            snap = snapshot(data, day).set_index("customer_id")
        except ValueError as err:
            raise NotEstimableError(f"no snapshot on the assignment day {pd.Timestamp(day).date()}: {err}",
                                    "dated events") from err
        parts.append(snap.loc[days.index[days == day]])
    return pd.concat(parts).loc[customers].reset_index()


def fit_campaign_save_rates(
    data: CXData, campaign: str, features: Sequence[str], score: Scorer, *, horizon_months: float = 12.0,
    folds: int = 5, seed: int = 0, max_customers: int | None = None,
) -> CampaignSaveRates:
    """Per-customer save rates of a randomised retention campaign and the support they may be applied in.

    Parameters
    ----------
    data : validated data with a treatments table.
    campaign : the retention campaign (churn outcomes, a control arm).
    features : snapshot columns the model reads (those the snapshot lacks are left out); text columns are
        categorical.
    score : the churn model that scores customers now, applied to the randomised customers' state at assignment
        to bound the support by churn risk.
    horizon_months : months after assignment churn counts in (shortened to the follow-up every arm has).
    folds, seed : cross-fitting folds and their seed.
    max_customers : randomised customers the model is fitted on, a simple random sample (None or 0: all); each
        bootstrap refit costs about as much as the fit, so the cap bounds the section's time on a large campaign.

    Returns
    -------
    CampaignSaveRates
        The fitted T-learner, out-of-fold save rates of the randomised customers, and the support.

    Raises
    ------
    NotEstimableError
        The campaign records its own outcomes, has fewer than `MIN_UPLIFT_CUSTOMERS` customers followed in an arm,
        or the day it assigned allows no snapshot.
    """
    cd = known_campaign_data(data, campaign, horizon_months)
    if cd.kind != "churn":
        raise NotEstimableError(f"campaign {campaign} records its own outcomes, not whether customers left",
                                "customer lifetimes")
    sample = sample_customers(cd.frame[cd.frame["followed"]], max_customers, seed)
    frame = sample.frame.reset_index(drop=True)
    treated = (frame["arm"] != CONTROL_ARM).to_numpy()
    smallest = int(min(treated.sum(), (~treated).sum()))
    if smallest < MIN_UPLIFT_CUSTOMERS:
        raise NotEstimableError(f"campaign {campaign}: {smallest} customers followed {cd.horizon:g} months in the "
                                f"smaller arm; per-customer save rates need {MIN_UPLIFT_CUSTOMERS}", "more customers")
    state = state_at_assignment(data, campaign, frame["customer_id"])
    used = [c for c in features if c in state]
    levels = {c: sorted(state[c].dropna().astype(str).unique()) for c in used
              if not pd.api.types.is_numeric_dtype(state[c]) or pd.api.types.is_bool_dtype(state[c])}
    X, y = design(state[used], levels), frame[CHURN].to_numpy(float)
    model = fit_t_learner(X, treated, y, folds=folds, seed=seed)
    fitted = frame[["customer_id", "arm", CHURN]].assign(
        churn_without=model.baseline_, save_rate=1 - (model.baseline_ + model.uplift_) / model.baseline_)
    low, high = np.quantile(score(state), SUPPORT_QUANTILES)
    ranges = {c: (float(state[c].min()), float(state[c].max())) for c in used if c not in levels}
    support = Support(float(low), float(high), ranges, levels)
    return CampaignSaveRates(campaign, float(cd.horizon), used, levels, model, fitted, support, X, treated, y,
                             folds, seed, sample)
