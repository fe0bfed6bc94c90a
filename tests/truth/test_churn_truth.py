"""Notebook 02's known-truth checks at scale: the person-month hazard check on a stated random sample above the
cap, and on everyone (the same figures as without a cap) at or below it."""

from __future__ import annotations

import pandas as pd
import pytest

from cxresearch.churn.logit import fit_churn_logit
from cxresearch.data.simulate import simulate
from cxresearch.features.snapshot import snapshot
from cxresearch.truth.churn import hazard_recovery, known_truth_check


def _widths(table: pd.DataFrame) -> pd.Series:
    """Ratio of each term's upper to lower 95% limit (hazard-ratio scale)."""
    return table["ci_high"] / table["ci_low"]


@pytest.fixture(scope="module")
def world():
    return simulate(n_customers=3000, months=24, seed=5)


def test_hazard_check_below_the_cap_uses_everyone_unchanged(world) -> None:
    data = world.to_cxdata()
    everyone, _ = hazard_recovery(data, world.truth, 3)
    capped, sample = hazard_recovery(data, world.truth, 3, max_customers=3000)
    assert not sample.sampled and (sample.n_used, sample.n_total) == (3000, 3000)
    pd.testing.assert_frame_equal(capped, everyone)


def test_hazard_check_above_the_cap_samples_and_says_so(world) -> None:
    data = world.to_cxdata()
    everyone, _ = hazard_recovery(data, world.truth, 3)
    snap = snapshot(data, window_months=3, horizon_months=3)
    check = known_truth_check(data, world.truth, fit_churn_logit(snap[snap["active"]]), snap.attrs["as_of"], 3, 3,
                              truth_customers=3000, max_customers=1000, seed=2)
    sample = check.hazard_sample
    assert (sample.n_used, sample.n_total, sample.seed) == (1000, 3000, 2)
    assert sample.frame["customer_id"].nunique() == 1000
    # the fit rests on the sample: a third of the customers widens every interval
    assert (_widths(check.hazard) > _widths(everyone)).all()
    assert check.hazard["name"].tolist() == everyone["name"].tolist()
    assert ("The person-month hazard check: computed on a simple random sample of 1,000 of 3,000 customers (33%, "
            "seed 2)") in " ".join(check.sentences())
