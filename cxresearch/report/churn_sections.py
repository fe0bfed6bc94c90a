"""Notebook 02's sections: each runs its churn analyses on what the data has, shows them, and records in the
results file what it had to leave out, with the reason and the missing input (`Results.skip`).

The notebook calls one function per section, so the decisions "the data has X, else skip with a reason" live here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cxresearch.churn.boosting import model_columns
from cxresearch.churn.drivers import (
    PartialDependenceBands,
    RelativeWeights,
    partial_dependence,
    partial_dependence_bands,
    permutation_importance,
    relative_weights,
)
from cxresearch.churn.empc import CampaignParameters, EMPCResult, class_balance, empc
from cxresearch.churn.evaluation import LOGIT, ModelComparison, cross_validate, judge_models
from cxresearch.churn.leakage import LeakageScreen, screen_leakage
from cxresearch.churn.logit import ChurnLogitResult, fit_churn_logit
from cxresearch.churn.windows import Windows, fit_windows
from cxresearch.data.schema import CXData
from cxresearch.features.cache import SharedTables
from cxresearch.features.snapshot import snapshot
from cxresearch.plots.churn import (
    plot_calibration,
    plot_driver_importance,
    plot_gains,
    plot_odds_ratios,
    plot_partial_dependence,
    plot_profit_curve,
    plot_roc_pr,
)
from cxresearch.report.nbtools import read_truth, say, show, table
from cxresearch.report.results import Results
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.truth.churn import KnownTruthCheck, known_truth_check, simulated_terms

#: Features whose partial dependence is drawn, when the boosting model has them: effort and contact counts.
PD_FEATURES = ("ces_mean_90d", "reactive_90d", "unresolved_90d", "ces_last", "reactive_contacts",
               "unresolved_contacts")


@dataclass
class ChurnInputs:
    """What every section of notebook 02 starts from: the windows fitted to the data, the snapshot (None when the
    history is too short for one), its active customers, the leakage screen, the explanatory model (None when none
    could be fitted) and the sample of customers for what refits many times."""

    data: CXData
    as_of: str
    seed: int
    windows: Windows
    snap: pd.DataFrame | None
    active: pd.DataFrame
    screen: LeakageScreen
    model: ChurnLogitResult | None
    refit: Sample
    max_model_customers: int | None
    max_refit_customers: int | None
    cache: SharedTables | None = None  # a suite run's shared tables, for the snapshots the sections build


def prepare(data: CXData, results: Results, as_of: str, window_months: int, horizon_months: int, seed: int = 0,
            max_model_customers: int | None = None, max_refit_customers: int | None = None,
            cache: SharedTables | None = None) -> ChurnInputs:
    """Fit the windows to the data, take the snapshot at `as_of`, screen it for leakage and fit the explanatory
    model; a history too short for a snapshot, or a snapshot without churners, is recorded as a skip.

    Parameters
    ----------
    data
        The validated data.
    results
        The notebook's results file (the windows go to `extra["windows"]`).
    as_of
        Snapshot date ('' for the latest with a fully observed horizon).
    window_months, horizon_months
        Requested feature window and prediction horizon (months), shortened to fit the data.
    seed
        Seed of the customer samples.
    max_model_customers, max_refit_customers
        Customers the out-of-time holdout and the known truth's person-month hazard model, and what refits many
        times, use at most (None = all).
    cache
        A suite run's shared tables (`NotebookContext.cache`); None outside one.

    Returns
    -------
    ChurnInputs
        What the sections start from.
    """
    try:
        windows = fit_windows(data, window_months, horizon_months)
        snap = snapshot(data, as_of=as_of, window_months=windows.window_months,
                        horizon_months=windows.horizon_months, cache=cache)
    except ValueError as error:  # too short a history for any snapshot: every model is skipped
        windows, snap = Windows(window_months, horizon_months, None, str(error)), None
    results.extra["windows"] = {"window_months": windows.window_months, "horizon_months": windows.horizon_months,
                                "note": windows.note}
    active = (snap[snap["active"]].reset_index(drop=True) if snap is not None
              else pd.DataFrame(columns=["active", "churned"]))
    screen = screen_leakage(active)  # found once, left out of every model
    try:
        model = fit_churn_logit(active, exclude=screen.columns)
    except ValueError as error:
        model = None
        results.skip("churn drivers", f"no churn model could be fitted: {windows.note or error}",
                     needs="more history" if snap is None else "churners")
    return ChurnInputs(data, as_of, seed, windows, snap, active, screen, model,
                       sample_customers(active, max_refit_customers, seed), max_model_customers, max_refit_customers,
                       cache)


def population_section(inputs: ChurnInputs) -> None:
    """Who is in the snapshot, how many left, and why accuracy says nothing at this churn share."""
    model, windows = inputs.model, inputs.windows
    if model is not None:
        balance = class_balance(inputs.active["churned"].to_numpy())
        say("Snapshot at **{}**: **{}** active customers, of whom **{}** ({}) left {}. "
            "Predicting that nobody leaves would be right {} of the time, so accuracy says nothing here: we use "
            "ROC-AUC, PR-AUC (no-skill value = the churn share), lift and profit.",
            inputs.snap.attrs["as_of"][:10], f"{model.n:,}", f"{model.n_events:,}", f"{100 * model.event_rate:.1f}%",
            windows.horizon_words, f"{100 * balance['accuracy_of_no_churn']:.1f}%")
    else:
        say("No churn model could be fitted on this data (see the skipped analyses in the results).")
    if windows.note:
        say("*{}*", windows.note)


def odds_ratio_section(inputs: ChurnInputs, results: Results) -> None:
    """Odds ratios, the drivers' Holm-adjusted tests and the contact x resolution effects, or the latter's skip
    when the data has no unresolved-contact counts."""
    model = inputs.model
    if model is None:
        return
    show(plot_odds_ratios(model))
    table(model.summary(), 3)
    table(model.driver_tests(), 3)
    for sentence in model.findings():
        say("- {}", sentence)
    contact = model.contact_effects()
    if len(contact):
        table(contact, 3)
        return
    say("No resolution data (unresolved contacts) in this source: the contact x resolution interaction cannot be "
        "estimated.")
    results.skip("contact x resolution interaction", "the data has no unresolved-contact counts",
                 needs="contact resolution")


def hazards_section(inputs: ChurnInputs) -> None:
    """What the real-data checks found (leakage, separation, constant columns, missing scores) and did."""
    screen = inputs.screen
    if screen.leaking:
        say("**Leakage.** {} Relative weights, cross-validation, the holdout, permutation importance and partial "
            "dependence below all leave it out.", screen.finding())
    if inputs.model is not None:
        for note in inputs.model.notes:
            say("- {}", note)
        table(screen.table.rename(columns={"auc": "single-feature ROC-AUC"}), 3)


def truth_section(inputs: ChurnInputs, results: Results, data_source: str,
                  truth_customers: int) -> KnownTruthCheck | None:
    """Both known-truth checks on a simulated world with a `truth.json` of its effects, the person-month one on at
    most `max_model_customers` customers (recorded as an approximation); None on real data."""
    truth = read_truth(data_source)
    if not (truth and simulated_terms(truth) and inputs.model is not None):
        say("No known truth (a `truth.json` with the simulated effects) in this data source: the known-truth "
            "checks only apply to simulated worlds.")
        return None
    windows = inputs.windows
    check = known_truth_check(inputs.data, truth, inputs.model, inputs.snap.attrs["as_of"], windows.window_months,
                              windows.horizon_months, truth_customers, inputs.max_model_customers, inputs.seed)
    results.approximate("known truth: person-month hazard model", check.hazard_sample)
    for caption, frame in check.tables():
        say("{}", caption)
        table(frame, 3)
    for sentence in check.sentences():
        say("- {}", sentence)
    return check


def prediction_section(inputs: ChurnInputs, results: Results, folds: int, n_boot: int) -> ModelComparison:
    """Boosting against the logistic model, out of time when the data allows it, else cross-validated; what could
    not be done is recorded as skips, the samples as approximations."""
    windows = inputs.windows
    judged = (judge_models(inputs.data, inputs.snap, inputs.refit.frame, inputs.as_of, windows.window_months,
                           windows.horizon_months, folds, n_boot, inputs.seed, inputs.screen.columns,
                           inputs.max_model_customers, inputs.cache) if inputs.model is not None else ModelComparison(None, None))
    for analysis, reason, needs in judged.skipped:
        results.skip(analysis, reason, needs=needs)
        say("*{}*: {}.", analysis, reason)
    for analysis, sample in judged.samples():
        results.approximate(analysis, sample)
    evaluation = judged.evaluation
    if evaluation is not None:
        results.extra["evaluation_design"] = evaluation.design
        say("Evaluation: **{}**.", evaluation.design)
        table(evaluation.summary(), 3)
        table(evaluation.difference, 3)
        show(plot_roc_pr(evaluation))
        show(plot_calibration(evaluation))
    return judged


def cross_validation_section(inputs: ChurnInputs, results: Results, folds: int) -> pd.DataFrame | None:
    """Stratified k-fold ROC-AUC and PR-AUC within the snapshot, or a skip when the folds lack churners."""
    if inputs.model is None:
        return None
    results.approximate("cross-validation and relative weights", inputs.refit)
    try:
        cv = cross_validate(inputs.refit.frame, folds, inputs.seed, inputs.screen.columns)
    except ValueError as error:
        results.skip("cross-validation", str(error), needs="churners")
        return None
    say("{}-fold cross-validation within the `as_of` snapshot (mean and SD over folds):", folds)
    table(cv, 3)
    return cv


def gains_section(judged: ModelComparison) -> None:
    """Cumulative gains by risk decile of both models, and the logistic model's gains table."""
    if judged.evaluation is not None:
        show(plot_gains(judged.evaluation))
        table(judged.evaluation.gains(LOGIT), 2)


