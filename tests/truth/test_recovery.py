"""Known-truth table: rows only for terms in both, coverage and direction judged on the stated scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.truth.recovery import recovery_table, true_hazard_ratios


def test_recovery_table_on_ratio_scale() -> None:
    est = pd.DataFrame(
        {"estimate": [1.2, 0.8, 0.5], "ci_low": [1.1, 0.7, 0.3], "ci_high": [1.3, 0.95, 0.9]},
        index=["reactive_90d", "proactive_90d", "contract=two_year"],
    )
    truth = {"reactive_90d": 1.4, "proactive_90d": 0.82, "contract[two_year]": 0.22, "not_estimated": 2.0}
    table = recovery_table(est, truth, "hazard_ratio").set_index("name")
    assert list(table.index) == ["reactive_90d", "proactive_90d", "contract[two_year]"]
    assert table["truth_in_ci"].tolist() == [False, True, False]
    assert table["same_direction"].all()
    assert (table["scale"] == "hazard_ratio").all()


def test_recovery_table_on_log_scale_and_bad_scale() -> None:
    est = pd.DataFrame({"estimate": [-0.1], "ci_low": [-0.3], "ci_high": [0.1]}, index=["x"])
    table = recovery_table(est, {"x": 0.2}, "log_hazard")
    assert not table.loc[0, "same_direction"] and not table.loc[0, "truth_in_ci"]
    with pytest.raises(ValueError, match="scale"):
        recovery_table(est, {"x": 0.2}, "hazard")


def test_true_hazard_ratios_from_truth_json() -> None:
    truth = {"coefficients": {"reactive": {"value": 0.1, "feature": "reactive_90d"}}}
    assert true_hazard_ratios(truth) == {"reactive_90d": pytest.approx(np.exp(0.1))}
