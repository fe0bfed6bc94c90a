"""Simulated churn reasons: plausible shares, a complete truth, and gammas recovered by a multinomial logit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.schema import END_REASONS
from cxresearch.data.simulate import _simulate, simulate
from cxresearch.data.simulate_reasons import REASON_DETAIL, REASON_DRIVERS, REASON_LOG_RELATIVE_HAZARD
from cxresearch.truth.reasons import reason_logit_recovery
from cxresearch.truth.recovery import direction_counts


@pytest.fixture(scope="module")
def large() -> tuple[dict, pd.DataFrame]:
    """A 100k-customer world (about 42,000 churners): its truth and its churners' drivers and reasons."""
    world, latent = _simulate(100_000, 36, 7, "2023-01-01", keep_latent=True)
    return world.truth, latent["churners"]


def test_multinomial_logit_recovers_the_log_relative_hazards(large: tuple[dict, pd.DataFrame]) -> None:
    truth, churners = large
    table = reason_logit_recovery(churners, truth)
    # 5 causes against `moved`, each an intercept and one gamma per driver
    assert len(table) == 5 * (1 + len(REASON_DRIVERS))
    assert table["truth_in_ci"].mean() >= 0.7, table
    right, judged = direction_counts(table)
    assert judged == 14 and right == judged, table  # 5 intercepts and 9 non-zero gammas
    slopes = table.set_index("name")
    # service effort acts on service churn, not on price churn
    assert slopes.loc["service:ces_mean_90d", "ci_low"] > 0
    assert slopes.loc["price:ces_mean_90d", "ci_low"] < 0 < slopes.loc["price:ces_mean_90d", "ci_high"]


def test_truth_reports_gammas_shares_and_their_definition(large: tuple[dict, pd.DataFrame]) -> None:
    truth, churners = large
    reasons = truth["churn_reasons"]
    assert reasons["reference"] == "moved" and "moved" not in reasons["log_relative_hazard"]
    assert reasons["log_relative_hazard"]["service"]["unresolved_90d"] == 0.45
    assert reasons["log_relative_hazard"]["price"]["ces_mean_90d"] == 0.0
    assert set(reasons["drivers"]) == set(REASON_DRIVERS) and "log(h_k / h_moved)" in reasons["definition"]
    share = reasons["share"]
    assert sum(share.values()) == pytest.approx(1.0, abs=1e-5)
    # Plausible for a telco: service and competitor ~30% each, price ~15%, moved ~10%, the rest ~5% each.
    bounds = {"service": (0.25, 0.35), "competitor": (0.25, 0.35), "price": (0.10, 0.20), "moved": (0.08, 0.14),
              "involuntary": (0.03, 0.08), "other": (0.03, 0.08)}
    for reason, (lo, hi) in bounds.items():
        assert lo <= share[reason] <= hi, (reason, share[reason])
    # `share` is the mean of each churner's reason probabilities; the drawn shares agree within sampling error
    assert share["service"] == pytest.approx(churners["p_service"].mean(), abs=1e-6)
    assert reasons["n_churners"] == len(churners)
    for reason in END_REASONS:
        se = np.sqrt(share[reason] * (1 - share[reason]) / len(churners))
        assert abs(reasons["share_drawn"][reason] - share[reason]) < 4 * se, reason


def test_probabilities_follow_the_multinomial_logit(large: tuple[dict, pd.DataFrame]) -> None:
    _, churners = large
    row = churners.iloc[0]
    logits = {r: g["intercept"] + sum(v * row[d] for d, v in g.items() if d != "intercept")
              for r, g in REASON_LOG_RELATIVE_HAZARD.items()}
    for reason, logit in logits.items():
        assert np.log(row[f"p_{reason}"] / row["p_moved"]) == pytest.approx(logit, abs=1e-9)


def test_detail_labels_belong_to_their_reason() -> None:
    customers = simulate(4_000, 24, seed=1).customers.dropna(subset=["end_reason"])
    for reason, labels in REASON_DETAIL.items():
        found = set(customers.loc[customers["end_reason"] == reason, "end_reason_detail"])
        assert found and found <= set(labels), reason


def test_count_and_segment_drivers_are_observable_in_the_tables() -> None:
    # Unresolved and inconsistency counts of the 3 calendar months before the churn month, margin and plan: the
    # tables give each churner's drivers exactly (only the effort driver is the experienced, partly unsurveyed CES).
    world, latent = _simulate(5_000, 24, 4, "2023-01-01", keep_latent=True)
    churners = latent["churners"].set_index("customer_id")
    start = world.observed_from

    def month(s: pd.Series) -> pd.Series:
        return (s.dt.year - start.year) * 12 + s.dt.month - start.month

    churn_month = month(world.customers.set_index("customer_id")["end_date"]).dropna()
    contacts = world.contacts.assign(m=month(world.contacts["timestamp"]))
    contacts = contacts.join(churn_month.rename("churn_month"), on="customer_id").dropna(subset=["churn_month"])
    window = contacts[(contacts["m"] < contacts["churn_month"]) & (contacts["m"] >= contacts["churn_month"] - 3)]
    reactive = window[window["direction"] == "reactive"]
    counted = pd.DataFrame({
        "unresolved_90d": reactive["resolved_first_contact"].eq(False).groupby(reactive["customer_id"]).sum(),
        "inconsistency_90d": reactive["reason"].eq("channel_inconsistency").groupby(reactive["customer_id"]).sum(),
    }).reindex(churners.index, fill_value=0)
    pd.testing.assert_frame_equal(counted.astype(float), churners[["unresolved_90d", "inconsistency_90d"]])
    customers = world.customers.set_index("customer_id").loc[churners.index]
    np.testing.assert_array_equal(customers["monthly_margin"], churners["monthly_margin"])
    np.testing.assert_array_equal(customers["plan"].eq("premium"), churners["plan[premium]"].eq(1.0))
    assert customers["end_reason"].tolist() == churners["end_reason"].tolist()
