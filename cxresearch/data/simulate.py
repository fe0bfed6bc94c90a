"""Demo-world simulator: monthly customer journeys whose churn hazard is known, exported as `truth.json`.

Time runs in calendar months t = 0 .. months-1; month t is [start + t months, start + t+1 months) and
`observed_until` = start + months. Everything is vectorised over customers; only months are looped over.

Customers. Customer i signs up on a random day of month e_i. A share PRESENT_SHARE was already a customer at
`start` (e_i in -36..-1, recent signups more likely, as survivors of older cohorts are fewer); only customers
still active at `start` exist (left truncation, `observed_from` = start). The others join uniformly during the
window. Attributes: plan (margin per month by plan x lognormal noise), contract, acquisition channel (cost by
channel x lognormal noise), region, a stable experience quality q_i ~ N(0, 1) and a stable effort propensity
f_i ~ N(0, CES_TRAIT^2) (e.g. a complex setup), independent of q_i. A customer is at risk, and
has events, from the first full month after signup (tenure k = t - e_i >= 1 at the start of month t).

Trailing window. For month t, over months t-3..t-1 (events before `start` do not exist, so count as 0):
    R = reactive contacts, U = unresolved reactive contacts, P = proactive contacts,
    I = contacts with reason `channel_inconsistency` (all reactive),
    C = mean experienced CES of the R contacts.

Mood (latent, SD units):
    z_it = rho z_i,t-1 + sqrt(1 - rho^2) e_it,  e_it ~ N(0, 1)     (AR(1), independent of everything else)
    mood_it = z_it + d_U U + d_P P + d_I I                              (d_U, d_I < 0 < d_P)
The contact-driven part of mood has the same 3-month memory as the window, so one more count shifts the log
hazard by the same amount whatever the customer's history; z is independent of the drivers. That is what makes
the driver effects identifiable from the observed tables.

Reactive contacts in month t: N_it ~ Poisson(lambda0 exp(-g_q q_i)) (more when the experience is poor).
Each has a channel, a reason (REACTIVE_REASON_SHARE; 4% are `channel_inconsistency`), a phone transfer
flag T, and
    resolved ~ Bernoulli(expit(a0 + a_q q_i + a_channel - a_T T - a_I [inconsistency]))
    CES = clip(round(c0 + c_U (1 - resolved) + c_channel + c_T T - c_q q_i + f_i + N(0, s_c^2)), 1, 7)
(the experienced effort; 1 = very low, 7 = very high)
    CSAT = clip(round(s0 - s_U (1 - resolved) - s_ces (CES - 4) + s_q q_i + N(0, s_s^2)), 1, 5)
A post-contact survey is answered with probability CES_RESPONSE = 0.6 (missing completely at random); a
response records both CES and CSAT, linked by `contact_id`.

Proactive outreach in month t (company-initiated, `resolved_first_contact` null): a follow-up per unresolved
contact of month t-1 with probability FOLLOW_UP_PROB; status updates ~ Poisson(STATUS_UPDATE_RATE) for
everyone; a renewal reminder with probability RENEWAL_PROB in the last month of each contract term.

Relationship NPS: invitation every NPS_INTERVAL_MONTHS of tenure; likelihood to recommend
    LTR_it = n0 + n_q q_i + n_mood mood_it + N(0, s_n^2),  score = clip(round(LTR), 0, 10),
answered with probability expit(r0 + r_mood mood_it): unhappy customers answer less (not at random).
Referrals: n_referrals ~ Poisson(years active x f0 exp(f_ltr (n0 + n_q q_i - 7))).

Churn in month t, for customer i active at its start (discrete-time hazard, complementary log-log link):
    eta_it = b0 + tenure_band(k) + contract + plan
             + b'_R R + b'_U U + b'_P P + b'_I I + b_C (C - 4) 1[R > 0] + b_mood mood_it
    h_it = 1 - exp(-exp(eta_it))
end_date is a random day of the churn month; events after it are dropped. Substituting mood, the total log
hazard ratio of one more count X is b_X = b'_X + b_mood d_X: `truth["coefficients"]` holds these totals
(what a person-month cloglog GLM or a Cox model on the observed counts estimates), with the split into direct
and via-mood parts. Values: INTERCEPT (b0), TENURE_BANDS, CONTRACT_LOG_HR, PLAN_LOG_HR, DRIVER_LOG_HR (b_X),
CES_LOG_HR (b_C), MOOD_LOG_HR (b_mood), MOOD_SHIFT (d_X), MOOD_RHO (rho) below; the other symbols are the
similarly named constants (REACTIVE_*, FCR_*, CES_*, CSAT_*, NPS_*, REFERRAL_*).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxresearch.data.schema import INCONSISTENCY_REASON, TEXT_DTYPE, CXData

WINDOW_MONTHS = 3
#: How far before `start` customers present at `start` may have signed up, in months.
PRE_HISTORY_MONTHS = 36
NS_PER_DAY = 86_400 * 10**9
NS_PER_SECOND = 10**9
#: Rows per Parquet row group written by `write_world` (readers such as DuckDB scan row groups in parallel).
PARQUET_ROW_GROUP = 1_000_000

# --- churn hazard (log hazard scale, per month) ---------------------------------------------------------
#: Total log hazard ratio per unit of each trailing-window count (direct + through mood): the truth.
DRIVER_LOG_HR: dict[str, float] = {
    "reactive": 0.10, "unresolved": 0.35, "proactive": -0.20, "inconsistency": 0.40,
}
#: Log hazard ratio per CES point of the window's mean experienced effort above 4.
CES_LOG_HR = 0.15
#: Log hazard ratio per SD of latent mood.
MOOD_LOG_HR = -0.40
#: Shift of mood (SD units) per count in the trailing window.
MOOD_SHIFT: dict[str, float] = {
    "reactive": 0.0, "unresolved": -0.25, "proactive": 0.10, "inconsistency": -0.30,
}
MOOD_RHO = 0.8
#: Log hazard of a month_to_month, basic customer in tenure band 13-24 with no contacts and mood 0.
INTERCEPT = -3.45
#: (first month, last month or None, label, log hazard ratio) by tenure in months since the signup month.
TENURE_BANDS: tuple[tuple[int, int | None, str, float], ...] = (
    (1, 3, "1-3", 0.60),
    (4, 12, "4-12", 0.30),
    (13, 24, "13-24", 0.0),
    (25, None, "25+", -0.20),
)
CONTRACT_SHARE: dict[str, float] = {"month_to_month": 0.5, "one_year": 0.3, "two_year": 0.2}
CONTRACT_LOG_HR: dict[str, float] = {"month_to_month": 0.0, "one_year": -0.9, "two_year": -1.5}
CONTRACT_TERM_MONTHS: dict[str, int] = {"month_to_month": 0, "one_year": 12, "two_year": 24}
PLAN_SHARE: dict[str, float] = {"basic": 0.45, "standard": 0.35, "premium": 0.20}
PLAN_LOG_HR: dict[str, float] = {"basic": 0.0, "standard": -0.10, "premium": -0.25}

# --- customers ------------------------------------------------------------------------------------------
PRESENT_SHARE = 0.4
#: Decay per month of tenure of the tenure distribution of customers present at `start`.
PRESENT_TENURE_DECAY = 0.03
PLAN_MARGIN: dict[str, float] = {"basic": 15.0, "standard": 28.0, "premium": 45.0}  # currency per month
ACQUISITION_SHARE: dict[str, float] = {"web": 0.40, "store": 0.25, "partner": 0.20, "referral": 0.15}
#: Cost per acquired customer by channel (currency).
ACQUISITION_COST: dict[str, float] = {"web": 120.0, "store": 200.0, "partner": 250.0, "referral": 60.0}
REGION_SHARE: dict[str, float] = {"north": 0.25, "south": 0.30, "east": 0.20, "west": 0.25}

# --- contacts and surveys -------------------------------------------------------------------------------
REACTIVE_RATE = 0.28  # contacts per customer-month at quality 0
REACTIVE_QUALITY = 0.45  # log-rate decrease per SD of quality
REACTIVE_CHANNEL_SHARE: dict[str, float] = {
    "phone": 0.35, "chat": 0.25, "email": 0.15, "store": 0.10, "app": 0.15,
}
REACTIVE_REASON_SHARE: dict[str, float] = {
    "billing": 0.30, "technical": 0.33, "account": 0.15, "product_info": 0.14, "cancellation_query": 0.04,
    INCONSISTENCY_REASON: 0.04,
}
TRANSFER_PROB_PHONE = 0.3
FCR_INTERCEPT, FCR_QUALITY, FCR_TRANSFER, FCR_INCONSISTENCY = 0.9, 0.5, 0.6, 0.6
FCR_CHANNEL: dict[str, float] = {"phone": 0.2, "chat": 0.0, "email": -0.4, "store": 0.3, "app": -0.2}
CES_INTERCEPT, CES_UNRESOLVED, CES_TRANSFER, CES_QUALITY, CES_NOISE = 3.3, 1.0, 0.8, 0.35, 0.7
#: SD of a customer's stable effort propensity (e.g. a complex setup), in CES points.
CES_TRAIT = 0.7
CES_CHANNEL: dict[str, float] = {"phone": 0.2, "chat": -0.2, "email": 0.4, "store": 0.0, "app": -0.3}
CSAT_INTERCEPT, CSAT_UNRESOLVED, CSAT_CES, CSAT_QUALITY, CSAT_NOISE = 4.3, 0.9, 0.35, 0.2, 0.6
HANDLE_MINUTES: dict[str, float] = {"phone": 8.0, "chat": 12.0, "email": 6.0, "store": 15.0, "app": 3.0}
CES_RESPONSE = 0.6
FOLLOW_UP_PROB = 0.5
STATUS_UPDATE_RATE = 0.08  # per customer-month
RENEWAL_PROB = 0.8
PROACTIVE_CHANNEL_SHARE: dict[str, float] = {"email": 0.5, "app": 0.3, "phone": 0.2}
FOLLOW_UP_CHANNEL_SHARE: dict[str, float] = {"phone": 0.6, "email": 0.4}
NPS_INTERVAL_MONTHS = 6
NPS_INTERCEPT, NPS_QUALITY, NPS_MOOD, NPS_NOISE = 7.0, 1.2, 1.0, 1.0
NPS_RESPONSE_INTERCEPT, NPS_RESPONSE_MOOD = -0.7, 0.8
REFERRAL_RATE, REFERRAL_LTR = 0.3, 0.4  # referrals per active year at LTR 7; log-rate per LTR point

CHANNELS: tuple[str, ...] = ("phone", "chat", "email", "store", "app")
PROACTIVE_REASONS: tuple[str, ...] = ("follow_up", "status_update", "renewal")
_FEATURES: dict[str, str] = {k: f"{k}_90d" for k in DRIVER_LOG_HR}
_PER: dict[str, str] = {
    "reactive": "one more customer-initiated (reactive) contact in the trailing 3 calendar months",
    "unresolved": "one more reactive contact not resolved at first contact in the trailing 3 calendar months",
    "proactive": "one more company-initiated (proactive) contact in the trailing 3 calendar months",
    "inconsistency": "one more channel_inconsistency contact in the trailing 3 calendar months",
}


@dataclass
class SimulatedWorld:
    """A simulated canonical dataset with its known truth; events are observed up to `observed_until`."""

    customers: pd.DataFrame
    contacts: pd.DataFrame
    surveys: pd.DataFrame
    truth: dict
    observed_until: pd.Timestamp
    observed_from: pd.Timestamp | None = None  # start of observation; earlier signups are left-truncated
    settings: dict = field(default_factory=dict)

    def to_cxdata(self) -> CXData:
        """The world as a canonical `CXData` (metadata carries `observed_from` for left truncation)."""
        metadata = dict(self.settings)
        if self.observed_from is not None:
            metadata["observed_from"] = self.observed_from.isoformat()
        return CXData(self.customers, self.contacts, self.surveys, observed_until=self.observed_until,
                      name="demo", metadata=metadata)


def simulate(
    n_customers: int = 20_000,
    months: int = 36,
    seed: int = 0,
    start: str = "2023-01-01",
    effects: dict[str, float] | None = None,
) -> SimulatedWorld:
    """Simulate `n_customers` over `months` calendar months from `start`; deterministic given `seed`.

    `effects` overrides total log hazard ratios of the CX drivers (keys: reactive, unresolved, proactive,
    inconsistency, ces), e.g. `{"proactive": 0.0}` for a world where proactive outreach does not help;
    `truth.json` reports the values used.
    """
    return _simulate(n_customers, months, seed, start, effects=effects)[0]


def write_world(world: SimulatedWorld, out_dir: str | Path, fmt: str = "parquet") -> Path:
    """Write the three tables (parquet or csv), truth.json and dataset.json to `out_dir`; return `out_dir`.

    Parquet is written straight from the tables' Arrow buffers, zstd level 1: at 300k customers 42 MB in the
    CPU time snappy needed for 79 MB, read as fast (measured for issue 9).
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = ("customers", "contacts", "surveys")
    if fmt == "parquet":
        # Arrow's writer releases the GIL: contacts on one core, customers and surveys on the other.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda name: _write_parquet(getattr(world, name), out / f"{name}.parquet"), names))
    else:
        for name in names:
            getattr(world, name).to_csv(out / f"{name}.csv", index=False)
    (out / "truth.json").write_text(json.dumps(world.truth, indent=2) + "\n")
    dataset = {"name": "demo", "observed_until": world.observed_until.date().isoformat()}
    if world.observed_from is not None:
        dataset["observed_from"] = world.observed_from.date().isoformat()
    dataset.update(world.settings)
    (out / "dataset.json").write_text(json.dumps(dataset, indent=2) + "\n")
    return out


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """One table as Parquet, from its Arrow buffers (zstd level 1, `PARQUET_ROW_GROUP` rows per row group)."""
    # Ids and event timestamps are (nearly) all distinct: dictionary encoding them only costs time.
    dictionary = [c for c in df.columns if not (c.endswith("_id") or c == "timestamp")]
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, compression="zstd",
                   compression_level=1, use_dictionary=dictionary, row_group_size=PARQUET_ROW_GROUP)


