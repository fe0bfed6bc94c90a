"""Policy values by inverse-probability weighting against hand computations and known truth."""

from __future__ import annotations

import numpy as np
import pytest

from cxresearch.experiments.policy import compare_policies, policy_value, top_policy, uplift_policy

# six customers: assignment, money realised and a policy
TREATED = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
VALUE = np.array([10.0, 0.0, 4.0, 6.0, 0.0, 0.0])
TARGET = np.array([1, 0, 1, 1, 0, 1], dtype=bool)


def test_policy_value_by_hand() -> None:
    # assignment agrees with the policy for customers 1, 3 (treated, weight 1/0.5) and 5 (control, weight 1/0.5):
    # ((10 - 1) + (4 - 1) + 0) * 2 / (3 * 2) = 4
    assert policy_value(TARGET, TREATED, VALUE, cost=1.0, propensity=0.5) == pytest.approx(4.0)


def test_everyone_is_the_difference_in_means_minus_cost() -> None:
    result = compare_policies({"mine": TARGET}, TREATED, VALUE, cost=1.0, n_boot=50)
    table = result.summary().set_index("policy")
    # treated mean 14/3, control mean 2
    assert table.loc["everyone", "profit_per_customer"] == pytest.approx(14 / 3 - 1.0 - 2.0)
    assert table.loc["no one", "profit_per_customer"] == 0.0
    assert table.loc["mine", "profit_per_customer"] == pytest.approx(4.0 - 2.0)
    assert table.loc["mine", "total_profit"] == pytest.approx(6 * 2.0)
    assert result.best == "mine"


def test_uplift_policy_beats_risk_policy_on_known_truth() -> None:
    # the high-risk half is not persuadable; the other half gains 0.3 of a 10-unit value at cost 1
    rng = np.random.default_rng(2)
    n = 20000
    risky = rng.random(n) < 0.5
    effect = np.where(risky, 0.0, 0.3)
    treated = rng.random(n) < 0.5
    value = 10.0 * (rng.random(n) < 0.2 + effect * treated)
    policies = {"uplift": uplift_policy(effect, 10.0, 1.0),
                "risk": top_policy(risky.astype(float), int(risky.sum()))}
    result = compare_policies(policies, treated, value, cost=1.0, propensity=0.5, n_boot=200, seed=1)
    # truth per customer: uplift policy 0.5 x (0.3 x 10 - 1) = 1.0; risk policy 0.5 x (0 - 1) = -0.5
    for name, truth in [("uplift", 1.0), ("risk", -0.5), ("everyone", 0.5)]:
        est = result.estimate(name)
        assert est.ci_low < truth < est.ci_high
    diff = result.difference("uplift", "risk")
    assert diff.ci_low > 0 and diff.value == pytest.approx(result.estimate("uplift").value
                                                             - result.estimate("risk").value)


def test_top_policy_and_uplift_policy() -> None:
    assert top_policy([0.1, 0.9, 0.5, 0.7], 2).tolist() == [False, True, False, True]
    assert uplift_policy([0.05, 0.2, -0.1], value_per_unit=10.0, cost=1.0).tolist() == [False, True, False]
