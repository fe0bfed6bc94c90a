"""When observation of a data set began, by the two conventions the analyses need."""

from __future__ import annotations

import pandas as pd

from cxresearch.data.schema import CXData


def observed_from_or_first_signup(data: CXData) -> pd.Timestamp:
    """When lifetimes begin to be observed: `metadata["observed_from"]` where known, else the earliest sign-up.

    Parameters
    ----------
    data : the canonical data set (its metadata and sign-up dates are read).

    Returns
    -------
    pd.Timestamp
        The start of observation of customers' lifetimes (the origin of the person-month calendar and the earliest
        possible landmark).
    """
    observed_from = data.metadata.get("observed_from")
    return pd.Timestamp(observed_from) if observed_from else pd.Timestamp(data.customers["signup_date"].min())


def observed_from_or_first_event(data: CXData) -> pd.Timestamp:
    """When event counts begin to be observed: `metadata["observed_from"]`, else the first contact or survey, else
    the earliest sign-up.

    Parameters
    ----------
    data : the canonical data set; its contact and survey times are read when `observed_from` is not known.

    Returns
    -------
    pd.Timestamp
        The earliest date a trailing-window count of contacts or surveys can cover.
    """
    if data.metadata.get("observed_from"):
        return pd.Timestamp(data.metadata["observed_from"])
    starts = [df["timestamp"].min() for df in (data.contacts, data.surveys) if len(df)]
    return pd.Timestamp(min(starts) if starts else data.customers["signup_date"].min())
