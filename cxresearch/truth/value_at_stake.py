"""Known truth of the value-at-stake analysis: the same estimand from the simulator's own hazard model.

For the person-months the estimate valued (its window, its customers, its scenarios) the monthly hazard is
computed from `truth.json` (intercept, tenure bands, contract and plan, the drivers' total log hazard ratios) with
the latent mood averaged out month by month, mood ~ N(0, 1) (its stationary law): 1 - h = E_z exp(-exp(eta +
b_mood z)), by Gauss-Hermite quadrature; a customer treated by a randomised campaign has its log hazard ratio
added in the months its effect lasts (`campaign_shift`), as in the simulator. Both sides are valued by
`economics.value_at_stake_value`, so the comparison is like with like: what differs is only the fitted hazard
versus the true one. Two simplifications
are shared by estimate and truth and so do not enter the check: the window CES is the person-month table's
(answered effort, unanswered contacts imputed), and a scenario changes one driver holding the others as observed.

Where the estimate acted on service-related churn only (`ValueAtStakeResult.basis` "service"), so does the truth:
the simulator splits the monthly hazard h(x) between reasons with multinomial-logit shares pi_k(x)
(`data.simulate_reasons`), so the true service-related hazard is h(x) pi_service(x) and that of the other exits
h(x) (1 - pi_service(x)); a scenario moves the first to h(x') pi_service(x') and keeps the second
(`economics.value_at_stake_value.scenario_rate`, which the estimate uses with its fitted h and pi). (In the simulator
the drivers also raise the other exits' hazard, through h; that part of their effect is outside this estimand.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.economics.value_at_stake import Scenario
from cxresearch.economics.value_at_stake_result import ValueAtStakeResult
from cxresearch.economics.value_at_stake_value import mean_hazard, scenario_rate, value_hazards, value_rates

#: Gauss-Hermite nodes for averaging the hazard over the latent mood.
QUADRATURE_NODES = 40

#: Recovery columns (those of `truth.recovery.recovery_table`).
RECOVERY_COLUMNS = ["name", "scale", "true", "estimate", "ci_low", "ci_high", "truth_in_ci", "same_direction"]


#: The simulator's drivers of the reason shares -> the person-month column holding the same quantity.
REASON_DRIVER_COLUMNS = {"ces_mean_90d": "ces_centred_90d"}


def hazard_truth_available(truth: dict | None, basis: str = "all") -> bool:
    """Whether `truth` (a `truth.json`, or None) holds the simulator's hazard model (a stub holds nothing), and on
    the "service" basis (`ValueAtStakeResult.basis`) its churn reasons too."""
    needed = ("coefficients", "baseline", "latent", *(("churn_reasons",) if basis == "service" else ()))
    return bool(truth) and all(k in truth for k in needed)


def true_log_hazard(frame: pd.DataFrame, truth: dict) -> np.ndarray:
    """Per person-month: the simulator's cloglog linear predictor with mood averaged out (log hazard scale)."""
    coefficients, baseline = truth["coefficients"], truth["baseline"]
    eta = np.full(len(frame), float(baseline["intercept"]))
    tenure = frame["tenure"].to_numpy(int)
    for label, value in baseline["tenure_bands"].items():
        low, _, high = label.replace("+", "-").partition("-")
        upper = int(high) if high else np.iinfo(np.int64).max
        eta += value * ((tenure >= int(low)) & (tenure <= upper))
    for key, c in coefficients.items():
        if "[" in key:
            column, level = key.rstrip("]").split("[")
            eta += c["value"] * (frame[column].astype(str).to_numpy() == level) if column in frame else 0.0
        else:
            column = "ces_centred_90d" if key == "ces" else c["feature"]
            eta += c["value"] * frame[column].to_numpy(float)
    return _averaged_over_mood(eta + campaign_shift(frame, truth), float(truth["latent"]["mood"]["value"]))


def campaign_shift(frame: pd.DataFrame, truth: dict) -> np.ndarray:
    """Per person-month (`customer_id`, `month` from the world's start): the randomised campaigns' log hazard ratio
    (`truth["campaigns"]`), tau_i for a treated customer in the months its effect lasts, else 0.

    The campaigns are part of the world the levers are valued in: a treated customer's hazard, and so what a lever
    would save her, is the campaign's multiple of the untreated one (`data.simulate_campaigns`).
    """
    shift = np.zeros(len(frame))
    if not {"customer_id", "month"} <= set(frame.columns):
        return shift
    month = frame["month"].to_numpy(int)
    for campaign in truth.get("campaigns", {}).values():
        customers = campaign["customers"]
        treated = np.asarray(customers["treated"], bool)
        tau = pd.Series(np.asarray(customers["log_hazard_ratio"], float)[treated],
                        index=np.asarray(customers["customer_id"])[treated])
        lasting = (month >= campaign["month"]) & (month < campaign["month"] + campaign["effect_months"])
        shift += np.where(lasting, frame["customer_id"].map(tau).fillna(0.0).to_numpy(float), 0.0)
    return shift


