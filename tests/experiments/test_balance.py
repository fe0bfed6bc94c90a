"""Standardised mean differences and the sample-ratio mismatch test, against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxresearch.experiments.balance import covariate_balance, sample_ratio_mismatch


def test_smd_of_numeric_binary_and_categorical_covariates() -> None:
    covariates = pd.DataFrame({
        "tenure": [1.0, 3.0, 5.0, 2.0, 4.0, 9.0],
        "vip": [0, 1, 1, 0, 0, 1],
        "plan": ["a", "b", "a", "a", "b", "b"],
    })
    arm = ["control", "control", "control", "offer", "offer", "offer"]
    table = covariate_balance(covariates, arm).summary().set_index("covariate")
    # tenure: means 3 and 5, sample variances 4 and 13 -> (5 - 3) / sqrt(8.5)
    assert table.loc["tenure", "smd"] == pytest.approx(2 / np.sqrt(8.5))
    # vip: p = 2/3 (control), 1/3 (offer) -> (1/3 - 2/3) / sqrt((2/9 + 2/9) / 2)
    assert table.loc["vip", "smd"] == pytest.approx((-1 / 3) / np.sqrt(2 / 9))
    # plan=a: 2/3 vs 1/3, the same as vip
    assert table.loc["plan=a", "smd"] == pytest.approx((-1 / 3) / np.sqrt(2 / 9))
    assert table["flagged"].all() and set(table.index) == {"tenure", "vip", "plan=a", "plan=b"}


def test_randomised_arms_are_balanced() -> None:
    rng = np.random.default_rng(0)
    covariates = pd.DataFrame({"x": rng.normal(size=20000), "g": rng.choice(["u", "v"], 20000)})
    result = covariate_balance(covariates, rng.choice(["control", "t"], 20000))
    assert result.balanced and result.table["smd"].abs().max() < 0.05


def test_sample_ratio_mismatch_against_hand_chi_square() -> None:
    arm = ["control"] * 480 + ["offer"] * 520
    result = sample_ratio_mismatch(arm)
    # expected 500 each: (20^2 + 20^2) / 500 = 1.6 on 1 df
    assert result.chi2 == pytest.approx(1.6) and result.df == 1
    assert result.p_value == pytest.approx(stats.chi2.sf(1.6, 1)) and not result.mismatch


def test_sample_ratio_mismatch_with_intended_allocation() -> None:
    arm = ["control"] * 100 + ["offer"] * 900
    assert not sample_ratio_mismatch(arm, {"control": 0.1, "offer": 0.9}).mismatch
    skewed = sample_ratio_mismatch(arm, {"control": 0.2, "offer": 0.8})
    # expected 200 and 800: 100^2 / 200 + 100^2 / 800 = 62.5
    assert skewed.chi2 == pytest.approx(62.5) and skewed.mismatch
    with pytest.raises(ValueError, match=r"arms \['offer'\] are in the data but not in the allocation"):
        sample_ratio_mismatch(arm, {"control": 1.0})
