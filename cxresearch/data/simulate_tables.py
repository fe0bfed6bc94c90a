"""The simulator's canonical tables: customers from the population and its journeys, contacts and surveys from
the event arrays; ids and labels are Arrow-backed `TEXT_DTYPE` text, timestamps datetime64[ns]."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.data.simulate_arrays import (
    NS_PER_DAY,
    NS_PER_SECOND,
    id_text,
    label_text,
    lexicographic_order,
)
from cxresearch.data.simulate_months import Journeys, Population
from cxresearch.data.simulate_parameters import (
    ACQUISITION_SHARE,
    CHANNELS,
    CONTRACT_SHARE,
    NPS_INTERCEPT,
    NPS_QUALITY,
    PLAN_SHARE,
    PROACTIVE_REASONS,
    REACTIVE_REASONS,
    REFERRAL_LTR,
    REFERRAL_RATE,
    REGION_SHARE,
)
from cxresearch.data.simulate_reasons import EndReasons


def customer_id_width(n: int) -> int:
    """Digits of the customer ids of a world of `n` customers (at least 6)."""
    return max(6, len(str(n)))


def customers_table(rng: np.random.Generator, pop: Population, journeys: Journeys, observed_until: int,
                    ending: EndReasons | None = None, ids: tuple[int, int] | None = None) -> pd.DataFrame:
    """The customers table; `n_referrals` ~ Poisson(years active x REFERRAL_RATE exp(REFERRAL_LTR (LTR - 7)))
    at the stable part of the likelihood to recommend; `end_reason` columns when `ending` is given.

    Parameters
    ----------
    rng
        The world's generator, after the monthly process (draws the referrals).
    pop, journeys
        The customers and their finished monthly process.
    observed_until
        End of observation (ns): active customers' stays run to it.
    ending
        The leavers' reasons, or None for a table without `end_reason` columns.
    ids
        (index of the first customer, id width) when `pop` is one chunk of a larger world; None: the world.

    Returns
    -------
    pandas.DataFrame
        One row per customer in the canonical customers schema.
    """
    n, alive = len(pop.signup), journeys.alive
    end_dates = np.where(alive, np.iinfo(np.int64).min, journeys.end).view("datetime64[ns]")  # int64 min is NaT
    stay_end = np.where(alive, observed_until, journeys.end)
    years = (stay_end - pop.signup) / (365.25 * NS_PER_DAY)
    stable_ltr = NPS_INTERCEPT + NPS_QUALITY * pop.quality
    referral_rate = years * REFERRAL_RATE * np.exp(REFERRAL_LTR * (stable_ltr - 7.0))
    reasons = {} if ending is None else ending.columns(n)
    first, width = ids or (0, customer_id_width(n))
    return pd.DataFrame({
        "customer_id": id_text("C", np.arange(n) + first, width),
        "signup_date": pop.signup.view("datetime64[ns]"),
        "end_date": end_dates,
        **reasons,
        "plan": label_text(tuple(PLAN_SHARE), pop.plan),
        "contract": label_text(tuple(CONTRACT_SHARE), pop.contract),
        "acquisition_channel": label_text(tuple(ACQUISITION_SHARE), pop.acquisition),
        "region": label_text(tuple(REGION_SHARE), pop.region),
        "monthly_margin": pop.margin,
        "acquisition_cost": pop.acquisition_cost,
        "n_referrals": rng.poisson(referral_rate).astype(np.int64),
    }, copy=False)


def event_tables(
    rng: np.random.Generator,
    width: int,
    r: dict[str, np.ndarray],
    p: dict[str, np.ndarray],
    nps: dict[str, np.ndarray],
    offsets: tuple[int, int, int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contacts and surveys tables from the reactive, proactive and NPS event arrays; contact ids follow time.

    `cust` holds customer indices (ids of `width` digits). Empties `r` and `p` as their arrays are used, so
    each column's source is freed once it is built (at 1 M customers the event arrays and the tables would
    otherwise be resident together). `offsets` = (first customer index, first contact index, contact id
    width) when the arrays are one chunk of a larger world; None: the whole world.
    """
    nr = len(r["cust"])
    order = lexicographic_order(np.concatenate([r["ts"], p["ts"]]), np.concatenate([r["cust"], p["cust"]]))
    first, first_contact, contact_width = offsets or (0, 0, max(8, len(str(len(order)))))

    # Post-contact survey shortly after the contact, within the same month and before end_date.
    ans = r.pop("responded")
    c_ts = r["ts"][ans]
    room = r.pop("limit")[ans] - c_ts
    delay = np.minimum(rng.uniform(300, 48 * 3600, ans.sum()) * NS_PER_SECOND, room / 2).astype(np.int64)
    post_ts = c_ts + delay
    del c_ts, room, delay
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    linked = rank[:nr][ans] + first_contact  # contact numbers (0-based) of the answered contacts
    del rank
    na = nps["answered"]
    m, k = int(ans.sum()), int(na.sum())
    s_cust = np.concatenate([r["cust"][ans], r["cust"][ans], nps["cust"][na]])
    s_ts = np.concatenate([post_ts, post_ts, nps["ts"][na]])
    del post_ts
    instrument = np.repeat(np.arange(3, dtype=np.int8), [m, m, k])
    s_order = lexicographic_order(s_ts, s_cust, instrument)
    instrument = instrument[s_order]
    surveys = pd.DataFrame({
        "customer_id": id_text("C", s_cust[s_order] + first, width),
        "timestamp": s_ts[s_order].view("datetime64[ns]"),
        "instrument": label_text(("ces", "csat", "nps"), instrument),
        "score": np.concatenate([r.pop("ces")[ans], r.pop("csat")[ans], nps["score"][na]])[s_order]
                 .astype(np.int64),
        "contact_id": id_text("K", np.concatenate([linked, linked, np.zeros(k, dtype=np.int64)])[s_order],
                               contact_width, valid=instrument < 2),
    }, copy=False)
    del ans, linked, s_cust, s_ts, s_order, instrument

    def joined(key: str) -> np.ndarray:
        """Reactive then proactive values of `key` in contact order, their sources freed."""
        return np.concatenate([r.pop(key), p.pop(key)])[order]

    proactive = order >= nr
    contacts = pd.DataFrame({
        "contact_id": id_text("K", np.arange(len(order)) + first_contact, contact_width),
        "customer_id": id_text("C", joined("cust") + first, width),
        "timestamp": joined("ts").view("datetime64[ns]"),
        "channel": label_text(CHANNELS, joined("channel")),
        "direction": label_text(("reactive", "proactive"), proactive.astype(np.int8)),
        "reason": label_text((*REACTIVE_REASONS, *PROACTIVE_REASONS),
                              np.concatenate([r.pop("reason"), p.pop("reason") + len(REACTIVE_REASONS)])[order]),
        "resolved_first_contact": pd.arrays.BooleanArray(
            np.concatenate([r.pop("resolved"), np.zeros(len(order) - nr, dtype=bool)])[order], proactive),
        "handle_minutes": joined("handle"),
    }, copy=False)
    return contacts, surveys
