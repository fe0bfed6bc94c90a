"""The demo world's generating parameters (the process is described in `cxresearch.data.simulate`).

Log hazard ratios are per month on the cloglog scale; shares are probabilities; money is in currency units.
"""

from __future__ import annotations

from cxresearch.data.schema import INCONSISTENCY_REASON

WINDOW_MONTHS = 3
#: How far before `start` customers present at `start` may have signed up, in months.
PRE_HISTORY_MONTHS = 36

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
#: Snapshot feature of each trailing-window driver.
DRIVER_FEATURES: dict[str, str] = {k: f"{k}_90d" for k in DRIVER_LOG_HR}
#: What one unit of each trailing-window driver is.
DRIVER_UNITS: dict[str, str] = {
    "reactive": "one more customer-initiated (reactive) contact in the trailing 3 calendar months",
    "unresolved": "one more reactive contact not resolved at first contact in the trailing 3 calendar months",
    "proactive": "one more company-initiated (proactive) contact in the trailing 3 calendar months",
    "inconsistency": "one more channel_inconsistency contact in the trailing 3 calendar months",
}
REACTIVE_REASONS: tuple[str, ...] = tuple(REACTIVE_REASON_SHARE)


def effect_sizes(effects: dict[str, float] | None) -> tuple[dict[str, float], float]:
    """Driver log hazard ratios and the CES log hazard ratio (per month), with `effects` overriding the defaults."""
    effects = dict(effects or {})
    unknown = set(effects) - {*DRIVER_LOG_HR, "ces"}
    if unknown:
        raise ValueError(f"unknown effects {sorted(unknown)}; known: {sorted({*DRIVER_LOG_HR, 'ces'})}")
    ces = float(effects.pop("ces", CES_LOG_HR))
    return {**DRIVER_LOG_HR, **{k: float(v) for k, v in effects.items()}}, ces