def _simulate(
    n_customers: int, months: int, seed: int, start: str, keep_latent: bool = False,
    effects: dict[str, float] | None = None,
) -> tuple[SimulatedWorld, dict[str, pd.DataFrame]]:
    """The world, plus (if `keep_latent`) latent per-customer traits and NPS invitations for checks."""
    if n_customers < 1 or months < 1:
        raise ValueError("n_customers and months must be positive")
    driver_log_hr, ces_log_hr = _effects(effects)
    rng = np.random.default_rng(seed)
    n = n_customers
    start_ts = pd.Timestamp(start)
    # Month boundaries (ns) from -PRE_HISTORY_MONTHS to `months`: month m starts at
    # bounds[m + PRE_HISTORY_MONTHS].
    bounds = np.array([(start_ts + pd.DateOffset(months=m)).value
                       for m in range(-PRE_HISTORY_MONTHS, months + 1)], dtype=np.int64)

    # Signup month: present customers' tenure at start decays geometrically; newcomers join uniformly.
    present = rng.random(n) < PRESENT_SHARE
    back = np.arange(1, PRE_HISTORY_MONTHS + 1)
    p_back = np.exp(-PRESENT_TENURE_DECAY * back)
    e = np.where(present, -rng.choice(back, size=n, p=p_back / p_back.sum()), rng.integers(0, months, size=n))
    signup = _random_day(rng, bounds, e)
    order = np.argsort(signup, kind="stable")  # customer ids follow signup order
    e, signup = e[order], signup[order]

    plan = _draw(rng, PLAN_SHARE, n)
    contract = _draw(rng, CONTRACT_SHARE, n)
    acq = _draw(rng, ACQUISITION_SHARE, n)
    region = _draw(rng, REGION_SHARE, n)
    quality = rng.standard_normal(n)
    effort = rng.normal(0, CES_TRAIT, n)
    margin = np.round(np.array(list(PLAN_MARGIN.values()))[plan] * np.exp(rng.normal(0, 0.15, n)), 2)
    acq_cost = np.round(np.array(list(ACQUISITION_COST.values()))[acq] * np.exp(rng.normal(0, 0.2, n)), 2)

    plan_hr = np.array(list(PLAN_LOG_HR.values()))[plan]
    contract_hr = np.array(list(CONTRACT_LOG_HR.values()))[contract]
    term = np.array(list(CONTRACT_TERM_MONTHS.values()))[contract]
    tenure_hr = _tenure_lookup(months + PRE_HISTORY_MONTHS + 1)
    direct = {k: driver_log_hr[k] - MOOD_LOG_HR * MOOD_SHIFT[k] for k in DRIVER_LOG_HR}
    reactive_rate = REACTIVE_RATE * np.exp(-REACTIVE_QUALITY * quality)
    fcr_channel = np.array([FCR_CHANNEL[c] for c in CHANNELS])
    ces_channel = np.array([CES_CHANNEL[c] for c in CHANNELS])
    handle_channel = np.log([HANDLE_MINUTES[c] for c in CHANNELS])
    reasons = tuple(REACTIVE_REASON_SHARE)
    inconsistency_code = reasons.index(INCONSISTENCY_REASON)
    p_channel = np.array(list(REACTIVE_CHANNEL_SHARE.values()))
    p_reason = np.array(list(REACTIVE_REASON_SHARE.values()))

    alive = np.ones(n, dtype=bool)
    end = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    z = rng.standard_normal(n)
    # Ring buffers of per-month counts and CES sums (slot t % 3 holds month t), so memory stays O(n) at any
    # horizon, and their running window totals, so a month reads its window without summing the slots.
    buf = {k: np.zeros((WINDOW_MONTHS, n), dtype=np.int32) for k in (*DRIVER_LOG_HR, "ces")}
    total = {k: np.zeros(n, dtype=np.int32) for k in buf}
    reactive_chunks: list[dict[str, np.ndarray]] = []
    proactive_chunks: list[dict[str, np.ndarray]] = []
    nps_chunks: list[dict[str, np.ndarray]] = []

    for t in range(months):
        if t > 0:
            z = MOOD_RHO * z + np.sqrt(1 - MOOD_RHO**2) * rng.standard_normal(n)
        ms, me = bounds[t + PRE_HISTORY_MONTHS], bounds[t + PRE_HISTORY_MONTHS + 1]
        idx = np.flatnonzero(alive & (e < t))
        k = t - e[idx]
        win = {key: w[idx] for key, w in total.items()}
        n_reactive = win["reactive"]
        ces_mean = np.divide(win["ces"], n_reactive, out=np.full(len(idx), 4.0),
                             where=n_reactive > 0)
        mood = z[idx] + sum(MOOD_SHIFT[key] * win[key] for key in DRIVER_LOG_HR)

        # Churn this month.
        eta = (INTERCEPT + tenure_hr[k] + contract_hr[idx] + plan_hr[idx]
               + sum(direct[key] * win[key] for key in DRIVER_LOG_HR)
               + ces_log_hr * (ces_mean - 4.0) + MOOD_LOG_HR * mood)
        churn = rng.random(len(idx)) < -np.expm1(-np.exp(eta))
        leavers = idx[churn]
        end[leavers] = _random_day(rng, bounds, np.full(len(leavers), t))
        alive[leavers] = False
        limit = np.minimum(me, end[idx])  # events of month t happen before this

        # Relationship NPS: invited every NPS_INTERVAL_MONTHS of tenure; unhappy customers answer less.
        inv = (k % NPS_INTERVAL_MONTHS == 0) & (limit > ms)
        ltr = (NPS_INTERCEPT + NPS_QUALITY * quality[idx[inv]] + NPS_MOOD * mood[inv]
               + rng.normal(0, NPS_NOISE, inv.sum()))
        answered = rng.random(inv.sum()) < _expit(NPS_RESPONSE_INTERCEPT + NPS_RESPONSE_MOOD * mood[inv])
        nps_chunks.append({
            "cust": idx[inv], "month": np.full(inv.sum(), t), "mood": mood[inv], "answered": answered,
            "score": np.clip(np.round(ltr), 0, 10).astype(np.int64),
            "ts": _random_time(rng, np.full(inv.sum(), ms), limit[inv]),
        })

        # Reactive contacts: Poisson counts, attributes drawn per contact, those after end_date dropped.
        cust = np.repeat(idx, rng.poisson(reactive_rate[idx]))
        m = len(cust)
        ts = _random_time(rng, np.full(m, ms), np.full(m, me))
        channel = rng.choice(len(CHANNELS), size=m, p=p_channel)
        reason = rng.choice(len(reasons), size=m, p=p_reason)
        transfer = (channel == CHANNELS.index("phone")) & (rng.random(m) < TRANSFER_PROB_PHONE)
        q = quality[cust]
        p_fcr = _expit(FCR_INTERCEPT + FCR_QUALITY * q + fcr_channel[channel] - FCR_TRANSFER * transfer
                       - FCR_INCONSISTENCY * (reason == inconsistency_code))
        resolved = rng.random(m) < p_fcr
        ces = np.clip(np.round(CES_INTERCEPT + CES_UNRESOLVED * ~resolved + ces_channel[channel]
                               + CES_TRANSFER * transfer - CES_QUALITY * q + effort[cust]
                               + rng.normal(0, CES_NOISE, m)), 1, 7)
        csat = np.clip(np.round(CSAT_INTERCEPT - CSAT_UNRESOLVED * ~resolved - CSAT_CES * (ces - 4)
                                + CSAT_QUALITY * q + rng.normal(0, CSAT_NOISE, m)), 1, 5)
        handle = np.round(np.exp(handle_channel[channel] + 0.35 * ~resolved + 0.4 * transfer
                                 + rng.normal(0, 0.5, m)), 1)
        responded = rng.random(m) < CES_RESPONSE
        keep = ts < end[cust]
        # Stored in the smallest dtype that holds the values exactly: 8 M contacts at 1 M customers.
        reactive_chunks.append({
            "cust": cust[keep].astype(np.int32), "ts": ts[keep], "channel": channel[keep].astype(np.int8),
            "reason": reason[keep].astype(np.int8), "resolved": resolved[keep], "handle": handle[keep],
            "ces": ces[keep].astype(np.int8), "csat": csat[keep].astype(np.int8),
            "responded": responded[keep], "limit": np.minimum(me, end[cust[keep]]),
        })

        # Proactive outreach: follow-ups after last month's unresolved contacts, random status updates,
        # renewal reminders; otherwise unrelated to the customer's state, so its effect is identifiable.
        n_follow = rng.binomial(buf["unresolved"][(t - 1) % WINDOW_MONTHS][idx], FOLLOW_UP_PROB)
        n_status = rng.poisson(STATUS_UPDATE_RATE, len(idx))
        last_term_month = (term[idx] > 0) & (k % np.maximum(term[idx], 1) == term[idx] - 1)
        renewal = last_term_month & (rng.random(len(idx)) < RENEWAL_PROB)
        pro_cust = np.concatenate([np.repeat(idx, n_follow), np.repeat(idx, n_status), idx[renewal]])
        pro_reason = np.repeat(np.arange(3), [n_follow.sum(), n_status.sum(), renewal.sum()])
        pm = len(pro_cust)
        pro_ts = _random_time(rng, np.full(pm, ms), np.full(pm, me))
        follow_channel = _draw(rng, FOLLOW_UP_CHANNEL_SHARE, pm, CHANNELS)
        other_channel = _draw(rng, PROACTIVE_CHANNEL_SHARE, pm, CHANNELS)
        pro_channel = np.where(pro_reason == 0, follow_channel, other_channel)
        pro_handle = np.where(pro_channel == CHANNELS.index("phone"),
                              np.round(np.exp(np.log(4.0) + rng.normal(0, 0.4, pm)), 1), np.nan)
        pkeep = pro_ts < end[pro_cust]
        proactive_chunks.append({
            "cust": pro_cust[pkeep].astype(np.int32), "ts": pro_ts[pkeep],
            "channel": pro_channel[pkeep].astype(np.int8), "reason": pro_reason[pkeep].astype(np.int8),
            "handle": pro_handle[pkeep],
        })

        # Month t's counts replace month t-3's in the ring buffers.
        slot = t % WINDOW_MONTHS
        rc = reactive_chunks[-1]
        month_counts = {
            "reactive": np.bincount(rc["cust"], minlength=n),
            "unresolved": np.bincount(rc["cust"], weights=~rc["resolved"], minlength=n),
            "inconsistency": np.bincount(rc["cust"], weights=rc["reason"] == inconsistency_code, minlength=n),
            "proactive": np.bincount(proactive_chunks[-1]["cust"], minlength=n),
            "ces": np.bincount(rc["cust"], weights=rc["ces"], minlength=n),
        }
        for key, counts in month_counts.items():
            counts = counts.astype(np.int32)
            total[key] += counts - buf[key][slot]
            buf[key][slot] = counts

    observed_until = pd.Timestamp(bounds[-1])
    width = max(6, len(str(n)))
    end_dates = np.where(alive, np.iinfo(np.int64).min, end).view("datetime64[ns]")  # int64 min is NaT
    stay_end = np.where(alive, bounds[-1], end)
    years = (stay_end - signup) / (365.25 * NS_PER_DAY)
    stable_ltr = NPS_INTERCEPT + NPS_QUALITY * quality
    referral_rate = years * REFERRAL_RATE * np.exp(REFERRAL_LTR * (stable_ltr - 7.0))
    customers = pd.DataFrame({
        "customer_id": _id_text("C", np.arange(n), width),
        "signup_date": signup.view("datetime64[ns]"),
        "end_date": end_dates,
        "plan": _label_text(tuple(PLAN_SHARE), plan),
        "contract": _label_text(tuple(CONTRACT_SHARE), contract),
        "acquisition_channel": _label_text(tuple(ACQUISITION_SHARE), acq),
        "region": _label_text(tuple(REGION_SHARE), region),
        "monthly_margin": margin,
        "acquisition_cost": acq_cost,
        "n_referrals": rng.poisson(referral_rate).astype(np.int64),
    }, copy=False)

    # Concatenated once, the monthly chunks are dropped so they do not stay resident alongside the tables.
    reactive, proactive = _concat(reactive_chunks), _concat(proactive_chunks)
    del reactive_chunks, proactive_chunks
    contacts, surveys = _event_tables(rng, width, reactive, proactive, _concat(nps_chunks), reasons)
    settings = {"seed": seed, "n_customers": n, "months": months, "start": start_ts.date().isoformat()}
    world = SimulatedWorld(
        customers=customers, contacts=contacts, surveys=surveys, truth=_truth(settings, effects),
        observed_until=observed_until, observed_from=start_ts, settings=settings,
    )
    latent: dict[str, pd.DataFrame] = {}
    if keep_latent:
        latent["customers"] = pd.DataFrame({"customer_id": customers["customer_id"], "quality": quality,
                                            "churned": ~alive})
        nps = _concat(nps_chunks)
        latent["nps_invitations"] = pd.DataFrame({
            "customer_id": _id_text("C", nps["cust"], width), "month": nps["month"], "mood": nps["mood"],
            "answered": nps["answered"], "score": nps["score"],
        })
    return world, latent


