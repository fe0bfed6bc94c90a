"""What bad service costs: churners avoided and margin retained if each CX lever were fixed (issues 17, 18).

g-computation on the person-month cloglog model (grouped-time proportional hazards, `survival.person_months`
drivers): the model is fitted on every person-month (of a stated customer sample on large bases); for the
person-months of the last `window_months` months of observation it predicts each customer's monthly churn hazard
under the factual drivers and under each scenario's counterfactual ones, and values the difference
(`economics.value_at_stake_value`). Where the data records why customers left, the levers act on the hazard of
service-related exits only: the all-cause hazard times the modelled share of exits that are service-related
(`economics.value_at_stake_model`), and the other exits' hazard, the rest, is kept as estimated: a customer kept
from service churn can still leave for price, so churners avoided is the fall in all exits, service-related exits
avoided less the extra exits for other reasons. 95% CIs come from a customer bootstrap that refits the model(s)
in each draw. Money is in the data's currency; churners are customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit
from threadpoolctl import threadpool_limits

from cxresearch.data.schema import CXData
from cxresearch.economics.value_at_stake_campaigns import campaign_terms, is_campaign_term
from cxresearch.economics.value_at_stake_model import CauseModels, Fits, e_value, e_value_ci
from cxresearch.economics.value_at_stake_randomised import (
    FOLLOW_UP_DRIVER,
    CampaignRows,
    RandomisedCheck,
    campaign_rows,
    predicted_effect,
)
from cxresearch.economics.value_at_stake_result import BASIS_TEXT, ValueAtStakeResult
from cxresearch.economics.value_at_stake_scenarios import (
    COLUMN_NEEDS,
    JOINT_LEVERS,
    LEVERS,
    NPS_SKIP,
    Changes,
    Improvements,
    Lever,
)
from cxresearch.economics.value_at_stake_value import WindowRows, cause_exits, scenario_rate, value_rates
from cxresearch.errors import NotEstimableError
from cxresearch.stats.design import complete_cases, covariate_design
from cxresearch.stats.sampling import sample_customers
from cxresearch.survival.person_months import (
    CES_DRIVER,
    COUNT_DRIVERS,
    PersonMonths,
    can_build_person_months,
    person_months,
)

#: Trailing window of the drivers (calendar months), the simulator's.
DRIVER_WINDOW_MONTHS = 3
#: The reason the levers act on where the data records reasons (one of `data.schema.END_REASONS`).
SERVICE = "service"
#: Fewer service-related exits than this in the months modelled: too few for a hazard model of their own (the
#: threshold of notebook 06's per-reason models, `survival.churn_reasons.MIN_EVENTS`).
MIN_EVENTS = 10
#: A log odds ratio of the service-related share beyond this (a factor of 3 million) is no estimate but a
#: separation: a segment or driver level whose exits are never (or always) service-related, where the logit has no
#: finite optimum and Newton steps drift on.
MAX_LOG_ODDS = 15.0
#: The person-months' column marking service-related exits, where the levers act on service-related churn only.
SERVICE_EXIT = "service_exit"


@dataclass
class Scenario:
    """One counterfactual: which lever, full removal / realistic improvement / joint, in words and as changes."""

    lever: str
    label: str
    kind: str  # "full", "realistic" or "joint"
    text: str
    changes: Changes  # driver column -> counterfactual values of the window's person-months


@dataclass
class _Setup:
    """What every bootstrap draw reuses: the cells, the window rows and their factual drivers."""

    model: CauseModels
    rows: WindowRows
    frame: pd.DataFrame  # the window's person-months (design columns, tenure, segments)
    position: np.ndarray  # per window row: its position among the model's person-months
    window_customer: np.ndarray  # per window customer: her index among the model's customers
    scenarios: list[Scenario] = field(default_factory=list)
    campaign: CampaignRows | None = None  # a randomised proactive campaign's customers, for the follow-up check


def value_at_stake(
    data: CXData,
    *,
    window_months: int = 12,
    horizon_months: int = 60,
    monthly_discount_rate: float = 0.008,
    improvements: Improvements | None = None,
    n_boot: int = 200,
    max_model_customers: int | None = 50_000,
    seed: int = 0,
    as_of: str | None = None,
    by_reason: bool = True,
    proactive_campaign: str = "",
) -> ValueAtStakeResult:
    """Churners avoided and margin retained per CX lever, jointly, and under realistic improvements.

    Parameters
    ----------
    data : canonical data with time-stamped contacts (`survival.person_months.can_build_person_months`).
    window_months : the valuation window: the last this many months of observation (fewer when the data is
        shorter; figures are annualised by 12 / window).
    horizon_months : margin is counted up to this many months after the window began (window plus beyond).
    monthly_discount_rate : discount rate per month.
    improvements : the realistic scenarios (`Improvements()` when None).
    n_boot : customer-bootstrap draws, each refitting the model (0: no intervals).
    max_model_customers : at most this many customers, a simple random sample (None or 0: all); totals are
        scaled up to the whole base.
    seed : seed of the sample and the bootstrap.
    as_of : end of the valuation window (ISO date; None or "": the end of observation); only the whole calendar
        months before it are used, for the fit as well.
    by_reason : where the data records why customers left (`end_reason`, at least `MIN_EVENTS` service-related
        exits), the levers act on service-related churn only, the other exits being competing risks; False, or
        without reasons: on all churn (`ValueAtStakeResult.basis` says which).
    proactive_campaign : the treatments table's randomised campaign of proactive outreach whose measured effect is
        set beside the follow-up lever's prediction ("" finds one by name; `economics.value_at_stake_randomised`).

    Returns
    -------
    ValueAtStakeResult
        Per scenario churners avoided and margin retained (95% CIs), E-values, the joint cost and share.

    Raises
    ------
    NotEstimableError
        When the data has no event dates or contacts, no churn, or no lever varies.

    References
    ----------
    Robins (1986), Math. Modelling 7:1393-1512 (g-computation); Prentice & Gloeckler (1978), Biometrics 34:57-67;
    VanderWeele & Ding (2017), Ann. Intern. Med. 167:268-274 (E-value).
    """
    improvements = improvements or Improvements()
    sample = sample_customers(data.customers[["customer_id"]], max_model_customers, seed)
    months = _person_months(data, sample.frame["customer_id"] if sample.sampled else None, as_of)
    long, notes = months.table, list(months.notes)
    design = _design(long, notes, data, months.origin)
    levers, skipped = _available_levers(list(design.columns))
    if not levers:
        raise NotEstimableError("no CX lever varies in this data", "contact records")
    # one BLAS thread: the matrices are small, and threads fighting over two shared cores made a refit 30x slower
    with threadpool_limits(limits=1, user_api="blas"):
        setup, point_fit, basis = _fitted(data, long, design, by_reason, notes,
                                          (window_months, horizon_months, monthly_discount_rate), (levers, improvements))
        notes.extend(_method_notes(setup.rows, sample.fraction))
        setup.campaign, randomised_skip = _campaign(data, long.loc[design.index], setup, months.origin,
                                                    proactive_campaign, levers)
        point, log_hr, effect = _evaluate(setup, point_fit, None, levers)
        draws, log_hr_draws, effect_draws = _bootstrap(setup, point_fit, n_boot, seed, notes, levers)
    scale = 1.0 / sample.fraction
    service_avoided = _service_exits_avoided(setup, point_fit, scale, point[-1, 0] * scale, notes)
    table = _table(setup.scenarios, point * scale, draws * scale, log_hr, log_hr_draws, levers)
    return ValueAtStakeResult(
        table=table, factual_churners=point[0, 2] * scale, factual_draws=draws[:, 0, 2] * scale,
        joint_draws=draws[:, -1, :] * scale if setup.scenarios[-1].kind == "joint" else None,
        skipped=skipped, notes=notes, sample=sample, window_months=setup.rows.window_months,
        horizon_months=horizon_months, monthly_discount_rate=monthly_discount_rate, currency=data.currency,
        improvements=improvements, n_boot=len(draws), rows=setup.rows, window=setup.frame,
        scenarios=setup.scenarios, basis=basis, service_exits_avoided=service_avoided,
        randomised=_randomised(setup.campaign, effect, effect_draws), randomised_skip=randomised_skip,
    )


def _campaign(data: CXData, frame: pd.DataFrame, setup: _Setup, origin: pd.Timestamp, declared: str,
              levers: list[Lever]) -> tuple[CampaignRows | None, tuple[str, str] | None]:
    """The randomised proactive campaign's rows among the model's person-months `frame`, or None and why not
    (reason, needs)."""
    if not any(lever.column == FOLLOW_UP_DRIVER for lever in levers):
        return None, ("the follow-up lever is not valued on this data", "proactive contacts")
    try:
        return campaign_rows(data, frame, setup.model.hazard.customer, origin, declared), None
    except NotEstimableError as err:
        return None, (err.reason, err.needs)


def _randomised(rows: CampaignRows | None, effect: float, draws: np.ndarray) -> RandomisedCheck | None:
    """The follow-up lever beside the campaign (None without one)."""
    if rows is None:
        return None
    measured, se = rows.measured
    return RandomisedCheck(campaign=rows.campaign, horizon=rows.horizon, measured=measured, measured_se=se,
                           predicted=effect, predicted_draws=draws, n_treated=rows.n_treated,
                           n_control=rows.n_control, n_model=len(rows.customer))


def _person_months(data: CXData, customer_ids: pd.Series | None, as_of: str | None) -> PersonMonths:
    """The person-months of the model (of `customer_ids` when sampled, up to `as_of`); raises without event dates,
    contacts or churn."""
    ok, why = can_build_person_months(data)
    if not ok:
        raise NotEstimableError(why, "event dates" if not data.has_timestamps else "contact records")
    months = person_months(data, DRIVER_WINDOW_MONTHS, customer_ids).until(as_of)
    if months.table.empty or not months.table["event"].any():
        raise NotEstimableError("no customer churned in a month at risk, so there is no hazard to model", "churners")
    return months


def _fitted(data: CXData, long: pd.DataFrame, design: pd.DataFrame, by_reason: bool, notes: list[str],
            window: tuple[int, int, float], levers: tuple[list[Lever], Improvements]) -> tuple[_Setup, Fits, str]:
    """The setup with its scenarios, the point fit and the basis; all churn instead of service-related churn when
    the service model cannot be fitted (noted). `window`: window months, horizon months, monthly discount rate."""
    by_cause, basis = _churn_basis(data, long, by_reason, notes)
    while True:
        setup = _setup(data, by_cause, design, *window, basis)
        setup.scenarios = _scenarios(levers[0], setup.frame, levers[1])
        try:
            fits = setup.model.fit()
            if np.isfinite(fits.hazard.beta).all() and (fits.reason is None
                                                         or np.abs(fits.reason.gamma).max() < MAX_LOG_ODDS):
                return setup, fits, basis
        except np.linalg.LinAlgError:
            pass
        if basis != SERVICE:
            raise NotEstimableError("the churn hazard model cannot be fitted (its information matrix is singular)",
                                    "churners")
        notes.remove(BASIS_TEXT[SERVICE])
        notes.append(f"{BASIS_TEXT['all']}; the model of service-related exits cannot be fitted on this data (a "
                     "segment or driver level without service-related exits leaves it without a finite optimum)")
        by_cause, basis = long, "all"


def _churn_basis(data: CXData, long: pd.DataFrame, by_reason: bool, notes: list[str]) -> tuple[pd.DataFrame, str]:
    """The person-months and the churn the levers act on: "service" (service-related exits, marked in
    `SERVICE_EXIT`) where the data records reasons and `by_reason`, else "all" (every exit)."""
    customers = data.customers
    if not by_reason or "end_reason" not in customers or customers["end_reason"].isna().all():
        notes.append(BASIS_TEXT["all"] + (" (asked for)" if not by_reason else "; the data records no reason "
                                          "for leaving (no end_reason)"))
        return long, "all"
    reason = long["customer_id"].map(customers.set_index("customer_id")["end_reason"]).where(long["event"])
    service = (reason == SERVICE).to_numpy()
    if service.sum() < MIN_EVENTS:
        notes.append(f"{BASIS_TEXT['all']}; only {int(service.sum())} service-related exits in the months modelled, "
                     f"fewer than {MIN_EVENTS}, too few for a hazard model of their own")
        return long, "all"
    notes.append(BASIS_TEXT[SERVICE])
    unknown = int((long["event"] & reason.isna()).sum())
    if unknown:
        notes.append(f"{unknown:,} exits without a recorded reason count among the other exits, so the value of "
                     "the levers is, if anything, understated")
    return long.assign(**{SERVICE_EXIT: service}), SERVICE


def _method_notes(rows: WindowRows, fraction: float) -> list[str]:
    """How the figures are counted, in words."""
    notes = [
        (f"valuation window: the last {rows.window_months} calendar months of observation "
        f"({rows.n_customers:,} customers at risk in it); churners avoided count each customer's months at risk in "
        "the window as observed (a churner's counterfactual survival is not followed past her churn month, so the "
        "count is conservative), margin retained follows her beyond her last window month at the window's average "
        f"retention up to {rows.horizon_months} months after the window began, discounted "
        f"{rows.monthly_discount_rate:.1%} a month"),
        ("each lever's scenario changes its own driver and holds the others as observed (e.g. resolving contacts "
        "does not also lower their effort in the scenario)"),
    ]
    if fraction < 1.0:
        notes.append(f"totals are scaled up from the sample of {fraction:.0%} of the customers to the whole base")
    return notes


def _design(long: pd.DataFrame, notes: list[str], data: CXData, origin: pd.Timestamp) -> pd.DataFrame:
    """The model's covariates: the drivers plus contract and plan (most common level as reference), and the
    campaigns' terms (`economics.value_at_stake_campaigns`; months counted from `origin`)."""
    categorical = [c for c in ("contract", "plan") if c in long]
    numeric = [*COUNT_DRIVERS, CES_DRIVER]
    complete = complete_cases(long[numeric + categorical], "person-months", notes)
    design, _ = covariate_design(complete, numeric, categorical, notes)
    return design.join(campaign_terms(data, long.loc[design.index], origin, notes))


