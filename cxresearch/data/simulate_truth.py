"""The simulated world's churn hazard as `truth.json` (log hazard ratios per month, cloglog link), from the
parameters of `cxresearch.data.simulate_parameters`."""

from __future__ import annotations

import numpy as np

from cxresearch.data import simulate_parameters as params

#: What the truth's numbers mean and where estimates of them differ.
NOTES: list[str] = [
    ("Coefficient values are total effects per unit of the feature: the direct effect plus the effect "
     "through latent mood, which the window counts shift; a person-month cloglog GLM or a Cox model "
     "on the observed trailing counts estimates them."),
    ("Trailing-window features cover the 3 calendar months before the first day of the month at risk; "
     "events before observed_from do not exist, so counts for customers present at start are complete "
     "only from observed_from + 3 months."),
    ("The hazard uses the experienced CES of every reactive contact; ces_mean_90d averages the "
     "answered surveys only (about 60%, missing completely at random), so its estimate is attenuated."),
    ("A logistic model of churn within a window estimates window odds ratios, not these hazard "
     "ratios; they agree in sign and roughly in size while churn in the window is rare."),
    ("Unobserved mood acts as frailty: models without it find segment (contract, plan) effects "
     "slightly closer to 0 than the truth."),
    ("NPS non-response depends on latent mood (unhappy customers answer less): NPS averages over "
     "responders overstate the population's NPS."),
    ("Customers present at observed_from are left-truncated: only those still active then are in "
     "the data."),
]


def churn_truth(settings: dict, effects: dict[str, float] | None = None) -> dict:
    """The generating process's churn hazard as a JSON-ready dict (log hazard ratios per month).

    Parameters
    ----------
    settings
        The world's settings (seed, n_customers, months, start), reported under `settings`.
    effects
        Overrides of the drivers' total log hazard ratios, as given to `cxresearch.data.simulate.simulate`.

    Returns
    -------
    dict
        model, scale, window_months, coefficients (per driver and segment level), baseline, latent, settings
        and notes.
    """
    driver_log_hr, ces_log_hr = params.effect_sizes(effects)
    return {
        "model": "monthly discrete-time hazard, cloglog link",
        "scale": "log_hazard",
        "window_months": params.WINDOW_MONTHS,
        "coefficients": _coefficients(driver_log_hr, ces_log_hr),
        "baseline": _baseline(),
        "latent": {
            "mood": {"value": params.MOOD_LOG_HR, "hazard_ratio": float(np.exp(params.MOOD_LOG_HR)),
                     "per": "one SD of latent mood (not observed; NPS and NPS response depend on it)",
                     "ar1_rho": params.MOOD_RHO, "shift_per_count": params.MOOD_SHIFT},
        },
        "settings": _settings(settings),
        "notes": list(NOTES),
    }


def _coefficients(driver_log_hr: dict[str, float], ces_log_hr: float) -> dict[str, dict]:
    """Per driver and segment level: total log hazard ratio, hazard ratio, feature and unit (drivers split into
    direct and via-mood parts)."""
    coefficients: dict[str, dict] = {}
    for key, value in driver_log_hr.items():
        via_mood = params.MOOD_LOG_HR * params.MOOD_SHIFT[key]
        coefficients[key] = {
            "value": value, "hazard_ratio": float(np.exp(value)), "feature": params.DRIVER_FEATURES[key],
            "per": params.DRIVER_UNITS[key],
            "direct": round(value - via_mood, 10), "via_mood": round(via_mood, 10),
        }
    coefficients["ces"] = {
        "value": ces_log_hr, "hazard_ratio": float(np.exp(ces_log_hr)), "feature": "ces_mean_90d",
        "per": "one point (CES 1-7, 7 = high effort) of the mean experienced effort of the reactive "
               "contacts in the trailing 3 calendar months, centred at 4; 0 without reactive contacts",
    }
    for name, shares, log_hr, ref in (("contract", params.CONTRACT_SHARE, params.CONTRACT_LOG_HR, "month_to_month"),
                                      ("plan", params.PLAN_SHARE, params.PLAN_LOG_HR, "basic")):
        for level in shares:
            if level != ref:
                coefficients[f"{name}[{level}]"] = {
                    "value": log_hr[level], "hazard_ratio": float(np.exp(log_hr[level])),
                    "feature": f"{name}[{level}]", "per": f"{name} {level} instead of {ref}",
                }
    return coefficients


def _baseline() -> dict:
    """The intercept (with and without mood averaged out), tenure bands and reference levels."""
    return {
        "intercept": params.INTERCEPT,
        # log E[exp(b_mood z)] = b_mood^2 / 2 for z ~ N(0, 1): the intercept a model without mood finds
        "intercept_averaged_over_mood": params.INTERCEPT + params.MOOD_LOG_HR**2 / 2,
        "intercept_means": "monthly log hazard (cloglog) of a month_to_month, basic customer in tenure "
                           "band 13-24 with no contacts in the window and mood 0",
        "tenure": "calendar months since the signup month, at the start of the month at risk "
                  "(first full month: 1)",
        "tenure_bands": {label: value for _, _, label, value in params.TENURE_BANDS},
        "reference_levels": {"contract": "month_to_month", "plan": "basic", "tenure_band": "13-24"},
    }


def _settings(settings: dict) -> dict:
    """`settings` with the process's other parameters (rates, shares, response probabilities, money)."""
    return {
        **settings,
        "present_share": params.PRESENT_SHARE,
        "pre_history_months": params.PRE_HISTORY_MONTHS,
        "reactive_rate_per_month_at_quality_0": params.REACTIVE_RATE,
        "reactive_rate_log_change_per_sd_quality": -params.REACTIVE_QUALITY,
        "reactive_channel_share": params.REACTIVE_CHANNEL_SHARE,
        "reactive_reason_share": params.REACTIVE_REASON_SHARE,
        "ces_csat_response_prob": params.CES_RESPONSE,
        "ces_csat_missingness": "missing completely at random",
        "ces_effort_trait_sd": params.CES_TRAIT,
        "follow_up_prob_per_unresolved_contact": params.FOLLOW_UP_PROB,
        "status_update_rate_per_month": params.STATUS_UPDATE_RATE,
        "renewal_reminder_prob": params.RENEWAL_PROB,
        "nps_interval_months": params.NPS_INTERVAL_MONTHS,
        "nps_response_prob": f"expit({params.NPS_RESPONSE_INTERCEPT} + {params.NPS_RESPONSE_MOOD} * mood)",
        "contract_share": params.CONTRACT_SHARE,
        "plan_share": params.PLAN_SHARE,
        "plan_margin_per_month": params.PLAN_MARGIN,
        "acquisition_cost": params.ACQUISITION_COST,
    }
