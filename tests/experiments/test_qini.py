"""Qini and uplift curves and the Qini coefficient on a case of eight customers computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cxresearch.experiments.qini import qini_coefficient, qini_curve, qini_points

# eight customers, already in order of score (highest first)
SCORE = np.array([0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
TREATED = np.array([1, 0, 1, 1, 0, 0, 1, 0], dtype=bool)
Y = np.array([1, 0, 1, 0, 1, 0, 0, 0])

# By hand, top k customers: N_T, N_C, Y_T, Y_C and Q(k) = Y_T - Y_C N_T / N_C (Y_C N_T / N_C = 0 while N_C = 0)
#   k=1: 1 0 1 0 -> 1          k=5: 3 2 2 1 -> 2 - 1 * 3/2 = 1/2
#   k=2: 1 1 1 0 -> 1          k=6: 3 3 2 1 -> 2 - 1 = 1
#   k=3: 2 1 2 0 -> 2          k=7: 4 3 2 1 -> 2 - 4/3 = 2/3
#   k=4: 3 1 2 0 -> 2          k=8: 4 4 2 1 -> 2 - 1 = 1
HAND_QINI = [0, 1, 1, 2, 2, 1 / 2, 1, 2 / 3, 1]
# Uplift curve U(k) = (Y_T / N_T - Y_C / N_C) k:
#   1 * 1, (1 - 0) * 2, (1 - 0) * 3, (2/3 - 0) * 4,
#   (2/3 - 1/2) * 5, (2/3 - 1/3) * 6, (1/2 - 1/3) * 7, (1/2 - 1/4) * 8
HAND_UPLIFT = [0, 1, 2, 3, 8 / 3, 5 / 6, 2, 7 / 6, 2]
# Random targeting: x Q(n) = k/8. Gaps g_k = Q(k) - k/8: 0, 7/8, 6/8, 13/8, 12/8, -1/8, 2/8, -5/24, 0.
# Trapezoids of width 1/8: (1/8) (g_1 + ... + g_7) (both ends are 0) = (1/8) (39/8 - 5/24) = (1/8) (112/24) = 7/12.
HAND_COEFFICIENT = 7 / 12


def test_qini_points_by_hand() -> None:
    points = qini_points(SCORE, TREATED, Y)
    np.testing.assert_allclose(points["qini"], HAND_QINI, atol=1e-12)
    np.testing.assert_allclose(points["uplift"], HAND_UPLIFT, atol=1e-12)
    np.testing.assert_allclose(points["fraction"], np.arange(9) / 8)
    assert points["n_treated"].tolist() == [0, 1, 1, 2, 3, 3, 3, 4, 4]


def test_qini_coefficient_by_hand_and_order_of_input_irrelevant() -> None:
    assert qini_coefficient(SCORE, TREATED, Y) == pytest.approx(HAND_COEFFICIENT, abs=1e-12)
    shuffled = np.random.default_rng(0).permutation(8)
    assert qini_coefficient(SCORE[shuffled], TREATED[shuffled], Y[shuffled]) == pytest.approx(HAND_COEFFICIENT)


def test_qini_curve_on_grid_and_bootstrap() -> None:
    result = qini_curve(SCORE, TREATED, Y, n_boot=300, seed=1, label="hand")
    assert result.coefficient.value == pytest.approx(HAND_COEFFICIENT)
    # grid point x = 0.5 is the exact point k = 4, x = 0.0625 halfway between k = 0 and k = 1
    assert result.qini[50] == pytest.approx(2.0) and result.qini[6] == pytest.approx(0.06 * 8 * 1.0)
    assert result.random[-1] == pytest.approx(1.0) and result.uplift[-1] == pytest.approx(2.0)
    assert result.coefficient.ci_low <= HAND_COEFFICIENT <= result.coefficient.ci_high
    assert (result.qini_low <= result.qini_high).all()
    assert result.summary()["share_targeted"].round(2).tolist() == [round(0.1 * i, 2) for i in range(1, 11)]


def test_tied_scores_enter_together() -> None:
    # customers 3 and 4 tied: the curve skips k = 3 and goes straight from k = 2 to k = 4
    score = SCORE.copy()
    score[3] = score[2]
    points = qini_points(score, TREATED, Y)
    assert points["targeted"].tolist() == [0, 1, 2, 4, 5, 6, 7, 8]
    np.testing.assert_allclose(points["qini"], [0, 1, 1, 2, 1 / 2, 1, 2 / 3, 1])


def test_perfect_ranking_beats_random_and_reversed_loses() -> None:
    # effect 1 for the first half, 0 for the second: a ranking by true effect has a positive coefficient
    rng = np.random.default_rng(5)
    n = 4000
    effect = (np.arange(n) < n / 2).astype(float)
    treated = rng.random(n) < 0.5
    y = (rng.random(n) < 0.2 + 0.3 * effect * treated).astype(float)
    assert qini_coefficient(effect, treated, y) > 0 > qini_coefficient(-effect, treated, y)