def _event_tables(
    rng: np.random.Generator,
    width: int,
    r: dict[str, np.ndarray],
    p: dict[str, np.ndarray],
    nps: dict[str, np.ndarray],
    reasons: tuple[str, ...],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contacts and surveys tables from the reactive, proactive and NPS event arrays; contact ids follow time.

    `cust` holds customer indices (ids of `width` digits). Empties `r` and `p` as their arrays are used, so
    each column's source is freed once it is built (at 1 M customers the event arrays and the tables would
    otherwise be resident together).
    """
    nr = len(r["cust"])
    order = _lexicographic_order(np.concatenate([r["ts"], p["ts"]]), np.concatenate([r["cust"], p["cust"]]))
    contact_width = max(8, len(str(len(order))))

    # Post-contact survey shortly after the contact, within the same month and before end_date.
    ans = r.pop("responded")
    c_ts = r["ts"][ans]
    room = r.pop("limit")[ans] - c_ts
    delay = np.minimum(rng.uniform(300, 48 * 3600, ans.sum()) * NS_PER_SECOND, room / 2).astype(np.int64)
    post_ts = c_ts + delay
    del c_ts, room, delay
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    linked = rank[:nr][ans]  # contact numbers (0-based) of the answered contacts
    del rank
    na = nps["answered"]
    m, k = int(ans.sum()), int(na.sum())
    s_cust = np.concatenate([r["cust"][ans], r["cust"][ans], nps["cust"][na]])
    s_ts = np.concatenate([post_ts, post_ts, nps["ts"][na]])
    del post_ts
    instrument = np.repeat(np.arange(3, dtype=np.int8), [m, m, k])
    s_order = _lexicographic_order(s_ts, s_cust, instrument)
    instrument = instrument[s_order]
    surveys = pd.DataFrame({
        "customer_id": _id_text("C", s_cust[s_order], width),
        "timestamp": s_ts[s_order].view("datetime64[ns]"),
        "instrument": _label_text(("ces", "csat", "nps"), instrument),
        "score": np.concatenate([r.pop("ces")[ans], r.pop("csat")[ans], nps["score"][na]])[s_order]
                 .astype(np.int64),
        "contact_id": _id_text("K", np.concatenate([linked, linked, np.zeros(k, dtype=np.int64)])[s_order],
                               contact_width, valid=instrument < 2),
    }, copy=False)
    del ans, linked, s_cust, s_ts, s_order, instrument

    def joined(key: str) -> np.ndarray:
        """Reactive then proactive values of `key` in contact order, their sources freed."""
        return np.concatenate([r.pop(key), p.pop(key)])[order]

    proactive = order >= nr
    contacts = pd.DataFrame({
        "contact_id": _id_text("K", np.arange(len(order)), contact_width),
        "customer_id": _id_text("C", joined("cust"), width),
        "timestamp": joined("ts").view("datetime64[ns]"),
        "channel": _label_text(CHANNELS, joined("channel")),
        "direction": _label_text(("reactive", "proactive"), proactive.astype(np.int8)),
        "reason": _label_text((*reasons, *PROACTIVE_REASONS),
                              np.concatenate([r.pop("reason"), p.pop("reason") + len(reasons)])[order]),
        "resolved_first_contact": pd.arrays.BooleanArray(
            np.concatenate([r.pop("resolved"), np.zeros(len(order) - nr, dtype=bool)])[order], proactive),
        "handle_minutes": joined("handle"),
    }, copy=False)
    return contacts, surveys


def _lexicographic_order(*keys: np.ndarray) -> np.ndarray:
    """Stable order of rows by the first key, ties broken by the next: `np.lexsort(keys[::-1])`.

    Arrow's multi-key sort gives the same order ~2x faster than `np.lexsort` on millions of rows; integer
    keys, as sorting string columns is slow at scale.
    """
    table = pa.table({str(i): key for i, key in enumerate(keys)})
    order = pc.sort_indices(table, sort_keys=[(str(i), "ascending") for i in range(len(keys))])
    return order.to_numpy()


def _concat(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-month event arrays joined into one array per key."""
    return {key: np.concatenate([c[key] for c in chunks]) for key in chunks[0]}


