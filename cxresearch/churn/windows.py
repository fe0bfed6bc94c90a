"""The windows a churn snapshot can use on this data: feature window and prediction horizon fitted to the observed
history, the survey lookback, and the pair of snapshots of an out-of-time holdout.

Months are calendar months; dates are pandas Timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cxresearch.data.schema import CXData
from cxresearch.features.cache import SharedTables
from cxresearch.features.observation import observed_from_or_first_event
from cxresearch.features.snapshot import snapshot as make_snapshot


def out_of_time_snapshots(
    data: CXData, as_of: str | pd.Timestamp | None, window_months: int = 3, horizon_months: int = 3,
    test: pd.DataFrame | None = None,
    cache: SharedTables | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and test snapshots (active customers): training `horizon_months` before the test `as_of`.

    The training labels end exactly at the test `as_of`, so a model trained on them could have been built on
    that day and used to score the test customers: no information from the test window leaks into training.
    `test`: the snapshot at `as_of` with these windows when the caller has it already (saves rebuilding it).
    Raises ValueError on flat data (one date only: there is no earlier snapshot) and when the training
    snapshot's feature window would begin before observation did (its counts would be truncated).

    Parameters
    ----------
    data
        The validated data.
    as_of
        Test snapshot date; None or '' for the latest with a fully observed horizon.
    window_months, horizon_months
        Feature window and prediction horizon (months).
    test
        The test snapshot, when already built.
    cache
        A suite run's shared tables, which keep each snapshot built once for all notebooks (None: none).

    Returns
    -------
    tuple of pandas.DataFrame
        Training and test snapshots, active customers only.
    """
    if data.shape == "flat":
        raise ValueError("flat data describes one date only, so there is no earlier snapshot to train on")
    if test is None:
        test = make_snapshot(data, as_of=as_of, window_months=window_months, horizon_months=horizon_months,
                             cache=cache)
    test_as_of = pd.Timestamp(test.attrs["as_of"])
    train_window = test_as_of - pd.DateOffset(months=horizon_months + window_months)
    start = observed_from_or_first_event(data)
    if train_window < start:
        raise ValueError(
            f"the training snapshot's {window_months}-month feature window would begin {train_window.date()}, "
            f"before observation began ({start.date()}): an out-of-time holdout needs {window_months} + "
            f"2 x {horizon_months} months of history, the data has {months_between(start, data.observed_until)}"
        )
    train = make_snapshot(data, as_of=test_as_of - pd.DateOffset(months=horizon_months),
                          window_months=window_months, horizon_months=horizon_months, cache=cache)
    return train[train["active"]].reset_index(drop=True), test[test["active"]].reset_index(drop=True)


def months_between(start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Whole calendar months from `start` to `end` (a day short of a month does not count).

    Parameters
    ----------
    start, end
        Dates.

    Returns
    -------
    int
        Whole months.
    """
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


@dataclass(frozen=True)
class Windows:
    """Feature window and prediction horizon (months) a snapshot uses, and what was changed to fit the data."""

    window_months: int
    horizon_months: float | None
    observed_months: int | None
    note: str = ""

    @property
    def adapted(self) -> bool:
        """Whether the requested windows were changed to fit the data."""
        return bool(self.note)

    @property
    def horizon_words(self) -> str:
        """The prediction horizon in words: "within the next 3 months", or the flat churn flag's unknown period."""
        if self.horizon_months is None:
            return "in the period the churn flag covers (not documented)"
        return f"within the next {self.horizon_months:g} month{'s' if self.horizon_months != 1 else ''}"


def fit_windows(data: CXData, window_months: int = 3, horizon_months: int = 3) -> Windows:
    """The requested feature window and horizon, shortened when the observed history holds fewer months than
    both need (the horizon keeps at least 1 month, the window the rest), with a sentence saying what was chosen.

    Flat data has no windows (one date): its horizon is the period the churn flag covers
    (`metadata["churn_period_months"]`, None when undocumented), whatever was requested. Raises ValueError when
    fewer than 2 months were observed (no window and horizon fit at all).

    Parameters
    ----------
    data
        The validated data.
    window_months, horizon_months
        Requested feature window and horizon (months).

    Returns
    -------
    Windows
        The windows used and a note on what changed.
    """
    if data.shape == "flat":
        period = data.metadata.get("churn_period_months")
        period = float(period) if period else None
        if period == horizon_months:
            return Windows(window_months, period, None)
        stated = "covers a period the data does not document"
        if period:
            stated = f"covers {period:g} month{'s' if period != 1 else ''} (the data's stated churn period)"
        return Windows(window_months, period, None, f"Flat data: the churn flag {stated}, so that is the horizon "
                       f"here, not the {horizon_months}-month horizon_months parameter.")
    months = months_between(observed_from_or_first_event(data), data.observed_until)
    if window_months + horizon_months <= months:
        return Windows(window_months, horizon_months, months)
    if months < 2:
        raise ValueError(f"only {months} whole month(s) observed: a snapshot needs at least 1 month of features "
                         "and 1 month to see who leaves")
    horizon = max(1, min(horizon_months, months // 2))
    window = max(1, min(window_months, months - horizon))
    return Windows(window, horizon, months, (
        f"The data covers {months} months, fewer than the {window_months}-month feature window plus the "
        f"{horizon_months}-month prediction horizon requested: {window} months of features and a {horizon}-month "
        "horizon are used instead."))


def fit_lookback(data: CXData, cutoff: pd.Timestamp, lookback_months: int) -> tuple[int, str]:
    """Months of survey answers before `cutoff` to summarise: `lookback_months`, or fewer when observation began
    later (at least 1), with a sentence saying so ('' when unchanged).

    Parameters
    ----------
    data
        The validated data.
    cutoff
        End of the lookback.
    lookback_months
        Requested months.

    Returns
    -------
    tuple
        Months used and a note ('' when unchanged).
    """
    if data.shape == "flat":
        return lookback_months, ""
    available = max(1, months_between(observed_from_or_first_event(data), pd.Timestamp(cutoff)))
    if available >= lookback_months:
        return lookback_months, ""
    return available, (f"Only {available} months of answers precede {pd.Timestamp(cutoff).date()}: the metrics "
                       f"cover those {available} months instead of the {lookback_months} requested.")
