"""Transaction logs for non-contractual customers: read CDNOW-style files, summarise as recency-frequency-monetary.

The RFM summary is what BG/NBD and Gamma-Gamma need (Fader, Hardie & Lee 2005): per customer, over a calibration
period that starts at her first purchase, `frequency` = repeat purchase DAYS (transactions on one day are one
purchase; the first day does not count), `recency` = time from the first to the last purchase day, `T` = time from
the first purchase to the end of calibration, all in weeks by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxresearch.errors import NotEstimableError

if TYPE_CHECKING:
    from cxresearch.data.schema import CXData

#: Shortest calibration period (days) BG/NBD is fitted on, and the shortest log that also leaves a holdout of it.
MIN_CALIBRATION_DAYS = 8 * 7

#: Columns of a CDNOW file: the 1/10th sample has a second (sample) id, the master file a header line.
_CDNOW_SAMPLE = ["customer_id", "sample_id", "date", "quantity", "spend"]
_CDNOW_MASTER = ["customer_id", "date", "quantity", "spend"]


def read_cdnow(path: str | Path) -> pd.DataFrame:
    """Read a CDNOW transaction log (whitespace-separated id(s), date YYYYMMDD, quantity, dollars).

    Returns one row per transaction: customer_id (str), date (Timestamp), quantity (CDs), spend (dollars).
    Accepts the 1/10th sample (`CDNOW_sample.txt`, 5 columns, no header) and the master file (4 columns,
    optional header).
    """
    path = Path(path)
    first = path.read_text().splitlines()[0].split()
    has_header = not first[0].isdigit()
    names = _CDNOW_SAMPLE if len(first) == 5 else _CDNOW_MASTER
    if len(first) not in (4, 5):
        raise ValueError(f"{path.name}: expected 4 or 5 whitespace-separated columns, found {len(first)}")
    df = pd.read_csv(path, sep=r"\s+", header=None, names=names, skiprows=1 if has_header else 0,
                     dtype={"customer_id": str, "date": str})
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d", errors="raise")
    if df["spend"].lt(0).any():
        raise ValueError(f"{path.name}: {int(df['spend'].lt(0).sum())} transactions with negative spend")
    return df[["customer_id", "date", "quantity", "spend"]]


def rfm_summary(
    transactions: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
    time_unit_days: float = 7.0,
    customer: str = "customer_id",
    date: str = "date",
    spend: str = "spend",
) -> pd.DataFrame:
    """Per customer who bought by `calibration_end` (inclusive): frequency, recency, T, monetary_value, holdout.

    - frequency: repeat purchase days in [first purchase, calibration_end] (purchase days - 1);
    - recency, T: time from the first purchase day to the last one / to `calibration_end`, in units of
      `time_unit_days` (weeks by default);
    - monetary_value: mean spend per repeat purchase day (the first day excluded, as in the Gamma-Gamma
      model's input), NaN when frequency is 0;
    - with `holdout_end`: holdout_frequency = purchase days in (calibration_end, holdout_end] and holdout_length.
    """
    calibration_end = pd.Timestamp(calibration_end)
    for column in (customer, date, spend):
        if column not in transactions.columns:
            raise KeyError(f"transactions have no {column!r} column")
    days = (
        transactions.assign(_day=transactions[date].dt.normalize())
        .groupby([customer, "_day"], as_index=False)[spend].sum()
        .sort_values([customer, "_day"], kind="stable")
    )
    first = days.groupby(customer)["_day"].transform("min")
    cal = days[days["_day"] <= calibration_end]
    cal_first = first.loc[cal.index]
    repeat = cal[cal["_day"] > cal_first]
    unit = pd.Timedelta(days=time_unit_days)
    out = pd.DataFrame({"first_purchase": cal.groupby(customer)["_day"].min()})
    out["frequency"] = repeat.groupby(customer).size().reindex(out.index, fill_value=0).astype(int)
    out["recency"] = (cal.groupby(customer)["_day"].max() - out["first_purchase"]) / unit
    out["T"] = (calibration_end - out["first_purchase"]) / unit
    out["monetary_value"] = repeat.groupby(customer)[spend].mean().reindex(out.index)
    if holdout_end is not None:
        holdout_end = pd.Timestamp(holdout_end)
        hold = days[(days["_day"] > calibration_end) & (days["_day"] <= holdout_end)]
        out["holdout_frequency"] = hold.groupby(customer).size().reindex(out.index, fill_value=0).astype(int)
        out["holdout_length"] = (holdout_end - calibration_end) / unit
    out.attrs.update(calibration_end=calibration_end.isoformat(), time_unit_days=time_unit_days)
    return out


@dataclass
class CalibrationSplit:
    """Calibration end and holdout end (None = no holdout) of a purchase log, and how they were chosen."""

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp | None
    note: str = ""  # set when the requested dates did not fit the log and were derived from it


def calibration_split(
    transactions: pd.DataFrame, calibration_end: str = "", holdout_end: str = "", date: str = "date"
) -> CalibrationSplit:
    """The requested calibration and holdout ends when they lie inside the purchase log, else ends derived from it.

    Requested dates fit when first purchase < calibration_end < holdout_end <= last purchase (`holdout_end` ""
    asks for no holdout). Otherwise the calibration covers the first half of the log and the holdout (if one was
    asked for) the second, as in Fader, Hardie & Lee (2005: 39 + 39 weeks of CDNOW); a log shorter than twice
    `MIN_CALIBRATION_DAYS` is calibrated whole, without a holdout. `NotEstimableError` below
    `MIN_CALIBRATION_DAYS`.
    """
    first, last = transactions[date].min().normalize(), transactions[date].max().normalize()
    span = (last - first).days
    if span < MIN_CALIBRATION_DAYS:
        raise NotEstimableError(f"the purchase log spans {span} days ({first.date()} to {last.date()}); BG/NBD "
                                f"needs at least {MIN_CALIBRATION_DAYS // 7} weeks of purchases", needs="more history")
    cal, hold = _iso_date("calibration_end", calibration_end), _iso_date("holdout_end", holdout_end)
    if cal is not None and first < cal < last and (hold is None or cal < hold <= last):
        return CalibrationSplit(cal, hold)
    asked = f"calibration_end {calibration_end or '(none)'}" + (f", holdout_end {holdout_end}" if hold else "")
    window = f"{asked} {'do' if hold else 'does'} not fit the purchase log ({first.date()} to {last.date()})"
    if hold is not None and span >= 2 * MIN_CALIBRATION_DAYS:
        cal = first + pd.Timedelta(days=span // 2)
        return CalibrationSplit(cal, last, f"The requested {window}: calibration ends half-way, on {cal.date()}, "
                                           f"and the holdout runs to {last.date()}.")
    why = "the log is too short to leave a holdout as well" if hold is not None else "no holdout was asked for"
    return CalibrationSplit(last, None, f"The requested {window}: the model is calibrated on the whole log, with "
                                        f"no holdout check ({why}).")


def _iso_date(name: str, text: str) -> pd.Timestamp | None:
    """A parameter date in the form YYYY-MM-DD ("" = none); anything else is refused with the expected form."""
    if not text:
        return None
    try:
        return pd.to_datetime(text, format="%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a date of the form YYYY-MM-DD") from None


def weekly_repeat_purchases(
    transactions: pd.DataFrame, start: str | pd.Timestamp, weeks: int, customer: str = "customer_id",
    date: str = "date", period_days: float = 7.0,
) -> np.ndarray:
    """Cumulative repeat purchase days of all customers at the end of periods 1..`weeks` (of `period_days` days).

    Periods start at `start`; a customer's first purchase day is not a repeat purchase.
    """
    days = transactions[[customer, date]].assign(_day=transactions[date].dt.normalize()).drop_duplicates(
        [customer, "_day"])
    first = days.groupby(customer)["_day"].transform("min")
    repeat_days = days.loc[days["_day"] > first, "_day"]
    elapsed = ((repeat_days - pd.Timestamp(start)).dt.days.to_numpy() // period_days).astype(int)
    counts = np.bincount(elapsed[(elapsed >= 0) & (elapsed < weeks)], minlength=weeks)
    return np.cumsum(counts)


def cohort_transactions(data: CXData, transactions_source: str = "") -> pd.DataFrame | None:
    """Purchases as (customer_id, date, spend): from a CDNOW file `transactions_source`, else `data.transactions`.

    `data` is a `CXData` (its transactions have customer_id, timestamp, amount, as the `cdnow:` adapter writes
    them); None when neither holds a purchase.
    """
    if transactions_source:
        return read_cdnow(transactions_source)
    table = data.transactions
    if table is None or not len(table) or not {"customer_id", "timestamp", "amount"} <= set(table.columns):
        return None
    return pd.DataFrame({"customer_id": table["customer_id"].astype(str), "date": table["timestamp"],
                         "spend": table["amount"].astype(float)})
