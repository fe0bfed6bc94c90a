"""Bootstrap scoring of lifetime models: weights of ones equal survival.evaluation, a replicate equals the metric
of its resampled data, intervals cover and narrow, and the Kaplan-Meier reference has zero skill."""

from __future__ import annotations

import numpy as np
import pytest

from cxresearch.survival import evaluation as ev
from cxresearch.survival.scoring import ModelPredictions, bootstrap_weights, score_models

GRID = np.arange(1.0, 13.0)
HORIZONS = (3.0, 6.0, 12.0)


def _left_truncated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exponential lifetimes (months, hazard exp(x)/12) of customers acquired before and during a 24-month window."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=8 * n)
    lifetime = rng.exponential(12.0 / np.exp(risk))
    acquired = rng.uniform(-60.0, 24.0, size=8 * n)
    seen = np.flatnonzero(acquired + lifetime > 0)[:n]
    entry = np.maximum(0.0, -acquired[seen])
    end = 24.0 - acquired[seen]
    return np.minimum(lifetime[seen], end), lifetime[seen] <= end, risk[seen], entry


def _true(risk: np.ndarray) -> ModelPredictions:
    """The simulation's own survival curves and risk."""
    return ModelPredictions(risk, GRID, np.exp(-np.exp(risk)[:, None] * GRID[None, :] / 12.0))


def _metrics(time, event, risk, entry) -> dict[str, float]:
    """survival.evaluation's numbers for the true model with delayed entry."""
    h = np.array(HORIZONS)
    survival = _true(risk)
    lifetimes = ev.ObservedLifetimes(time, event, entry)
    auc = ev.cumulative_dynamic_auc(lifetimes, 1 - survival.at(h), h)
    return {
        "harrell_c": ev.concordance_harrell(lifetimes, risk).value,
        "uno_c": ev.concordance_uno(lifetimes, risk, 12.0).value,
        "auc6": auc.auc[1], "mean_auc": auc.mean_auc,
        "brier12": ev.brier_score(lifetimes, survival.at(h), h).scores[2],
        "ibs": ev.integrated_brier_score(lifetimes, survival.at(GRID[2:]), GRID[2:]),
    }


def _ours(scores, column: str = "estimate") -> dict[str, float]:
    """The same numbers from a ModelScores table (model "true"): the estimates or one interval end."""
    keys = {"harrell_c": ("harrell_c", None), "uno_c": ("uno_c", None), "auc6": ("auc", 6.0),
            "mean_auc": ("mean_auc", None), "brier12": ("brier", 12.0), "ibs": ("ibs", None)}
    return {name: scores.value("true", metric, h)[column] for name, (metric, h) in keys.items()}


def test_point_estimates_equal_the_evaluation_formulas() -> None:
    time, event, risk, entry = _left_truncated(1500, 1)
    scores = score_models(time, event, entry, {"true": _true(risk)}, HORIZONS, n_boot=0)
    for metric, value in _metrics(time, event, risk, entry).items():
        assert _ours(scores)[metric] == pytest.approx(value, abs=1e-9), metric


def test_a_replicate_equals_the_metrics_of_its_explicit_resample() -> None:
    # With one resample, both interval ends are that replicate's value; it must equal the metrics of the same
    # customers drawn explicitly (duplicates included) and scored by survival.evaluation.
    time, event, risk, entry = _left_truncated(600, 2)
    scores = score_models(time, event, entry, {"true": _true(risk)}, HORIZONS, n_boot=1, seed=7)
    drawn = np.repeat(np.arange(time.size), bootstrap_weights(time.size, 1, 7)[1].astype(int))
    replicate = {k: float(v) for k, v in _ours(scores, "ci_low").items()}
    for metric, value in _metrics(time[drawn], event[drawn], risk[drawn], entry[drawn]).items():
        assert replicate[metric] == pytest.approx(value, abs=1e-9), metric


def test_intervals_contain_the_estimate_and_narrow_with_n() -> None:
    widths = {}
    for n in (500, 4000):
        time, event, risk, entry = _left_truncated(n, 4)
        table = score_models(time, event, entry, {"true": _true(risk)}, HORIZONS, n_boot=200, seed=1).summary()
        assert ((table["ci_low"] <= table["estimate"]) & (table["estimate"] <= table["ci_high"])).all()
        widths[n] = (table["ci_high"] - table["ci_low"]).to_numpy()
    # sqrt(8) ~ 2.8 times narrower in theory; at least twice narrower for every metric
    assert (widths[4000] < widths[500] / 2).all()


def test_kaplan_meier_reference_has_zero_skill() -> None:
    time, event, risk, entry = _left_truncated(2000, 5)
    km = ev.kaplan_meier_step(time, event, entry=entry).at(GRID)
    reference = ModelPredictions(np.zeros(time.size), GRID, np.tile(km, (time.size, 1)))
    scores = score_models(time, event, entry, {"Kaplan-Meier": reference, "true": _true(risk)}, HORIZONS,
                          n_boot=100, reference="Kaplan-Meier")
    assert tuple(scores.value("Kaplan-Meier", "ibs_skill")) == (0.0, 0.0, 0.0)
    assert scores.value("Kaplan-Meier", "harrell_c")["estimate"] == 0.5
    skill = scores.value("true", "ibs_skill")
    assert skill["ci_low"] > 0.05
    assert skill["estimate"] == pytest.approx(
        1 - scores.value("true", "ibs")["estimate"] / scores.value("Kaplan-Meier", "ibs")["estimate"])