def _effects(effects: dict[str, float] | None) -> tuple[dict[str, float], float]:
    """Driver log hazard ratios and the CES log hazard ratio, with `effects` overriding the defaults."""
    effects = dict(effects or {})
    unknown = set(effects) - {*DRIVER_LOG_HR, "ces"}
    if unknown:
        raise ValueError(f"unknown effects {sorted(unknown)}; known: {sorted({*DRIVER_LOG_HR, 'ces'})}")
    ces = float(effects.pop("ces", CES_LOG_HR))
    return {**DRIVER_LOG_HR, **{k: float(v) for k, v in effects.items()}}, ces


def _truth(settings: dict, effects: dict[str, float] | None = None) -> dict:
    """The generating process's churn hazard as a JSON-ready dict (log hazard ratios per month)."""
    driver_log_hr, ces_log_hr = _effects(effects)
    coefficients: dict[str, dict] = {}
    for key, value in driver_log_hr.items():
        via_mood = MOOD_LOG_HR * MOOD_SHIFT[key]
        coefficients[key] = {
            "value": value, "hazard_ratio": float(np.exp(value)), "feature": _FEATURES[key], "per": _PER[key],
            "direct": round(value - via_mood, 10), "via_mood": round(via_mood, 10),
        }
    coefficients["ces"] = {
        "value": ces_log_hr, "hazard_ratio": float(np.exp(ces_log_hr)), "feature": "ces_mean_90d",
        "per": "one point (CES 1-7, 7 = high effort) of the mean experienced effort of the reactive "
               "contacts in the trailing 3 calendar months, centred at 4; 0 without reactive contacts",
    }
    for name, shares, effects, ref in (("contract", CONTRACT_SHARE, CONTRACT_LOG_HR, "month_to_month"),
                                       ("plan", PLAN_SHARE, PLAN_LOG_HR, "basic")):
        for level in shares:
            if level != ref:
                coefficients[f"{name}[{level}]"] = {
                    "value": effects[level], "hazard_ratio": float(np.exp(effects[level])),
                    "feature": f"{name}[{level}]", "per": f"{name} {level} instead of {ref}",
                }
    return {
        "model": "monthly discrete-time hazard, cloglog link",
        "scale": "log_hazard",
        "window_months": WINDOW_MONTHS,
        "coefficients": coefficients,
        "baseline": {
            "intercept": INTERCEPT,
            # log E[exp(b_mood z)] = b_mood^2 / 2 for z ~ N(0, 1): the intercept a model without mood finds
            "intercept_averaged_over_mood": INTERCEPT + MOOD_LOG_HR**2 / 2,
            "intercept_means": "monthly log hazard (cloglog) of a month_to_month, basic customer in tenure "
                               "band 13-24 with no contacts in the window and mood 0",
            "tenure": "calendar months since the signup month, at the start of the month at risk "
                      "(first full month: 1)",
            "tenure_bands": {label: value for _, _, label, value in TENURE_BANDS},
            "reference_levels": {"contract": "month_to_month", "plan": "basic", "tenure_band": "13-24"},
        },
        "latent": {
            "mood": {"value": MOOD_LOG_HR, "hazard_ratio": float(np.exp(MOOD_LOG_HR)),
                     "per": "one SD of latent mood (not observed; NPS and NPS response depend on it)",
                     "ar1_rho": MOOD_RHO, "shift_per_count": MOOD_SHIFT},
        },
        "settings": {
            **settings,
            "present_share": PRESENT_SHARE,
            "pre_history_months": PRE_HISTORY_MONTHS,
            "reactive_rate_per_month_at_quality_0": REACTIVE_RATE,
            "reactive_rate_log_change_per_sd_quality": -REACTIVE_QUALITY,
            "reactive_channel_share": REACTIVE_CHANNEL_SHARE,
            "reactive_reason_share": REACTIVE_REASON_SHARE,
            "ces_csat_response_prob": CES_RESPONSE,
            "ces_csat_missingness": "missing completely at random",
            "ces_effort_trait_sd": CES_TRAIT,
            "follow_up_prob_per_unresolved_contact": FOLLOW_UP_PROB,
            "status_update_rate_per_month": STATUS_UPDATE_RATE,
            "renewal_reminder_prob": RENEWAL_PROB,
            "nps_interval_months": NPS_INTERVAL_MONTHS,
            "nps_response_prob": f"expit({NPS_RESPONSE_INTERCEPT} + {NPS_RESPONSE_MOOD} * mood)",
            "contract_share": CONTRACT_SHARE,
            "plan_share": PLAN_SHARE,
            "plan_margin_per_month": PLAN_MARGIN,
            "acquisition_cost": ACQUISITION_COST,
        },
        "notes": [
            "Coefficient values are total effects per unit of the feature: the direct effect plus the effect "
            "through latent mood, which the window counts shift; a person-month cloglog GLM or a Cox model "
            "on the observed trailing counts estimates them.",
            "Trailing-window features cover the 3 calendar months before the first day of the month at risk; "
            "events before observed_from do not exist, so counts for customers present at start are complete "
            "only from observed_from + 3 months.",
            "The hazard uses the experienced CES of every reactive contact; ces_mean_90d averages the "
            "answered surveys only (about 60%, missing completely at random), so its estimate is attenuated.",
            "A logistic model of churn within a window estimates window odds ratios, not these hazard "
            "ratios; they agree in sign and roughly in size while churn in the window is rare.",
            "Unobserved mood acts as frailty: models without it find segment (contract, plan) effects "
            "slightly closer to 0 than the truth.",
            "NPS non-response depends on latent mood (unhappy customers answer less): NPS averages over "
            "responders overstate the population's NPS.",
            "Customers present at observed_from are left-truncated: only those still active then are in "
            "the data.",
        ],
    }


