"""Feature snapshot: hand-computed counts on a tiny dataset, and no information from after as_of."""

from __future__ import annotations

import pandas as pd
import pytest

from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import default_as_of, lifetimes, snapshot


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


@pytest.fixture()
def flat() -> CXData:
    """Flat data aligned at 2024-01-01: tenure 2 and 10 months, one churner, one CSAT, lifetime call counts."""
    as_of = pd.Timestamp("2024-01-01")
    customers = pd.DataFrame(
        {
            "customer_id": ["x", "y"],
            "signup_date": [as_of - pd.Timedelta(days=2 * 30.4375), as_of - pd.Timedelta(days=10 * 30.4375)],
            "end_date": [as_of, pd.NaT],
            "monthly_margin": [5.0, 7.0],
            "csat_score": pd.array([2, None], dtype="Int64"),
            "reactive_contacts": [4, 0],
        }
    )
    empty = {"customer_id": [], "timestamp": pd.to_datetime([])}
    contacts = pd.DataFrame({**empty, "channel": [], "direction": []})
    surveys = pd.DataFrame({**empty, "instrument": [], "score": []})
    return CXData(customers, contacts, surveys, observed_until=as_of, shape="flat",
                  metadata={"contacts_period": "the account's lifetime"})


def test_flat_snapshot_has_only_supported_columns(flat: CXData) -> None:
    s = snapshot(flat, as_of="2023-06-01", window_months=3, horizon_months=3).set_index("customer_id")
    assert s["tenure_months"].tolist() == pytest.approx([2.0, 10.0])
    assert s["duration_months"].tolist() == pytest.approx([2.0, 10.0])
    assert s["churned"].tolist() == [True, False] and s["active"].all()
    assert s.loc["x", "csat_last"] == 2 and pd.isna(s.loc["y", "csat_last"])
    assert s["reactive_contacts"].tolist() == [4, 0]
    absent = {"reactive_90d", "proactive_90d", "unresolved_90d", "inconsistency_90d", "nps_last", "ces_last",
              "fcr_rate", "proactive_contacts"}
    assert absent.isdisjoint(s.columns)
    assert s.attrs["shape"] == "flat" and s.attrs["as_of"] == "2024-01-01T00:00:00"
    assert any("2023-06-01 was requested" in note for note in s.attrs["notes"])
    assert any("the account's lifetime" in note for note in s.attrs["notes"])
    assert flat.capabilities == {"churn", "csat", "contacts", "reactive"}
    assert not flat.has_timestamps and flat.has("churn", "csat") and not flat.has("nps")


def test_snapshot_over_parquet_in_place_equals_the_in_memory_snapshot(tmp_path) -> None:
    from cxresearch.data.load import load_source
    from cxresearch.data.out_of_core import validate_out_of_core
    from cxresearch.data.simulate import simulate, write_world
    from cxresearch.features.snapshot import snapshot_parquet

    write_world(simulate(n_customers=3_000, months=18, seed=8), tmp_path)
    expected = snapshot(load_source(tmp_path))
    got = snapshot_parquet(validate_out_of_core(tmp_path))
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs == expected.attrs and len(got) > 2_000
    # Contacts without the optional columns count nothing as unresolved or inconsistent, as in memory.
    contacts = pd.read_parquet(tmp_path / "contacts.parquet").drop(columns=["reason", "resolved_first_contact"])
    contacts.to_parquet(tmp_path / "contacts.parquet", index=False)
    pd.testing.assert_frame_equal(snapshot_parquet(validate_out_of_core(tmp_path)), snapshot(load_source(tmp_path)))
