"""Known truth on the demo world: true window odds ratios derived from the simulator, and the generating hazard.

The simulator's `truth.json` holds monthly log hazard ratios (cloglog link). A logistic model of churn within a
prediction window estimates something else: window odds ratios of a model that also differs in its link,
its tenure term and its handling of unanswered surveys. Its estimand ("pseudo-true" value, White 1982) is what
the same model converges to on an unlimited population from the same process; we obtain it by fitting the
same model, with the same snapshot design, to a large independent world simulated with the same settings and
effects (a different seed). Its own sampling error is reported as `true_se` and shrinks with `n_customers`.

What each check can detect. Against the window truth the estimate can only differ by sampling error (and bugs in
building the snapshot): the truth is the same model, so a bias of that model (wrong link, tenure term, missing-
score handling, mood left out) is in the truth too and goes unseen. `hazard_recovery` compares instead with the
generating monthly hazard ratios themselves, through the model whose form the simulator uses (person-month cloglog,
Prentice & Gloeckler 1978): it can reveal a bias of the features or of that model, but it says nothing about the
window odds ratios, which estimate a different quantity. Neither check can reveal what the simulator does not
contain (confounding by traits the data does not record, a real world that is not proportional).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.churn.logit import ChurnLogitResult, fit_churn_logit
from cxresearch.data.schema import CXData
from cxresearch.data.simulate import simulate
from cxresearch.data.simulate_parameters import DRIVER_LOG_HR
from cxresearch.features.snapshot import snapshot
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.survival.person_months import CES_DRIVER, COUNT_DRIVERS, person_months
from cxresearch.survival.timevarying import fit_person_month_cloglog
from cxresearch.truth.recovery import direction_counts, direction_words, recovery_table, true_hazard_ratios

#: Seed of the truth world: any seed other than the demo world's, so the two samples are independent.
TRUTH_SEED = 20_250_101


def simulated_terms(truth: dict) -> list[str]:
    """Model terms of the simulated drivers (counts, CES, contract and plan levels), from `truth.json`."""
    return [c["feature"] for c in truth.get("coefficients", {}).values()]


def zero_effect_terms(truth: dict) -> list[str]:
    """Model terms whose generating log hazard ratio is exactly 0 (no effect), from `truth.json`."""
    return [c["feature"] for c in truth.get("coefficients", {}).values() if float(c["value"]) == 0.0]


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


def hazard_recovery(
    data: CXData, truth: dict, window_months: int = 3, max_customers: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame, Sample]:
    """Monthly hazard ratios of the simulated drivers, estimated by the person-month cloglog model (the simulator's
    own form: counts and mean effort in the trailing `window_months`, contract and plan), beside the generating
    values of `truth.json`: a `truth.recovery.recovery_table` on the hazard-ratio scale, and the customers it used
    (at most `max_customers`, a simple random sample with `seed` above; None: everyone).

    The person-month table holds about 20 rows per customer, so on a base of a million it alone outgrows memory;
    a random sample keeps the hazard ratios unbiased with the intervals of the sample.
    """
    sample = sample_customers(data.customers[["customer_id"]], max_customers, seed)
    long = person_months(data, window_months, sample.frame["customer_id"] if sample.sampled else None).table
    categorical = [c for c in ("contract", "plan") if c in long]
    fit = fit_person_month_cloglog(long, [*COUNT_DRIVERS, CES_DRIVER], categorical)
    return recovery_table(fit.recovery_estimates(), true_hazard_ratios(truth), "hazard_ratio"), sample


@dataclass(frozen=True)
class KnownTruthCheck:
    """Notebook 02's two known-truth checks on a simulated world, and what each can detect (module docstring).

    `window`: the window odds ratios against the same model on a large simulated world (`recovery_table`), with
    `window_error` (`recovery_with_truth_error`) and the generating hazard ratio beside each true window odds ratio
    (`side_by_side`); `hazard`: the person-month cloglog hazard ratios against the generating ones
    (`hazard_recovery`), fitted on the customers of `hazard_sample`.
    """

    window: pd.DataFrame
    window_error: pd.DataFrame
    side_by_side: pd.DataFrame
    hazard: pd.DataFrame
    truth_customers: int
    hazard_sample: Sample

    @staticmethod
    def shown(table: pd.DataFrame) -> pd.DataFrame:
        """A recovery table for reading: `same_direction` in words ('n/a — true effect is zero' for a null truth)."""
        return table.assign(same_direction=[direction_words(v) for v in table["same_direction"]])

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        """(caption, table) of each check, for reading (`shown`)."""
        return [
            ("Window model against the true window odds ratios:", self.shown(self.window)),
            ("The generating monthly hazard ratio beside each true window odds ratio:", self.side_by_side),
            ("Person-month cloglog model against the generating hazard ratios:", self.shown(self.hazard)),
        ]

    def sentences(self) -> list[str]:
        """Per check: how many truths fall in the CIs and how many directions are right, and what it can detect."""
        out = []
        for table, what, detects in (
            (self.window, f"true window odds ratios (the same model on {self.truth_customers:,} simulated customers)",
             ("it detects sampling error and errors in building the snapshot, not a bias of the window model, "
             "which the truth shares")),
            (self.hazard, "generating monthly hazard ratios (person-month cloglog model, the simulator's own form)",
             ("it can reveal a bias of the features or of the hazard model, but says nothing about the window odds "
             "ratios, which estimate a different quantity")),
        ):
            right, judged = direction_counts(table)
            zero = len(table) - judged
            na = f" ({zero} with a true effect of zero: direction n/a)" if zero else ""
            out.append(f"Against the {what}: truth inside the 95% CI for {int(table['truth_in_ci'].sum())} of "
                       f"{len(table)} terms, direction right for {right} of {judged}{na}; {detects}.")
        if self.hazard_sample.sampled:
            out.append(self.hazard_sample.describe("The person-month hazard check") + ".")
        within = int(self.window_error["within_error"].sum())
        out.append(f"Estimate and true window odds ratio within 1.96 combined standard errors (estimate and truth "
                   f"world) for {within} of {len(self.window_error)} terms. Neither check can reveal what the "
                   "simulator leaves out: confounding by traits the data does not record.")
        return out


def known_truth_check(
    data: CXData, truth: dict, model: ChurnLogitResult, as_of: str | pd.Timestamp | None, window_months: int,
    horizon_months: int, truth_customers: int = 200_000, max_customers: int | None = None, seed: int = 0,
) -> KnownTruthCheck:
    """Both known-truth checks of notebook 02's window model `model` on the simulated world `data` (`truth.json`
    as `truth`): against the true window odds ratios and against the generating hazard, the latter on at most
    `max_customers` customers (a random sample with `seed`; None: everyone)."""
    hazard, hazard_sample = hazard_recovery(data, truth, window_months, max_customers, seed)
    true_window = true_window_odds_ratios(truth, as_of, window_months, horizon_months, n_customers=truth_customers)
    odds = model.summary().rename(columns={"odds_ratio": "estimate", "or_ci_low": "ci_low", "or_ci_high": "ci_high"})
    window = recovery_table(odds, true_window["odds_ratio"].to_dict(), "odds_ratio", zero_effect_terms(truth))
    return KnownTruthCheck(
        window=window, window_error=recovery_with_truth_error(window, true_window, model.summary()),
        side_by_side=hazard_vs_window(truth, true_window), hazard=hazard,
        truth_customers=truth_customers, hazard_sample=hazard_sample,
    )