def _available_levers(columns: list[str]) -> tuple[list[Lever], list[tuple[str, str, str]]]:
    """The levers whose drivers vary in the data; the others as (analysis, reason, needs) skips (NPS always)."""
    levers, skipped = [], []
    for lever in LEVERS:
        missing = [c for c in (lever.column, *lever.also_needs) if c not in columns]
        if missing:
            skipped.append((f"value at stake: {lever.label.lower()}",
                            (f"{', '.join(missing)} does not vary in this data (always zero), so the model has "
                             "no effect of it to value"), COLUMN_NEEDS[missing[0]]))
        else:
            levers.append(lever)
    skipped.append((f"value at stake: {NPS_SKIP[0].lower()}", NPS_SKIP[1], "a separate NPS model"))
    return levers, skipped


def _setup(data: CXData, long: pd.DataFrame, design: pd.DataFrame, window_months: int, horizon_months: int,
           monthly_discount_rate: float, basis: str) -> _Setup:
    """Cells of every person-month, and the window's person-months with their customers and margins."""
    model = CauseModels.from_design(long, design, SERVICE_EXIT if basis == SERVICE else None,
                                    [c for c in design.columns if not is_campaign_term(c)])
    months = long.loc[design.index, "month"].to_numpy(int)
    window = min(window_months, int(months.max()) + 1)
    position = np.flatnonzero(months > months.max() - window)
    frame = long.loc[design.index[position]].copy()
    frame[list(design.columns)] = design.iloc[position].to_numpy()
    margin = _margins(data)
    rows = WindowRows.from_frame(frame, margin, window, horizon_months, monthly_discount_rate)
    window_customer = model.hazard.customer[position][rows.last_rows()]
    return _Setup(model=model, rows=rows, frame=frame, position=position, window_customer=window_customer)