def _averaged_over_mood(eta: np.ndarray, mood_log_hr: float) -> np.ndarray:
    """eta* with exp(-exp(eta*)) = E_z exp(-exp(eta + b z)), z ~ N(0, 1) (Gauss-Hermite)."""
    nodes, weights = np.polynomial.hermite.hermgauss(QUADRATURE_NODES)
    survive = np.exp(-np.exp(eta[:, None] + mood_log_hr * np.sqrt(2.0) * nodes[None, :])) @ weights / np.sqrt(np.pi)
    return np.log(-np.log(survive))


def true_value_at_stake(result: ValueAtStakeResult, truth: dict) -> pd.DataFrame:
    """Per scenario of `result`: the true churners avoided and margin retained (whole base, currency), on the
    estimate's basis (all churn, or service-related churn with the other exits' hazard kept).

    Parameters
    ----------
    result : an estimate from `economics.value_at_stake.value_at_stake` on a simulated world.
    truth : that world's `truth.json`.

    Returns
    -------
    pd.DataFrame
        lever, kind, churners_avoided, margin_retained (scaled up from the sample like the estimate).
    """
    frame, rows = result.window, result.rows
    eta = true_log_hazard(frame, truth)
    retention = 1.0 - mean_hazard(eta)
    factual = value_hazards(rows, eta, retention)
    scale = 1.0 / result.sample.fraction
    margin = rows.margin[rows.customer]
    share = true_service_share(frame, margin, truth) if result.basis == "service" else None
    out = []
    for scenario in result.scenarios:
        changed = _with_changes(frame, scenario)
        counter_share = None if share is None else true_service_share(changed, margin, truth)
        rate = scenario_rate(eta, share, true_log_hazard(changed, truth), counter_share)
        counter = value_rates(rows, rate, retention)
        out.append({"lever": scenario.lever, "kind": scenario.kind,
                    "churners_avoided": scale * float(np.sum(factual.churn - counter.churn)),
                    "margin_retained": scale * float(np.sum(counter.margin - factual.margin))})
    return pd.DataFrame(out)


def true_service_share(frame: pd.DataFrame, margin: np.ndarray, truth: dict) -> np.ndarray:
    """Per person-month: the simulator's share pi_service(x) of the monthly hazard that is service-related (0-1).

    Parameters
    ----------
    frame : person-months with the window drivers and `plan`.
    margin : per person-month, the customer's monthly margin (currency per month).
    truth : a `truth.json` with `churn_reasons`.
    """
    reasons = truth["churn_reasons"]
    logits = {reasons["reference"]: np.zeros(len(frame))}
    for cause, gammas in reasons["log_relative_hazard"].items():
        logit = np.full(len(frame), float(gammas["intercept"]))
        for driver, gamma in gammas.items():
            if driver != "intercept" and gamma:
                logit += gamma * _reason_driver(frame, margin, driver)
        logits[cause] = logit
    stacked = np.column_stack(list(logits.values()))
    shares = np.exp(stacked - stacked.max(axis=1, keepdims=True))
    return shares[:, list(logits).index("service")] / shares.sum(axis=1)


def _reason_driver(frame: pd.DataFrame, margin: np.ndarray, driver: str) -> np.ndarray:
    """One driver of the reason shares per person-month, in the units of `truth["churn_reasons"]["drivers"]`."""
    if driver == "monthly_margin":
        return margin
    if "[" in driver:
        column, level = driver.rstrip("]").split("[")
        return (frame[column].astype(str).to_numpy() == level).astype(float)
    return frame[REASON_DRIVER_COLUMNS.get(driver, driver)].to_numpy(float)


def _with_changes(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The person-months with the scenario's counterfactual drivers."""
    return frame.assign(**scenario.changes)


def value_at_stake_recovery(result: ValueAtStakeResult, truth: dict) -> pd.DataFrame:
    """Recovery rows of the full and joint scenarios: `value_at_stake[<lever>]` on scales `churners` and `currency`.

    Columns those of `truth.recovery.recovery_table`: name, scale, true, estimate, ci_low, ci_high, truth_in_ci,
    same_direction (None where the true value is exactly zero).
    """
    true = true_value_at_stake(result, truth)
    rows = []
    for (_, est), (_, tru) in zip(result.table.iterrows(), true.iterrows()):
        if est["kind"] == "realistic":
            continue
        for scale, column in (("churners", "churners_avoided"), ("currency", "margin_retained")):
            t, e = float(tru[column]), float(est[column])
            low, high = float(est[f"{column}_ci_low"]), float(est[f"{column}_ci_high"])
            rows.append({"name": f"value_at_stake[{est['lever']}]", "scale": scale, "true": t, "estimate": e,
                         "ci_low": low, "ci_high": high, "truth_in_ci": bool(low <= t <= high),
                         "same_direction": None if t == 0 else bool(np.sign(e) == np.sign(t))})
    table = pd.DataFrame(rows, columns=RECOVERY_COLUMNS)
    table["same_direction"] = table["same_direction"].astype(object)
    return table
