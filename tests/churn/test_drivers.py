"""Tests for cxresearch.churn.drivers: relative weights, permutation importance and partial dependence on data
with known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from cxresearch.churn.boosting import fit_boosting
from cxresearch.churn.drivers import (
    _raw_weights,
    partial_dependence,
    partial_dependence_bands,
    permutation_importance,
    relative_weights,
)


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    """Churn from a known logistic model: strong effort effect, weaker contacts, no CSAT effect."""
    rng = np.random.default_rng(8)
    n = 12_000
    ces = rng.integers(1, 8, n).astype(float)
    reactive = rng.poisson(1.0, n)
    csat = rng.integers(1, 6, n).astype(float)
    contract = rng.choice(["monthly", "annual"], n, p=[0.6, 0.4])
    eta = -2.5 + 0.45 * (ces - 4) + 0.25 * reactive - 0.9 * (contract == "annual")
    churned = rng.random(n) < special.expit(eta)
    csat[rng.random(n) < 0.5] = np.nan  # half never answered: the weight of CSAT includes its missing flag
    return pd.DataFrame({"active": True, "churned": churned, "ces_mean_90d": ces, "reactive_90d": reactive,
                         "csat_last": csat, "contract": contract})


def test_relative_weights_rank_known_drivers(world: pd.DataFrame) -> None:
    result = relative_weights(world, ["ces_mean_90d", "reactive_90d", "csat_last"], ["contract"], n_boot=60)
    table = result.summary()
    assert table["weight_pct"].sum() == pytest.approx(100)
    assert list(table.index[:2]) == ["ces_mean_90d", "contract"]
    assert table.loc["csat_last", "weight_pct"] < 1.0  # no effect: (almost) no share
    assert table.loc["reactive_90d", "ci_low"] > table.loc["csat_last", "ci_high"]
    assert (table["ci_low"] <= table["weight_pct"]).all() and (table["weight_pct"] <= table["ci_high"]).all()
    assert result.n_boot == 60 and 0 < result.r2 < 1


def test_relative_weights_of_uncorrelated_predictors_follow_squared_effects() -> None:
    # With uncorrelated standardised predictors the weights are proportional to the squared coefficients.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200_000, 2))
    y = (rng.random(len(x)) < special.expit(-1 + 0.6 * x[:, 0] + 0.3 * x[:, 1])).astype(float)
    w = _raw_weights(x, y)
    assert w[0] / w[1] == pytest.approx(4.0, rel=0.1)


def test_permutation_importance_and_partial_dependence(world: pd.DataFrame) -> None:
    train, test = world.iloc[:8000], world.iloc[8000:]
    model = fit_boosting(train, ["ces_mean_90d", "reactive_90d", "csat_last"], ["contract"])
    importance = permutation_importance(model, test, n_repeats=4)
    assert importance.index[0] == "ces_mean_90d"
    assert importance.loc["ces_mean_90d", "ci_low"] > 0.02
    assert abs(importance.loc["csat_last", "importance"]) < 0.01
    result = partial_dependence(model, test, "ces_mean_90d")
    assert (result.feature, result.range_points) == ("ces_mean_90d", None)
    curve = result.summary()
    assert list(curve["value"]) == [1, 2, 3, 4, 5, 6, 7]
    assert curve["churn_pct"].iloc[-1] > 2 * curve["churn_pct"].iloc[0]
    assert np.all(np.diff(curve["churn_pct"]) > -0.5)  # rising, allowing for flat tree steps
    with pytest.raises(ValueError, match="contract"):
        partial_dependence(model, test, "contract")
    with pytest.raises(ValueError, match="n_boot"):
        partial_dependence_bands(model, train, test, ["ces_mean_90d"], n_boot=1)


def _true_partial_dependence(frame: pd.DataFrame, feature: str, grid: np.ndarray) -> np.ndarray:
    """The `world` fixture's true churn probability (%) averaged over `frame` with `feature` set to each value."""
    out = []
    for value in grid:
        f = frame.assign(**{feature: value})
        eta = -2.5 + 0.45 * (f["ces_mean_90d"] - 4) + 0.25 * f["reactive_90d"] - 0.9 * (f["contract"] == "annual")
        out.append(100 * special.expit(eta).mean())
    return np.array(out)


def test_partial_dependence_bands_cover_the_truth_and_narrow_with_more_data(world: pd.DataFrame) -> None:
    features = ["ces_mean_90d", "reactive_90d", "csat_last"]
    evaluate = world.iloc[:2000]
    widths, covered = {}, []
    for n in (3000, 12_000):
        train = world.iloc[:n]
        model = fit_boosting(train, features, ["contract"])
        bands = partial_dependence_bands(model, train, evaluate, ["ces_mean_90d", "reactive_90d"], n_boot=20)
        assert bands.n_boot == 20 and bands.n_train == n and bands.n_eval == 500
        table = bands.summary()
        assert list(table.columns) == ["feature", "label", "value", "churn_pct", "se", "ci_low", "ci_high"]
        assert ((table["ci_low"] <= table["churn_pct"]) & (table["churn_pct"] <= table["ci_high"])).all()
        width = []
        for result in bands.curves:
            feature, curve = result.feature, result.table
            # where at least 10% of customers have the value: in the sparse tail (3+ contacts) leaves of 200
            # customers cannot follow the curve, a bias the bootstrap does not measure
            dense = curve["value"].map(evaluate[feature].value_counts(normalize=True)).fillna(0).to_numpy() >= 0.10
            truth = _true_partial_dependence(evaluate, feature, curve["value"].to_numpy())
            covered.extend(((curve["ci_low"] <= truth) & (truth <= curve["ci_high"]))[dense])
            width.extend((curve["ci_high"] - curve["ci_low"])[dense])
        widths[n] = np.mean(width)
        ces = bands.curves[0].table
        true_range = float(np.subtract(*_true_partial_dependence(evaluate, "ces_mean_90d", np.array([7.0, 1.0]))))
        effect = bands.to_estimates()["pd_range_ces_mean_90d"]
        assert effect.ci_low > 0.5 * true_range  # right direction, and the size roughly right (truth ~21 points)
        assert effect.value == pytest.approx(true_range, rel=0.25)
        assert effect.value == pytest.approx(ces["churn_pct"].iloc[-1] - ces["churn_pct"].iloc[0])
    assert len(covered) == 20 and np.mean(covered) >= 0.85  # pointwise 95% bands: 19 of 20 here
    assert widths[3000] > 1.5 * widths[12_000]  # four times the data: bands about half as wide