def _tenure_lookup(size: int) -> np.ndarray:
    """Log hazard ratio by tenure in months (index), from TENURE_BANDS."""
    out = np.zeros(size)
    for first, last, _, value in TENURE_BANDS:
        out[first:(last + 1 if last is not None else size)] = value
    return out


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int,
          codes_of: tuple[str, ...] | None = None) -> np.ndarray:
    """Category codes drawn with `shares`; codes index `shares` or, when given, `codes_of`."""
    codes = rng.choice(len(shares), size=size, p=np.array(list(shares.values())))
    if codes_of is None:
        return codes
    return np.array([codes_of.index(s) for s in shares])[codes]


def _label_text(labels: tuple[str, ...], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Labels for integer codes (indices into `labels`) as canonical Arrow-backed text (`TEXT_DTYPE`)."""
    # Casting a dictionary array is ~3x faster than `take` on the labels.
    coded = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(labels, pa.large_string()))
    return TEXT_DTYPE.__from_arrow__(coded.cast(pa.large_string()))


def _random_day(rng: np.random.Generator, bounds: np.ndarray, month: np.ndarray) -> np.ndarray:
    """A uniformly random day (midnight, ns since epoch) within each month index in `month`."""
    ms = bounds[month + PRE_HISTORY_MONTHS]
    days = (bounds[month + PRE_HISTORY_MONTHS + 1] - ms) // NS_PER_DAY
    return ms + (rng.random(len(month)) * days).astype(np.int64) * NS_PER_DAY


def _random_time(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniformly random second in [lo, hi) (ns since epoch); `hi` > `lo`."""
    seconds = (hi - lo) // NS_PER_SECOND
    return lo + (rng.random(len(lo)) * seconds).astype(np.int64) * NS_PER_SECOND


def _id_text(prefix: str, index: np.ndarray, width: int,
             valid: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """Ids `prefix` + `index + 1` zero-padded to `width` digits as `TEXT_DTYPE` text, missing if not `valid`.

    The fixed-width characters are written digit by digit into one byte buffer handed to Arrow as a string
    array: no Python `str` per id (8 M contact ids at 1 M customers). Unsigned 32-bit division is ~8x faster
    than int64 `divmod`; large_string is the layout pandas keeps, so it is not cast again.
    """
    number = (np.asarray(index) + 1).astype(np.uint32 if width <= 9 else np.uint64)
    size = len(prefix) + width
    chars = np.empty((len(number), size), dtype=np.uint8)
    chars[:, :len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    for j in range(size - 1, len(prefix) - 1, -1):
        quotient = number // 10
        chars[:, j] = (number - quotient * 10).astype(np.uint8) + ord("0")
        number = quotient
    offsets = np.arange(len(chars) + 1, dtype=np.int64) * size
    mask = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    nulls = 0 if valid is None else len(valid) - int(np.count_nonzero(valid))
    array = pa.Array.from_buffers(pa.large_string(), len(chars),
                                  [mask, pa.py_buffer(offsets), pa.py_buffer(chars)], null_count=nulls)
    return TEXT_DTYPE.__from_arrow__(array)


def _expit(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))