def _margins(data: CXData) -> pd.Series:
    """Monthly margin per customer_id (currency per month); unknown margins are the mean of the known, all NaN
    without any."""
    customers = data.customers
    if "monthly_margin" not in customers or customers["monthly_margin"].isna().all():
        return pd.Series(np.nan, index=customers["customer_id"])
    margin = customers["monthly_margin"].astype(float)
    return pd.Series(margin.fillna(margin.mean()).to_numpy(), index=customers["customer_id"])


def _scenarios(levers: list[Lever], frame: pd.DataFrame, improvements: Improvements) -> list[Scenario]:
    """Per lever its full and realistic scenarios, then the joint one (all service failures removed)."""
    out = []
    for lever in levers:
        out.append(Scenario(lever.key, lever.label, "full", lever.scenario, lever.full(frame)))
        out.append(Scenario(lever.key, lever.label, "realistic", lever.realistic_text(improvements),
                            lever.realistic(frame, improvements)))
    joint = [s for s in out if s.kind == "full" and s.lever in JOINT_LEVERS]
    if joint:
        changes = {col: values for s in joint for col, values in s.changes.items()}
        text = "; ".join(s.text for s in joint)
        out.append(Scenario("joint", "All service failures removed", "joint", text, changes))
    return out


def scenario_shift(scenario: Scenario, frame: pd.DataFrame, coef: pd.Series) -> np.ndarray:
    """Per window person-month: the change of the log cumulative hazard (cloglog eta) the scenario makes."""
    shift = np.zeros(len(frame))
    for column, values in scenario.changes.items():
        shift += (values - frame[column].to_numpy(float)) * float(coef.get(column, 0.0))
    return shift


