"""The Hillstrom e-mail experiment (MineThatData 2008): 64,000 customers randomised to a men's e-mail, a women's
e-mail or none; loader, average effects on visit, conversion and spend, checks, and uplift targeting."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator

from cxresearch.experiments.balance import BalanceResult, SRMResult, covariate_balance, sample_ratio_mismatch
from cxresearch.experiments.effects import AverageEffects, average_effects
from cxresearch.experiments.targeting import TargetingResult, targeting_experiment

#: Arm labels of the file's `segment` column.
ARMS = {"Mens E-Mail": "mens_email", "Womens E-Mail": "womens_email", "No E-Mail": "control"}
OUTCOMES = ["visit", "conversion", "spend"]
COVARIATES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
FILE = "hillstrom.csv"


@dataclass
class HillstromResult:
    """Average effects of each e-mail on visit, conversion and spend (USD), the randomisation checks, and the
    uplift targeting of one e-mail."""

    effects: list[AverageEffects]
    balance: BalanceResult
    srm: SRMResult
    targeting: TargetingResult

    def summary(self) -> pd.DataFrame:
        """Overall effect of each e-mail on each outcome, with 95% CIs and relative lift."""
        table = pd.concat([e.table.assign(outcome=e.outcome) for e in self.effects], ignore_index=True)
        table = table[table["segment"] == "all"].drop(columns="segment")
        return table[["outcome"] + [c for c in table.columns if c != "outcome"]].reset_index(drop=True)

    def _repr_html_(self) -> str:
        effects = self.summary().to_html(index=False)
        return "<b>Hillstrom e-mail experiment</b>" + effects + self.targeting._repr_html_()


def load_hillstrom(path: str | Path) -> pd.DataFrame:
    """The Hillstrom experiment as a tidy frame: arm, outcomes and pre-treatment covariates, one row per customer.

    Parameters
    ----------
    path : str or pathlib.Path
        The dataset directory (holding hillstrom.csv) or the CSV itself.

    Returns
    -------
    pandas.DataFrame
        customer_id (row number), arm (mens_email / womens_email / control), visit, conversion (0/1), spend
        (USD over the two weeks after the e-mail), recency (months), history (USD in the past year), mens,
        womens, newbie (0/1), zip_code (urban / suburban / rural, the file's "Surburban" spelling fixed) and
        channel (phone / web / multichannel).

    References
    ----------
    Hillstrom, K. (2008). The MineThatData e-mail analytics and data mining challenge.
    """
    file = Path(path)
    file = file / FILE if file.is_dir() else file
    if not file.is_file():
        raise FileNotFoundError(f"Hillstrom data not found: {file} (expected the directory holding {FILE})")
    raw = pd.read_csv(file)
    unknown = sorted(set(raw["segment"]) - set(ARMS))
    if unknown:
        raise ValueError(f"{file}: unknown values {unknown} in column segment (expected {sorted(ARMS)})")
    zip_code = raw["zip_code"].str.lower().replace({"surburban": "suburban"})
    return pd.DataFrame({
        "customer_id": range(1, len(raw) + 1), "arm": raw["segment"].map(ARMS),
        "visit": raw["visit"], "conversion": raw["conversion"], "spend": raw["spend"].astype(float),
        "recency": raw["recency"], "history": raw["history"], "mens": raw["mens"], "womens": raw["womens"],
        "zip_code": zip_code, "newbie": raw["newbie"], "channel": raw["channel"].str.lower(),
    })


def hillstrom_effects(frame: pd.DataFrame, segment: str | None = None) -> list[AverageEffects]:
    """Average effect of each e-mail vs no e-mail on visit, conversion (Newcombe) and spend (Welch, USD).

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of `load_hillstrom`.
    segment : str, optional
        Covariate column to break the effects down by (e.g. "channel").

    Returns
    -------
    list of AverageEffects
        One per outcome, in the order visit, conversion, spend.
    """
    seg = frame[segment] if segment else None
    return [average_effects(frame[o], frame["arm"], segment=seg, name=o) for o in OUTCOMES]


def hillstrom_experiment(
    frame: pd.DataFrame, *, arm: str = "mens_email", cost: float = 0.10, learner: BaseEstimator | None = None,
    folds: int = 5, seed: int = 0, n_boot: int = 200,
) -> HillstromResult:
    """Effects, checks and uplift targeting of one e-mail on the Hillstrom experiment.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of `load_hillstrom`.
    arm : {"mens_email", "womens_email"}
        The e-mail whose targeting is studied.
    cost : float
        Cost of sending one e-mail (USD).
    learner : scikit-learn estimator, optional
        Base learner of the uplift models (default gradient-boosted trees).
    folds, seed, n_boot : int
        Cross-fitting folds, seed of the half split, folds and bootstraps, and bootstrap resamples.

    Returns
    -------
    HillstromResult
        Effects on all three outcomes for both e-mails, covariate balance and the sample-ratio test (equal
        thirds by design), and T- and DR-learners of visit fitted on half the customers of `arm` and control
        with Qini curves and the policy comparison (value = spend) on the other half.
    """
    targeting = targeting_experiment(
        frame, arm=arm, outcome="visit", value="spend", covariates=COVARIATES, cost=cost, learner=learner,
        folds=folds, seed=seed, n_boot=n_boot, currency="USD", cost_source="assumed (the data records no cost)",
    )
    return HillstromResult(
        hillstrom_effects(frame), covariate_balance(frame[COVARIATES], frame["arm"]),
        sample_ratio_mismatch(frame["arm"]), targeting,
    )
