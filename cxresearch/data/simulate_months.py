"""The simulator's monthly process: customers drawn once, then month by month churn, relationship NPS, reactive
and proactive contacts, and the trailing window rolled forward (the model is in `cxresearch.data.simulate`).

Every step draws from the one generator it is given, in a fixed order: the same seed gives the same world.
Arrays are indexed by customer (ids follow signup order); times are int64 ns since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.data.schema import INCONSISTENCY_REASON
from cxresearch.data.simulate_arrays import draw, expit, random_day, random_time, tenure_lookup
from cxresearch.data.simulate_parameters import (
    ACQUISITION_COST,
    ACQUISITION_SHARE,
    CES_CHANNEL,
    CES_INTERCEPT,
    CES_NOISE,
    CES_QUALITY,
    CES_RESPONSE,
    CES_TRAIT,
    CES_TRANSFER,
    CES_UNRESOLVED,
    CHANNELS,
    CONTRACT_LOG_HR,
    CONTRACT_SHARE,
    CONTRACT_TERM_MONTHS,
    CSAT_CES,
    CSAT_INTERCEPT,
    CSAT_NOISE,
    CSAT_QUALITY,
    CSAT_UNRESOLVED,
    DRIVER_LOG_HR,
    FCR_CHANNEL,
    FCR_INCONSISTENCY,
    FCR_INTERCEPT,
    FCR_QUALITY,
    FCR_TRANSFER,
    FOLLOW_UP_CHANNEL_SHARE,
    FOLLOW_UP_PROB,
    HANDLE_MINUTES,
    INTERCEPT,
    MOOD_LOG_HR,
    MOOD_RHO,
    MOOD_SHIFT,
    NPS_INTERCEPT,
    NPS_INTERVAL_MONTHS,
    NPS_MOOD,
    NPS_NOISE,
    NPS_QUALITY,
    NPS_RESPONSE_INTERCEPT,
    NPS_RESPONSE_MOOD,
    PLAN_LOG_HR,
    PLAN_MARGIN,
    PLAN_SHARE,
    PRE_HISTORY_MONTHS,
    PRESENT_SHARE,
    PRESENT_TENURE_DECAY,
    PROACTIVE_CHANNEL_SHARE,
    REACTIVE_CHANNEL_SHARE,
    REACTIVE_QUALITY,
    REACTIVE_RATE,
    REACTIVE_REASON_SHARE,
    REACTIVE_REASONS,
    REGION_SHARE,
    RENEWAL_PROB,
    STATUS_UPDATE_RATE,
    TRANSFER_PROB_PHONE,
    WINDOW_MONTHS,
)

Chunk = dict[str, np.ndarray]

_FCR_CHANNEL = np.array([FCR_CHANNEL[c] for c in CHANNELS])
_CES_CHANNEL = np.array([CES_CHANNEL[c] for c in CHANNELS])
_LOG_HANDLE_CHANNEL = np.log([HANDLE_MINUTES[c] for c in CHANNELS])
_INCONSISTENCY_CODE = REACTIVE_REASONS.index(INCONSISTENCY_REASON)
_P_CHANNEL = np.array(list(REACTIVE_CHANNEL_SHARE.values()))
_P_REASON = np.array(list(REACTIVE_REASON_SHARE.values()))
_PHONE = CHANNELS.index("phone")


@dataclass
class Population:
    """Per-customer draws: signup month (index from `start`) and day (ns), category codes (indices into the
    share dicts), latent quality (SD units) and effort trait (CES points), margin and acquisition cost."""

    signup_month: np.ndarray
    signup: np.ndarray
    plan: np.ndarray
    contract: np.ndarray
    acquisition: np.ndarray
    region: np.ndarray
    quality: np.ndarray
    effort: np.ndarray
    margin: np.ndarray
    acquisition_cost: np.ndarray


@dataclass
class Hazard:
    """The fixed parts of the monthly churn hazard (log scale) and contact rate, per customer or per tenure."""

    plan_hr: np.ndarray
    contract_hr: np.ndarray
    tenure_hr: np.ndarray
    term: np.ndarray
    direct: dict[str, float]
    ces_log_hr: float
    reactive_rate: np.ndarray


@dataclass
class AtRisk:
    """Customers at risk in one month: indices, tenure (months), window counts and mean CES, and mood (SD)."""

    idx: np.ndarray
    tenure: np.ndarray
    window: dict[str, np.ndarray]
    ces_mean: np.ndarray
    mood: np.ndarray


@dataclass
class Journeys:
    """The monthly process's state and the per-month event chunks drawn so far.

    `end` is each leaver's end date (ns; int64 max while active); `buf` holds per-month counts in ring buffers
    (slot t % 3 holds month t) and `total` their running window sums, so memory stays O(n) at any horizon;
    `leavers` holds each leaver's churn month and trailing-window drivers (for churn reasons); `shift` is each
    customer's added log hazard this month (randomised campaigns' effects), None without campaigns.
    """

    alive: np.ndarray
    end: np.ndarray
    z: np.ndarray
    buf: dict[str, np.ndarray]
    total: dict[str, np.ndarray]
    reactive: list[Chunk] = field(default_factory=list)
    proactive: list[Chunk] = field(default_factory=list)
    nps: list[Chunk] = field(default_factory=list)
    leavers: list[Chunk] = field(default_factory=list)
    shift: np.ndarray | None = None

    @classmethod
    def begin(cls, rng: np.random.Generator, n: int) -> Journeys:
        """Everyone active, empty windows, mood z drawn from N(0, 1)."""
        buf = {k: np.zeros((WINDOW_MONTHS, n), dtype=np.int32) for k in (*DRIVER_LOG_HR, "ces")}
        return cls(alive=np.ones(n, dtype=bool), end=np.full(n, np.iinfo(np.int64).max, dtype=np.int64),
                   z=rng.standard_normal(n), buf=buf, total={k: np.zeros(n, dtype=np.int32) for k in buf})


def month_bounds(start: pd.Timestamp, months: int) -> np.ndarray:
    """Month boundaries (ns) from -PRE_HISTORY_MONTHS to `months`: month m starts at bounds[m + PRE_HISTORY_MONTHS]."""
    return np.array([(start + pd.DateOffset(months=m)).value for m in range(-PRE_HISTORY_MONTHS, months + 1)],
                    dtype=np.int64)


def draw_population(rng: np.random.Generator, n: int, months: int, bounds: np.ndarray) -> Population:
    """Signup months and days (present customers' tenure decays geometrically, newcomers join uniformly), then
    plan, contract, channel, region, quality, effort trait, margin and acquisition cost; sorted by signup.

    Parameters
    ----------
    rng
        The world's generator (drawn from in a fixed order).
    n
        Number of customers.
    months
        Months observed (newcomers sign up in months 0 .. months - 1).
    bounds
        Month boundaries from `month_bounds` (ns).

    Returns
    -------
    Population
        Per-customer draws; customer i is the i-th to sign up.
    """
    present = rng.random(n) < PRESENT_SHARE
    back = np.arange(1, PRE_HISTORY_MONTHS + 1)
    p_back = np.exp(-PRESENT_TENURE_DECAY * back)
    e = np.where(present, -rng.choice(back, size=n, p=p_back / p_back.sum()), rng.integers(0, months, size=n))
    signup = random_day(rng, bounds, e)
    order = np.argsort(signup, kind="stable")  # customer ids follow signup order
    plan = draw(rng, PLAN_SHARE, n)
    contract = draw(rng, CONTRACT_SHARE, n)
    acquisition = draw(rng, ACQUISITION_SHARE, n)
    region = draw(rng, REGION_SHARE, n)
    quality = rng.standard_normal(n)
    effort = rng.normal(0, CES_TRAIT, n)
    margin = np.round(np.array(list(PLAN_MARGIN.values()))[plan] * np.exp(rng.normal(0, 0.15, n)), 2)
    cost = np.round(np.array(list(ACQUISITION_COST.values()))[acquisition] * np.exp(rng.normal(0, 0.2, n)), 2)
    return Population(signup_month=e[order], signup=signup[order], plan=plan, contract=contract,
                      acquisition=acquisition, region=region, quality=quality, effort=effort, margin=margin,
                      acquisition_cost=cost)


def hazard_terms(pop: Population, months: int, driver_log_hr: dict[str, float], ces_log_hr: float) -> Hazard:
    """The hazard's fixed parts: segment and tenure log hazard ratios, direct driver effects (total minus the
    part through mood), contract terms (months) and reactive contact rates (per month)."""
    return Hazard(
        plan_hr=np.array(list(PLAN_LOG_HR.values()))[pop.plan],
        contract_hr=np.array(list(CONTRACT_LOG_HR.values()))[pop.contract],
        tenure_hr=tenure_lookup(months + PRE_HISTORY_MONTHS + 1),
        term=np.array(list(CONTRACT_TERM_MONTHS.values()))[pop.contract],
        direct={k: driver_log_hr[k] - MOOD_LOG_HR * MOOD_SHIFT[k] for k in DRIVER_LOG_HR},
        ces_log_hr=ces_log_hr,
        reactive_rate=REACTIVE_RATE * np.exp(-REACTIVE_QUALITY * pop.quality),
    )


def simulate_months(rng: np.random.Generator, pop: Population, bounds: np.ndarray, hazard: Hazard,
                    campaigns: Callable[[Journeys, AtRisk, int], None] | None = None) -> Journeys:
    """Run months 0 .. len(bounds) - PRE_HISTORY_MONTHS - 2: each month churn, NPS, reactive and proactive
    contacts, then the trailing window moves on.

    Parameters
    ----------
    rng
        The world's generator, after `draw_population`.
    pop
        The customers.
    bounds
        Month boundaries from `month_bounds` (ns).
    hazard
        The hazard's fixed parts from `hazard_terms`.
    campaigns
        Called each month before churn is drawn with the state, the customers at risk and the month: it may
        assign customers to campaigns (from a generator of its own) and set `state.shift`. None: no campaigns.

    Returns
    -------
    Journeys
        Who is still active, end dates, and the monthly event chunks and leavers' drivers.
    """
    n = len(pop.signup)
    state = Journeys.begin(rng, n)
    for t in range(len(bounds) - PRE_HISTORY_MONTHS - 1):
        if t > 0:
            state.z = MOOD_RHO * state.z + np.sqrt(1 - MOOD_RHO**2) * rng.standard_normal(n)
        ms, me = bounds[t + PRE_HISTORY_MONTHS], bounds[t + PRE_HISTORY_MONTHS + 1]
        at = _at_risk(state, pop, t)
        if campaigns is not None:
            campaigns(state, at, t)
        limit = _churn(rng, state, hazard, at, bounds, t)
        state.nps.append(_nps(rng, pop, at, t, ms, limit))
        state.reactive.append(_reactive(rng, pop, hazard, at, state.end, ms, me))
        state.proactive.append(_proactive(rng, state, hazard, at, t, ms, me))
        _roll_window(state, t)
    return state


def _at_risk(state: Journeys, pop: Population, t: int) -> AtRisk:
    """Customers active at the start of month t and past their signup month, with their window and mood."""
    idx = np.flatnonzero(state.alive & (pop.signup_month < t))
    win = {key: w[idx] for key, w in state.total.items()}
    n_reactive = win["reactive"]
    ces_mean = np.divide(win["ces"], n_reactive, out=np.full(len(idx), 4.0), where=n_reactive > 0)
    mood = state.z[idx] + sum(MOOD_SHIFT[key] * win[key] for key in DRIVER_LOG_HR)
    return AtRisk(idx=idx, tenure=t - pop.signup_month[idx], window=win, ces_mean=ces_mean, mood=mood)


def _churn(rng: np.random.Generator, state: Journeys, hazard: Hazard, at: AtRisk, bounds: np.ndarray,
           t: int) -> np.ndarray:
    """Draw month t's leavers (cloglog hazard) and their end days; return when each at-risk customer's events
    of month t must happen before (ns: the month's end or the end date)."""
    idx, win = at.idx, at.window
    eta = (INTERCEPT + hazard.tenure_hr[at.tenure] + hazard.contract_hr[idx] + hazard.plan_hr[idx]
           + sum(hazard.direct[key] * win[key] for key in DRIVER_LOG_HR)
           + hazard.ces_log_hr * (at.ces_mean - 4.0) + MOOD_LOG_HR * at.mood)
    if state.shift is not None:
        eta = eta + state.shift[idx]
    churn = rng.random(len(idx)) < -np.expm1(-np.exp(eta))
    leavers = idx[churn]
    state.end[leavers] = random_day(rng, bounds, np.full(len(leavers), t))
    state.alive[leavers] = False
    state.leavers.append({"cust": leavers, "month": np.full(len(leavers), t), "ces_mean": at.ces_mean[churn],
                          **{key: win[key][churn] for key in ("unresolved", "inconsistency")}})
    return np.minimum(bounds[t + PRE_HISTORY_MONTHS + 1], state.end[idx])


def _nps(rng: np.random.Generator, pop: Population, at: AtRisk, t: int, ms: int, limit: np.ndarray) -> Chunk:
    """Relationship NPS: invited every NPS_INTERVAL_MONTHS of tenure; unhappy customers answer less."""
    idx, mood = at.idx, at.mood
    inv = (at.tenure % NPS_INTERVAL_MONTHS == 0) & (limit > ms)
    ltr = (NPS_INTERCEPT + NPS_QUALITY * pop.quality[idx[inv]] + NPS_MOOD * mood[inv]
           + rng.normal(0, NPS_NOISE, inv.sum()))
    answered = rng.random(inv.sum()) < expit(NPS_RESPONSE_INTERCEPT + NPS_RESPONSE_MOOD * mood[inv])
    return {
        "cust": idx[inv], "month": np.full(inv.sum(), t), "mood": mood[inv], "answered": answered,
        "score": np.clip(np.round(ltr), 0, 10).astype(np.int64),
        "ts": random_time(rng, np.full(inv.sum(), ms), limit[inv]),
    }


def _reactive(rng: np.random.Generator, pop: Population, hazard: Hazard, at: AtRisk, end: np.ndarray, ms: int,
              me: int) -> Chunk:
    """Reactive contacts: Poisson counts, attributes drawn per contact, those after end_date dropped."""
    cust = np.repeat(at.idx, rng.poisson(hazard.reactive_rate[at.idx]))
    m = len(cust)
    ts = random_time(rng, np.full(m, ms), np.full(m, me))
    channel = rng.choice(len(CHANNELS), size=m, p=_P_CHANNEL)
    reason = rng.choice(len(REACTIVE_REASONS), size=m, p=_P_REASON)
    transfer = (channel == _PHONE) & (rng.random(m) < TRANSFER_PROB_PHONE)
    q = pop.quality[cust]
    p_fcr = expit(FCR_INTERCEPT + FCR_QUALITY * q + _FCR_CHANNEL[channel] - FCR_TRANSFER * transfer
                  - FCR_INCONSISTENCY * (reason == _INCONSISTENCY_CODE))
    resolved = rng.random(m) < p_fcr
    ces = np.clip(np.round(CES_INTERCEPT + CES_UNRESOLVED * ~resolved + _CES_CHANNEL[channel]
                           + CES_TRANSFER * transfer - CES_QUALITY * q + pop.effort[cust]
                           + rng.normal(0, CES_NOISE, m)), 1, 7)
    csat = np.clip(np.round(CSAT_INTERCEPT - CSAT_UNRESOLVED * ~resolved - CSAT_CES * (ces - 4)
                            + CSAT_QUALITY * q + rng.normal(0, CSAT_NOISE, m)), 1, 5)
    handle = np.round(np.exp(_LOG_HANDLE_CHANNEL[channel] + 0.35 * ~resolved + 0.4 * transfer
                             + rng.normal(0, 0.5, m)), 1)
    responded = rng.random(m) < CES_RESPONSE
    keep = ts < end[cust]
    # Stored in the smallest dtype that holds the values exactly: 8 M contacts at 1 M customers.
    return {
        "cust": cust[keep].astype(np.int32), "ts": ts[keep], "channel": channel[keep].astype(np.int8),
        "reason": reason[keep].astype(np.int8), "resolved": resolved[keep], "handle": handle[keep],
        "ces": ces[keep].astype(np.int8), "csat": csat[keep].astype(np.int8),
        "responded": responded[keep], "limit": np.minimum(me, end[cust[keep]]),
    }


def _proactive(rng: np.random.Generator, state: Journeys, hazard: Hazard, at: AtRisk, t: int, ms: int,
               me: int) -> Chunk:
    """Proactive outreach: follow-ups after last month's unresolved contacts, random status updates, renewal
    reminders; otherwise unrelated to the customer's state, so its effect is identifiable."""
    idx, k, term = at.idx, at.tenure, hazard.term[at.idx]
    n_follow = rng.binomial(state.buf["unresolved"][(t - 1) % WINDOW_MONTHS][idx], FOLLOW_UP_PROB)
    n_status = rng.poisson(STATUS_UPDATE_RATE, len(idx))
    last_term_month = (term > 0) & (k % np.maximum(term, 1) == term - 1)
    renewal = last_term_month & (rng.random(len(idx)) < RENEWAL_PROB)
    cust = np.concatenate([np.repeat(idx, n_follow), np.repeat(idx, n_status), idx[renewal]])
    reason = np.repeat(np.arange(3), [n_follow.sum(), n_status.sum(), renewal.sum()])
    m = len(cust)
    ts = random_time(rng, np.full(m, ms), np.full(m, me))
    follow_channel = draw(rng, FOLLOW_UP_CHANNEL_SHARE, m, CHANNELS)
    other_channel = draw(rng, PROACTIVE_CHANNEL_SHARE, m, CHANNELS)
    channel = np.where(reason == 0, follow_channel, other_channel)
    handle = np.where(channel == _PHONE, np.round(np.exp(np.log(4.0) + rng.normal(0, 0.4, m)), 1), np.nan)
    keep = ts < state.end[cust]
    return {"cust": cust[keep].astype(np.int32), "ts": ts[keep], "channel": channel[keep].astype(np.int8),
            "reason": reason[keep].astype(np.int8), "handle": handle[keep]}


def _roll_window(state: Journeys, t: int) -> None:
    """Month t's counts replace month t-3's in the ring buffers and the running window totals."""
    n = len(state.alive)
    slot = t % WINDOW_MONTHS
    rc = state.reactive[-1]
    month_counts = {
        "reactive": np.bincount(rc["cust"], minlength=n),
        "unresolved": np.bincount(rc["cust"], weights=~rc["resolved"], minlength=n),
        "inconsistency": np.bincount(rc["cust"], weights=rc["reason"] == _INCONSISTENCY_CODE, minlength=n),
        "proactive": np.bincount(state.proactive[-1]["cust"], minlength=n),
        "ces": np.bincount(rc["cust"], weights=rc["ces"], minlength=n),
    }
    for key, counts in month_counts.items():
        counts = counts.astype(np.int32)
        state.total[key] += counts - state.buf[key][slot]
        state.buf[key][slot] = counts
