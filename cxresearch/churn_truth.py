"""True window odds ratios on the demo world, derived from the simulator itself.

The simulator's `truth.json` holds monthly log hazard ratios (cloglog link). A logistic model of churn within a
prediction window estimates something else: window odds ratios of a model that also differs in its link,
its tenure term and its handling of unanswered surveys. Its estimand ("pseudo-true" value, White 1982) is what
the same model converges to on an unlimited population from the same process; we obtain it by fitting the
same model, with the same snapshot design, to a large independent world simulated with the same settings and
effects (a different seed). Its own sampling error is reported as `true_se` and shrinks with `n_customers`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.churn import fit_churn_logit
from cxresearch.features import snapshot
from cxresearch.simulate import DRIVER_LOG_HR, simulate

#: Seed of the truth world: any seed other than the demo world's, so the two samples are independent.
TRUTH_SEED = 20_250_101


def simulated_terms(truth: dict) -> list[str]:
    """Model terms of the simulated drivers (counts, CES, contract and plan levels), from `truth.json`."""
    return [c["feature"] for c in truth.get("coefficients", {}).values()]


def true_window_odds_ratios(
    truth: dict,
    as_of: str | pd.Timestamp | None,
    window_months: int = 3,
    horizon_months: int = 3,
    features: list[str] | None = None,
    categorical: list[str] | None = None,
    n_customers: int = 200_000,
) -> pd.DataFrame:
    """Per simulated driver term: the true window odds ratio (`odds_ratio`), its log (`log_odds`) and the
    Monte-Carlo standard error of the log (`true_se`), from a large simulated world with the same settings.

    `as_of` is taken relative to the end of observation (same calendar date as in the demo world, which the
    same `start` and `months` guarantee).
    """
    settings = truth.get("settings", {})
    effects = {k: float(truth["coefficients"][k]["value"]) for k in (*DRIVER_LOG_HR, "ces")
               if k in truth.get("coefficients", {})}
    world = simulate(n_customers=n_customers, months=int(settings.get("months", 36)), seed=TRUTH_SEED,
                     start=str(settings.get("start", "2023-01-01")), effects=effects)
    snap = snapshot(world.to_cxdata(), as_of=as_of, window_months=window_months, horizon_months=horizon_months)
    fit = fit_churn_logit(snap, features, categorical).summary()
    terms = [t for t in simulated_terms(truth) if t in fit.index]
    out = pd.DataFrame({
        "odds_ratio": fit.loc[terms, "odds_ratio"],
        "log_odds": fit.loc[terms, "coef"],
        "true_se": fit.loc[terms, "se"],
    })
    out.attrs.update(n_customers=n_customers, seed=TRUTH_SEED, as_of=snap.attrs["as_of"])
    return out


def hazard_vs_window(truth: dict, window: pd.DataFrame) -> pd.DataFrame:
    """Side by side per driver: the simulator's monthly hazard ratio and the true window odds ratio."""
    hazard = {c["feature"]: float(np.exp(c["value"])) for c in truth.get("coefficients", {}).values()}
    return pd.DataFrame({
        "hazard_ratio_per_month": [hazard[t] for t in window.index],
        "window_odds_ratio": window["odds_ratio"].to_numpy(),
    }, index=window.index.rename("term"))


def recovery_with_truth_error(
    recovery: pd.DataFrame, true_window: pd.DataFrame, coefficients: pd.DataFrame, z: float = 1.959964
) -> pd.DataFrame:
    """Per recovered term: log-scale difference of estimate and truth, its combined standard error (the
    estimate's `se` and the truth world's Monte-Carlo `true_se`), and whether the difference is within `z` of it.

    The truth world is finite (`n_customers`): on large data the estimate's CI becomes narrower than the
    truth's own Monte-Carlo error, and "truth inside the estimate's CI" then mostly tests the truth world.
    """
    names = recovery["name"].to_list()
    se = coefficients.loc[names, "se"].to_numpy(float)
    true_se = true_window.loc[names, "true_se"].to_numpy(float)
    difference = np.log(recovery["estimate"].to_numpy(float)) - np.log(recovery["true"].to_numpy(float))
    combined = np.sqrt(se**2 + true_se**2)
    return pd.DataFrame({
        "log_difference": difference, "se": se, "true_se": true_se, "combined_se": combined,
        "within_error": np.abs(difference) <= z * combined,
    }, index=pd.Index(names, name="term"))