def _window_predictors(setup: _Setup, fits: Fits) -> tuple[np.ndarray, np.ndarray | None]:
    """Per window person-month: the all-cause hazard's cloglog predictor, and the logit of the share of exits that
    are service-related (None on the all-cause basis)."""
    cells = setup.model.hazard.cell[setup.position]
    return fits.hazard.eta[cells], None if fits.reason is None else fits.reason.logit[cells]


def _counterfactual(setup: _Setup, fits: Fits, scenario: Scenario, eta: np.ndarray, logit: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """Per window person-month under `scenario`: the all-cause cloglog predictor and the service-related share."""
    counter_eta = eta + scenario_shift(scenario, setup.frame, fits.hazard.coef)
    if logit is None or fits.reason is None:
        return counter_eta, None
    return counter_eta, expit(logit + scenario_shift(scenario, setup.frame, fits.reason.coef))


def _evaluate(setup: _Setup, fits: Fits, weights: np.ndarray | None, levers: list[Lever]
              ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per scenario: churners avoided, margin retained (currency) and factual churners, weighted by customer; per
    lever the log hazard ratio of one more unit (`_log_hazard_ratios`); the campaign check (`_campaign_effect`)."""
    eta, logit = _window_predictors(setup, fits)
    share = None if logit is None else expit(logit)
    rate = np.exp(eta)
    w_cust = np.ones(setup.rows.n_customers) if weights is None else weights[setup.window_customer]
    w_rows = w_cust[setup.rows.customer]
    retention = float(np.average(np.exp(-rate), weights=w_rows))
    factual = value_rates(setup.rows, rate, retention)
    out = np.empty((len(setup.scenarios), 3))
    for i, scenario in enumerate(setup.scenarios):
        counter_eta, counter_share = _counterfactual(setup, fits, scenario, eta, logit)
        counter = value_rates(setup.rows, scenario_rate(eta, share, counter_eta, counter_share), retention)
        out[i] = (w_cust @ (factual.churn - counter.churn), w_cust @ (counter.margin - factual.margin),
                  w_cust @ factual.churn)
    return out, _log_hazard_ratios(fits, logit, w_rows, levers), _campaign_effect(setup, fits, weights)


def _campaign_effect(setup: _Setup, fits: Fits, weights: np.ndarray | None) -> float:
    """The follow-up lever's predicted churners avoided per 1,000 campaign customers given one follow-up (NaN
    without a campaign)."""
    rows = setup.campaign
    if rows is None:
        return float("nan")
    cells = setup.model.hazard.cell[rows.position]
    logit, log_odds = (None, 0.0) if fits.reason is None else (fits.reason.logit[cells],
                                                               float(fits.reason.coef[FOLLOW_UP_DRIVER]))
    return predicted_effect(rows, fits.hazard.eta[cells], logit, float(fits.hazard.coef[FOLLOW_UP_DRIVER]),
                            log_odds, None if weights is None else weights[rows.customer])


def _log_hazard_ratios(fits: Fits, logit: np.ndarray | None, w_rows: np.ndarray, levers: list[Lever]
                       ) -> np.ndarray:
    """Per lever: the log ratio of the acted-on hazard with one more unit of its driver to that without, averaged
    over the window's person-months (weights `w_rows`). On all churn that is the driver's coefficient; on
    service-related churn the all-cause coefficient plus the change of the log service share, which is smaller
    where service is already most of the exits."""
    out = np.array([fits.hazard.coef[lever.column] for lever in levers], dtype=float)
    if logit is None or fits.reason is None:
        return out
    for i, lever in enumerate(levers):
        step = log_expit(logit + fits.reason.coef[lever.column]) - log_expit(logit)
        out[i] += np.average(step, weights=w_rows)
    return out


def _service_exits_avoided(setup: _Setup, fits: Fits, scale: float, churners_avoided: float, notes: list[str]
                           ) -> float | None:
    """On the service basis: the joint scenario's fall in service-related exits within the window (whole base,
    `scale` from the sample), with a note on how many of those customers still leave for another reason
    (`churners_avoided`: the joint scenario's); None on the all-cause basis or without a joint scenario."""
    if fits.reason is None or setup.scenarios[-1].kind != "joint":
        return None
    eta, logit = _window_predictors(setup, fits)
    share = expit(logit)
    counter_eta, counter_share = _counterfactual(setup, fits, setup.scenarios[-1], eta, logit)
    joint_eta = np.log(scenario_rate(eta, share, counter_eta, counter_share))
    avoided = scale * (cause_exits(setup.rows, eta, -np.expm1(-np.exp(eta)) * share).sum()
                       - cause_exits(setup.rows, joint_eta, -np.expm1(-np.exp(counter_eta)) * counter_share).sum())
    notes.append(f"competing risks: with all service failures removed, {avoided:,.0f} fewer customers would have "
                 f"left for service-related reasons in the window, of whom {avoided - churners_avoided:,.0f} would "
                 "have left for another reason (price, a competitor, moving, ...) before its end; churners avoided "
                 "count only those who stay")
    return float(avoided)


def _bootstrap(setup: _Setup, point: Fits, n_boot: int, seed: int, notes: list[str], levers: list[Lever]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_evaluate` in `n_boot` customer-bootstrap draws, each refitting the model(s): draws x scenarios x 3, draws x
    levers log hazard ratios, and per draw the campaign check (NaN without a campaign)."""
    rng = np.random.default_rng(seed)
    n = setup.model.n_customers
    draws, log_hrs, effects = [], [], []
    for _ in range(n_boot):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        try:
            fit = setup.model.fit(weights, start=point)
        except np.linalg.LinAlgError:
            continue
        values, log_hr, effect = _evaluate(setup, fit, weights, levers)
        draws.append(values)
        log_hrs.append(log_hr)
        effects.append(effect)
    if len(draws) < n_boot:
        notes.append(f"{n_boot - len(draws)} of {n_boot} bootstrap draws could not refit the model (a tenure band "
                     "or driver without variation in the draw) and were left out")
    return (np.array(draws).reshape(len(draws), len(setup.scenarios), 3),
            np.array(log_hrs).reshape(len(log_hrs), len(levers)), np.array(effects, dtype=float))


def _table(scenarios: list[Scenario], point: np.ndarray, draws: np.ndarray, log_hr: np.ndarray,
           log_hr_draws: np.ndarray, levers: list[Lever]) -> pd.DataFrame:
    """One row per scenario: estimates with percentile 95% CIs, the lever's hazard ratio of one more unit (of the
    acted-on hazard, percentile CI) and E-values."""
    low, high = (np.percentile(draws, q, axis=0) if len(draws) else np.full_like(point, np.nan) for q in (2.5, 97.5))
    hr_low, hr_high = (np.exp(np.percentile(log_hr_draws, q, axis=0)) if len(log_hr_draws)
                       else np.full_like(log_hr, np.nan) for q in (2.5, 97.5))
    index = {lever.key: i for i, lever in enumerate(levers)}
    rows = []
    for i, s in enumerate(scenarios):
        j = index.get(s.lever)
        hr, lo, hi = (np.exp(log_hr[j]), hr_low[j], hr_high[j]) if j is not None else (np.nan, np.nan, np.nan)
        rows.append({
            "lever": s.lever, "label": s.label, "kind": s.kind, "scenario": s.text,
            "churners_avoided": point[i, 0], "churners_avoided_ci_low": low[i, 0],
            "churners_avoided_ci_high": high[i, 0], "margin_retained": point[i, 1],
            "margin_retained_ci_low": low[i, 1], "margin_retained_ci_high": high[i, 1],
            "hazard_ratio": hr, "hr_ci_low": lo, "hr_ci_high": hi, "e_value": e_value(hr),
            "e_value_ci": e_value_ci(lo, hi) if np.isfinite(lo) and np.isfinite(hi) else np.nan,
        })
    return pd.DataFrame(rows)
