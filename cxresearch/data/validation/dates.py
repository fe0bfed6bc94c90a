"""Dates written as text: ISO 8601, or day and month in either order when the data or the mapping settles it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.data.validation.problems import N_EXAMPLES

#: A date written day and month first in either order, then the year: 03/04/2024, 31.12.24, 4-3-2024 12:30.
_DAY_MONTH = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?$")

_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")

#: Strictly `YYYY-MM-DD`: how dates are written in a mapping file and dataset.json.
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class DateReading:
    """Text dates read day first or month first: `dates` (NaT where unreadable), or `problem` when refused.

    `dayfirst` is the reading used (None when the values were ISO 8601 and left to `parse_tables`);
    `inferred` is True when the data, not the mapping, decided it (some day above 12).
    """

    dates: pd.Series | None
    dayfirst: bool | None = None
    inferred: bool = False
    problem: str = ""
    examples: tuple[str, ...] = ()
    n_rows: int = 0  # rows the problem is about


def read_day_month_dates(values: pd.Series, dayfirst: bool | None = None) -> DateReading:
    """Text dates such as 31.12.2024 or 12/31/2024 as datetime64[ns], reading day/month as `dayfirst` says.

    Without `dayfirst`, the order is inferred only when the data settles it (a first field above 12 means day
    first, a second field above 12 month first); dates valid in both readings are refused, as is a column
    mixing both. ISO 8601 values are read as such; a column of only ISO 8601 text is left to `parse_tables`
    (`dates` None). Two-digit years are 2000-2068 or 1969-1999.
    """
    present = values.dropna()
    if values.dtype != object or present.empty:
        return DateReading(None)
    text = present.astype(str).str.strip()
    iso = text.str.match(_ISO_START)
    if iso.all():  # ISO 8601 dates, checked fully by `parse_tables`
        return DateReading(None)
    parts = text.str.extract(_DAY_MONTH)
    unmatched = parts[0].isna() & ~iso
    if unmatched.any():
        return DateReading(None, problem="not a date: write YYYY-MM-DD, or give the column's format "
                           "(e.g. format: \"%d.%m.%Y\")", examples=tuple(text[unmatched].unique()[:N_EXAMPLES]),
                           n_rows=int(unmatched.sum()))
    text, parts = text[~iso], parts[~iso]
    first, second = parts[0].astype(int), parts[2].astype(int)
    inferred = dayfirst is None
    if inferred:
        day_first_fits, month_first_fits = bool((second <= 12).all()), bool((first <= 12).all())
        if day_first_fits and month_first_fits and not (first == second).all():
            ambiguous = text[(first != second)].unique()[:N_EXAMPLES]
            return DateReading(None, problem="day and month could be either way round (no value above 12 "
                               "settles it): set dayfirst: true (31.12.2024) or dayfirst: false (12/31/2024) on "
                               "the source, or the column's format (e.g. \"%d/%m/%Y\")",
                               examples=tuple(ambiguous), n_rows=len(text))
        if not (day_first_fits or month_first_fits):
            mixed = text[(first > 12) | (second > 12)].unique()[:N_EXAMPLES]
            return DateReading(None, problem="mixes day-first and month-first dates (values above 12 in both "
                               "places): export the dates as YYYY-MM-DD", examples=tuple(mixed), n_rows=len(text))
        dayfirst = day_first_fits
    day, month = (first, second) if dayfirst else (second, first)
    year = parts[3].astype(int)
    year = year.where(parts[3].str.len() == 4, year + np.where(year <= 68, 2000, 1900))
    iso_text = (year.map("{:04d}".format) + "-" + month.map("{:02d}".format) + "-" + day.map("{:02d}".format)
                + (" " + parts[4]).fillna(""))
    written_iso = present[iso].astype(str).str.strip()
    parsed = pd.concat([pd.to_datetime(iso_text, format="ISO8601", errors="coerce"),
                        pd.to_datetime(written_iso, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)])
    return DateReading(parsed.reindex(values.index).astype("datetime64[ns]"), dayfirst=dayfirst, inferred=inferred)


def parse_iso_date(value: object, with_time: bool = False) -> pd.Timestamp | None:
    """A date written `YYYY-MM-DD` (any ISO 8601 date/time `with_time`), or a YAML/JSON date, as a tz-naive
    Timestamp (UTC when a zone is given); None when it is not one."""
    if isinstance(value, dt.date):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str) and (with_time or ISO_DAY.match(value.strip())):
        stamp = pd.to_datetime(value.strip(), format="ISO8601", errors="coerce")
    else:
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
