"""Feature snapshot: hand-computed counts on a tiny dataset, and no information from after as_of."""

from __future__ import annotations

import pandas as pd
import pytest

from cxresearch.features import default_as_of, lifetimes, snapshot
from cxresearch.schema import CXData


@pytest.fixture()
def tiny() -> CXData:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "signup_date": pd.to_datetime(["2023-01-05", "2022-12-01", "2023-02-01", "2023-08-01"]),
            "end_date": pd.to_datetime(["2023-08-10", None, "2023-05-01", None]),
            "monthly_margin": [10.0, 20.0, 30.0, 40.0],
            "plan": ["basic", "premium", "basic", "basic"],
        }
    )
    contacts = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "b"],
            "timestamp": pd.to_datetime(
                ["2023-05-01", "2023-06-20", "2023-07-02", "2023-06-01", "2023-02-01", "2023-04-01"]
            ),
            "channel": "phone",
            "direction": ["reactive", "reactive", "reactive", "proactive", "reactive", "reactive"],
            "reason": ["billing", "channel_inconsistency", "billing", "follow_up", "billing", "technical"],
            "resolved_first_contact": pd.array([True, False, False, None, True, False], dtype="boolean"),
        }
    )
    surveys = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "timestamp": pd.to_datetime(["2023-05-02", "2023-06-21", "2023-07-03", "2023-01-02", "2023-06-02"]),
            "instrument": ["ces", "ces", "ces", "nps", "nps"],
            "score": [3, 6, 7, 4, 9],
        }
    )
    return CXData(customers, contacts, surveys, observed_until=pd.Timestamp("2023-10-01"))


def test_snapshot_counts_match_hand_computation(tiny: CXData) -> None:
    s = snapshot(tiny, as_of="2023-07-01", window_months=3, horizon_months=3).set_index("customer_id")
    # d signed up after as_of: not in the snapshot.
    assert list(s.index) == ["a", "b", "c"]
    a, b, c = s.loc["a"], s.loc["b"], s.loc["c"]
    # Window is [2023-04-01, 2023-07-01): a's 2023-07-02 contact is in the future and must not count.
    assert (a.reactive_90d, a.unresolved_90d, a.inconsistency_90d, a.proactive_90d) == (2, 1, 1, 0)
    assert a.fcr_rate_90d == pytest.approx(0.5)
    assert a.ces_last == 6 and a.ces_mean == pytest.approx(4.5) and a.ces_mean_90d == pytest.approx(4.5)
    assert (b.reactive_90d, b.proactive_90d, b.unresolved_90d) == (1, 1, 1)
    assert b.nps_last == 9 and b.nps_mean == pytest.approx(6.5)
    assert pd.isna(b.ces_last)
    assert a.active and a.churned and a.event
    assert b.active and not b.churned and not b.event
    assert not c.active and not c.churned and c.event
    assert a.tenure_months == pytest.approx((pd.Timestamp("2023-07-01") - pd.Timestamp("2023-01-05")).days / 30.4375)
    assert b.duration_months == pytest.approx((pd.Timestamp("2023-10-01") - pd.Timestamp("2022-12-01")).days / 30.4375)


def test_snapshot_rejects_unobserved_prediction_window(tiny: CXData) -> None:
    with pytest.raises(ValueError, match="prediction window"):
        snapshot(tiny, as_of="2023-08-01", horizon_months=3)
    assert default_as_of(tiny, 3) == pd.Timestamp("2023-07-01")


def test_lifetimes_left_truncation(tiny: CXData) -> None:
    tiny.metadata["observed_from"] = "2023-01-01"
    lt = lifetimes(tiny).set_index("customer_id")
    assert lt.loc["b", "entry_months"] == pytest.approx(31 / 30.4375)
    assert lt.loc["a", "entry_months"] == 0
    assert lt["event"].tolist() == [True, False, True, False]