def campaign_section(judged: ModelComparison, campaign: CampaignParameters) -> dict[str, EMPCResult] | None:
    """Expected maximum profit of a retention campaign targeted by each model (Verbraken et al. 2013)."""
    evaluation = judged.evaluation
    if evaluation is None:
        return None
    profits = {name: empc(evaluation.y, prob, campaign) for name, prob in evaluation.predictions.items()}
    show(plot_profit_curve(profits))
    for name, result in profits.items():
        say("{}: EMPC **{}** per customer; target the riskiest **{}**.", name, f"{result.empc:.2f}",
            f"{100 * result.fraction:.1f}%")
    return profits


def explained_customers(inputs: ChurnInputs, judged: ModelComparison) -> Sample | None:
    """Customers importance and partial dependence are measured on: a sample of the holdout, else (no holdout)
    the customers the model was fitted on, in-sample; None without an evaluation."""
    if judged.evaluation is None:
        return None
    return sample_customers(judged.test.frame, inputs.max_refit_customers, inputs.seed) if judged.test is not None \
        else inputs.refit


def importance_section(inputs: ChurnInputs, judged: ModelComparison, explain: Sample | None, results: Results,
                       repeats: int, weight_boot: int) -> tuple[pd.DataFrame | None, RelativeWeights | None]:
    """Permutation importance of the boosting model on the `explain` customers and relative weights of the logistic
    model's drivers."""
    importance, weights = None, None
    where = "holdout" if judged.test is not None else "in-sample"
    if explain is not None:
        results.approximate("permutation importance and partial dependence", explain)
        importance = permutation_importance(judged.boosting, explain.frame, repeats, inputs.seed)
        show(plot_driver_importance(importance, "importance", f"Drop in {where} ROC-AUC when shuffled",
                                    f"Permutation importance, gradient boosting, {where} (95% CI)"))
    if inputs.model is None:
        return importance, weights
    try:
        weights = relative_weights(inputs.refit.frame, *model_columns(inputs.active, exclude=inputs.screen.columns),
                                   weight_boot, inputs.seed)
    except ValueError as error:
        results.skip("relative weights", str(error), needs="more customers")
        return importance, None
    show(plot_driver_importance(weights.summary(), "weight_pct", "Share of explained variance (%)",
                                "Relative weights of the drivers (95% bootstrap CI)"))
    table(weights.summary(), 2)
    return importance, weights


def partial_dependence_section(inputs: ChurnInputs, judged: ModelComparison, explain: Sample | None,
                               results: Results, n_boot: int) -> PartialDependenceBands | None:
    """Partial dependence on effort and contact counts over the `explain` customers, with bootstrap bands when
    `n_boot` > 1, or a skip when the boosting model has none of them."""
    boosting = judged.boosting
    shown = [c for c in PD_FEATURES if boosting is not None and c in boosting.features]
    if not shown:
        results.skip("partial dependence", "the data has no effort scores or contact counts per customer (or no "
                     "boosting model)", needs="contact records")
        return None
    if n_boot <= 1:
        show(plot_partial_dependence([partial_dependence(boosting, explain.frame, c) for c in shown]))
        return None
    train = (sample_customers(judged.train.frame, inputs.max_refit_customers, inputs.seed)
             if judged.train is not None else inputs.refit)
    results.approximate("partial-dependence bands (bootstrap refits)", train)
    bands = partial_dependence_bands(boosting, train.frame, explain.frame, shown, n_boot, inputs.seed)
    show(plot_partial_dependence(bands))
    table(bands.ranges(), 2)
    return bands
