"""Tests for cxresearch.data.audit (monthly activity and coverage counted by hand) and what
`report.record.audit.record_audit` writes."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cxresearch.data.audit import audit
from cxresearch.data.schema import CXData
from cxresearch.report.record.audit import NO_RECORDED_ENDS, record_audit
from cxresearch.report.results import Results


@pytest.fixture
def tiny() -> CXData:
    """Three customers over Jan-Mar 2024: A and C join on Jan 1 (new in January), A churns in February, B joins
    in February, C stays throughout."""
    customers = pd.DataFrame({
        "customer_id": ["A", "B", "C"],
        "signup_date": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-01"]),
        "end_date": pd.to_datetime(["2024-02-15", None, None]),
        "monthly_margin": [10.0, 20.0, 30.0],
    })
    contacts = pd.DataFrame({
        "customer_id": ["A", "C", "C"],
        "timestamp": pd.to_datetime(["2024-01-05", "2024-01-07", "2024-03-01"]),
        "channel": ["phone", "phone", "email"],
        "direction": ["reactive", "reactive", "proactive"],
    })
    surveys = pd.DataFrame({
        "customer_id": ["A", "C", "C"],
        "timestamp": pd.to_datetime(["2024-01-05", "2024-01-07", "2024-03-01"]),
        "instrument": ["nps", "nps", "ces"],
        "score": [3, 9, 2],
    })
    return CXData(customers, contacts, surveys, observed_until=pd.Timestamp("2024-04-01"))


def _results() -> Results:
    return Results(notebook="01_data_audit", parameters={}, data_fingerprint="x")


def test_monthly_activity_and_coverage_match_a_hand_count(tiny: CXData) -> None:
    result = audit(tiny)
    # Jan: nobody active at its start (A and C are new), so no rate; Feb: A, C active, A churns, B new;
    # Mar: B, C active. Pooled: 1 churn in 4 customer-months.
    assert result.monthly["month"].dt.strftime("%Y-%m").tolist() == ["2024-02", "2024-03"]
    assert result.monthly["active_start"].tolist() == [2, 2]
    assert result.monthly["churned"].tolist() == [1, 0]
    assert result.monthly_churn.value == pytest.approx(25.0)
    coverage = result.survey_coverage.set_index("instrument")
    assert coverage.loc["nps", "customers_answered"] == 2
    assert coverage.loc["nps", "pct_customers_answered"] == pytest.approx(200 / 3)
    assert coverage.loc["csat", "responses"] == 0
    assert result.plausibility == []


def test_record_audit_writes_the_counts_coverage_and_a_finding(tiny: CXData) -> None:
    results = _results()
    record_audit(results, audit(tiny))
    e = results.estimates
    assert (e["n_customers"].value, e["n_contacts"].value, e["n_survey_responses"].value) == (3, 3, 3)
    assert e["monthly_churn_rate"].value == pytest.approx(25.0)
    assert e["pct_answered_ces"].value == pytest.approx(100 / 3) and e["pct_answered_csat"].value == 0
    assert [row["month"] for row in results.tables["monthly_activity"]] == ["2024-02", "2024-03"]
    assert results.findings[0].startswith("3 customers observed until 2024-04-01; average monthly churn 25.00% (")
    assert results.skipped == [] and results.warnings == []


def test_record_audit_records_plausibility_warnings_and_leads_with_the_first(tiny: CXData) -> None:
    costs = dataclasses.replace(tiny, customers=tiny.customers.assign(monthly_margin=[-1.0, 0.0, 5.0]))
    results = _results()
    record_audit(results, audit(costs))
    warning = ("Monthly margin is zero or negative for 2 of 3 customers (66.7%): CLV and retention economics will "
               "be negative or zero; check that it is a margin, not a cost, and its sign.")
    assert results.warnings == [warning]
    assert results.findings[0].endswith(" Check the data first: m" + warning[1:])


def test_flat_data_skips_monthly_churn_with_its_reason(tiny: CXData) -> None:
    flat = dataclasses.replace(tiny, shape="flat")
    results = _results()
    record_audit(results, audit(flat))
    assert "monthly_churn_rate" not in results.estimates
    assert results.skipped == [{"analysis": "monthly churn",
                                "reason": "the data has no event dates (one row per customer)",
                                "needs": "event dates"}]
    assert results.findings == ["3 customers, one row each (no event dates)."]


def test_a_purchase_log_has_no_churn_rate_and_says_why(tiny) -> None:
    log = dataclasses.replace(tiny, customers=tiny.customers.assign(end_date=pd.NaT))
    results = Results("01_data_audit", {}, "x")
    record_audit(results, audit(log))
    assert "monthly_churn_rate" not in results.estimates
    assert results.skipped == [{"analysis": "monthly churn", "reason": NO_RECORDED_ENDS, "needs": "churners"}]
    assert results.findings[0].startswith(
        f"{len(log.customers)} customers observed until {log.observed_until.date()}; {NO_RECORDED_ENDS}.")


def test_audit_plots_draw_the_counted_values_on_the_axes_given(tiny: CXData) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cxresearch.plots.audit import plot_monthly_activity, plot_score_distribution

    result = audit(tiny)
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_monthly_activity(result, ax=left) is left
    assert [bar.get_height() for bar in left.patches] == [2, 2]
    first = plot_score_distribution(result, ax=right)
    # NPS (3 and 9, one answer each) and CES (one 2): two panels in the space of `right`, CSAT has no answer
    assert first.get_title() == "NPS (0-10)" and len(fig.axes) == 4  # left, its twin, and the two panels
    assert [round(bar.get_height()) for bar in first.patches if bar.get_height()] == [50, 50]
    plt.close(fig)
