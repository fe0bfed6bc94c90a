"""Tests for cxresearch.data.plausibility: each warning on hand-built data with known counts, and silence on clean data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cxresearch.data.plausibility import PlausibilityWarning, check_plausibility
from cxresearch.data.schema import CXData

N = 40


def clean() -> CXData:
    """40 customers signing up every 10 days from 2023-01-01, every 4th leaving 100 days later (25% churn),
    margins 20 or 30, two plans of 20, one contact and one NPS answer (scores 0-10 in turn) each."""
    i = np.arange(N)
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(10 * i, unit="D")
    end = pd.Series(signup + pd.Timedelta(days=100)).where(i % 4 == 0)
    customers = pd.DataFrame({
        "customer_id": [f"c{k:02d}" for k in i],
        "signup_date": signup,
        "end_date": end,
        "monthly_margin": 20.0 + 10 * (i % 2),
        "plan": np.where(i % 2 == 0, "basic", "premium"),
    })
    contacts = pd.DataFrame({
        "customer_id": customers["customer_id"], "timestamp": signup + pd.Timedelta(days=1),
        "channel": "phone", "direction": "reactive",
    })
    surveys = pd.DataFrame({
        "customer_id": customers["customer_id"], "timestamp": signup + pd.Timedelta(days=2),
        "instrument": "nps", "score": i % 11,
    })
    return CXData(customers, contacts, surveys, observed_until=pd.Timestamp("2024-06-01"))


def with_customers(data: CXData, **columns: object) -> CXData:
    """`data` with some customer columns replaced."""
    return dataclasses.replace(data, customers=data.customers.assign(**columns))


def only(warnings: list[PlausibilityWarning]) -> PlausibilityWarning:
    """The single warning in `warnings`."""
    assert len(warnings) == 1, [str(w) for w in warnings]
    return warnings[0]


def test_clean_data_raises_no_warning() -> None:
    assert check_plausibility(clean()) == []


def test_the_demo_fixture_warns_only_about_its_plan_of_one(tiny: CXData) -> None:
    # conftest's `tiny`: plans basic x3 and premium x1.
    warning = only(check_plausibility(tiny))
    assert (warning.table, warning.column, warning.n_rows, warning.examples) == ("customers", "plan", 1, ["'premium'"])
    assert warning.message == "1 of 2 plan values is held by a single customer"


def test_mostly_non_positive_margins_are_flagged_with_counts_and_examples() -> None:
    margin = np.where(np.arange(N) < 30, -5.0, 25.0)
    margin[0] = 0.0  # zero counts as not positive
    warning = only(check_plausibility(with_customers(clean(), monthly_margin=margin)))
    assert (warning.column, warning.n_rows, warning.examples) == ("monthly_margin", 30, ["c00", "c01", "c02"])
    assert warning.message == "monthly margin is zero or negative for 30 of 40 customers (75.0%)"
    assert str(warning) == (
        "customers.monthly_margin: monthly margin is zero or negative for 30 of 40 customers (75.0%) "
        "(e.g. c00, c01, c02): CLV and retention economics will be negative or zero; check that it is a margin, "
        "not a cost, and its sign"
    )
    half = np.where(np.arange(N) < 20, -5.0, 25.0)  # exactly half is not "most"
    assert check_plausibility(with_customers(clean(), monthly_margin=half)) == []


def test_margins_that_are_totals_to_date_are_flagged() -> None:
    data = clean()
    c = data.customers
    months = (c["end_date"].fillna(data.observed_until) - c["signup_date"]).dt.days / 30.4375
    warning = only(check_plausibility(with_customers(data, monthly_margin=25.0 * months)))
    # Total = monthly x months: the ranks coincide exactly.
    assert warning.column == "monthly_margin" and warning.n_rows == N
    assert "rank correlation 1.00 over 40 customers" in warning.message
    few = dataclasses.replace(data, customers=c.assign(monthly_margin=25.0 * months).head(29))
    assert check_plausibility(few) == []  # below 30 customers the check stays silent


@pytest.mark.parametrize(("n_left", "expected"), [
    (37, "37 of 40 customers (92.5%) have left"),
    (36, None),  # 90.0% is not above 90%
    (0, "only 0 of 40 customers (0.00%) have left"),
    (1, None),  # 2.5% is not below 0.5%
])
def test_churn_above_90_or_below_half_a_percent_is_flagged(n_left: int, expected: str | None) -> None:
    data = clean()
    c = data.customers
    end = (c["signup_date"] + pd.Timedelta(days=30)).where(np.arange(N) < n_left)
    warnings = check_plausibility(with_customers(data, end_date=end))
    if expected is None:
        assert warnings == []
    else:
        warning = only(warnings)
        assert (warning.column, warning.n_rows, warning.message) == ("end_date", n_left, expected)


def test_purchase_data_is_not_flagged_for_nobody_leaving() -> None:
    data = with_customers(clean(), end_date=pd.NaT)
    purchases = pd.DataFrame({"customer_id": ["c00"], "timestamp": [pd.Timestamp("2023-02-01")], "amount": [9.0]})
    assert check_plausibility(dataclasses.replace(data, transactions=purchases)) == []


def test_an_instrument_whose_every_score_is_the_same_is_flagged() -> None:
    data = clean()
    same = dataclasses.replace(data, surveys=data.surveys.assign(score=7))
    warning = only(check_plausibility(same))
    assert (warning.table, warning.column, warning.n_rows) == ("surveys", "score", N)
    assert warning.message == "every NPS score is 7 (40 responses)"
    few = dataclasses.replace(data, surveys=data.surveys.assign(score=7).head(19))
    assert check_plausibility(few) == []  # 19 identical answers can be chance


def test_flat_score_and_count_columns_that_never_vary_are_flagged() -> None:
    data = dataclasses.replace(clean(), shape="flat")
    flat = with_customers(data, csat_score=3, reactive_contacts=np.where(np.arange(N) < 5, np.nan, 0))
    warnings = check_plausibility(flat)
    assert [(w.column, w.n_rows, w.message) for w in warnings] == [
        ("csat_score", 40, "every customer's CSAT score is 3 (40 customers)"),
        ("reactive_contacts", 35, "every customer has 0 reactive contacts (35 customers)"),
    ]


def test_a_segment_value_held_by_one_customer_is_named() -> None:
    region = ["north"] * 36 + ["east", "south", "west", "west"]
    warning = only(check_plausibility(with_customers(clean(), region=region)))
    assert (warning.column, warning.n_rows, warning.examples) == ("region", 2, ["'east'", "'south'"])
    assert warning.message == "2 of 4 region values are held by one customer each"


@pytest.mark.parametrize(("first_signup", "flagged"), [
    ("1900-01-01", True),  # a stand-in date
    ("1970-01-01", True),  # the Unix epoch
    ("2002-12-31", True),  # more than 20 years before the first contact (2023-01-02)
    ("2003-01-02", False),  # exactly 20 years before it
])
def test_sign_ups_decades_before_the_first_event_are_flagged(first_signup: str, flagged: bool) -> None:
    data = clean()
    signup = data.customers["signup_date"].copy()
    signup[0] = pd.Timestamp(first_signup)
    warnings = check_plausibility(with_customers(data, signup_date=signup))
    if not flagged:
        assert warnings == []
        return
    warning = only(warnings)
    assert (warning.column, warning.n_rows, warning.examples) == ("signup_date", 1, ["c00"])
    assert warning.message == (
        "1 customer signed up on or before 1970-01-01 or more than 20 years before the first recorded event "
        f"(2023-01-02); the earliest on {first_signup}"
    )


def test_flat_sign_ups_before_1970_point_at_tenure_units() -> None:
    events = clean()
    data = dataclasses.replace(events, shape="flat", contacts=events.contacts.head(0), surveys=events.surveys.head(0))
    signup = data.customers["signup_date"].copy()
    signup[:3] = pd.Timestamp("1960-05-01")
    warning = only(check_plausibility(with_customers(data, signup_date=signup)))
    assert warning.n_rows == 3 and warning.message.startswith("3 customers signed up on or before 1970-01-01;")
    assert "check tenure's unit" in warning.consequence


def test_observation_ending_long_after_the_last_recorded_date_is_flagged() -> None:
    # The last date in the clean world is customer c36's end, 2023-12-27 + 100 days = 2024-04-05.
    late = dataclasses.replace(clean(), observed_until=pd.Timestamp("2025-06-01"))
    warning = only(check_plausibility(late))
    assert warning.table == "observation" and warning.column is None
    gap = (pd.Timestamp("2025-06-01") - pd.Timestamp("2024-04-05")).days
    assert warning.message.startswith(f"nothing is recorded in the last {gap:,} days of observation")
    assert check_plausibility(dataclasses.replace(clean(), observed_until=pd.Timestamp("2025-04-05"))) == []


def test_acquisition_mostly_free_is_flagged() -> None:
    cost = np.where(np.arange(N) < 25, 0.0, 150.0)
    warning = only(check_plausibility(with_customers(clean(), acquisition_cost=cost)))
    assert warning.message == "acquisition cost is zero for 25 of 40 customers who have one (62.5%)"


def test_warnings_come_most_consequential_first() -> None:
    data = with_customers(clean(), monthly_margin=-1.0, region=["north"] * 39 + ["east"])
    assert [w.column for w in check_plausibility(data)] == ["monthly_margin", "region"]
