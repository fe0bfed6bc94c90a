"""Survey non-response: response rates, whether responders churn differently, and IPW-corrected NPS, CSAT, CES.

Relationship NPS is answered by whoever chooses to answer; if unhappy customers answer less, the NPS of
responders overstates the NPS of the customer base. The correction here re-weights responders by the inverse
of their estimated probability of answering, given what is known about every customer (Horvitz & Thompson
1952; Hajek's ratio form, as in Little & Rubin 2019, ch. 3). It removes the part of the bias those covariates
explain — including later churn, which is observed for everyone — and no more.

Transactional CSAT and CES are offered after service contacts, so their population is the customers with a
reactive contact in the lookback (the others were never asked), and the number of those contacts (more
contacts, more invitations) joins the response model. The unit is the customer (latest answer), as for NPS.

Parameters shared by the functions here: `snapshot`, the per-customer snapshot (`features.snapshot.snapshot`) with
`active`, `churned` and the score columns; `surveys`, the survey answers; `lookback_months`, the months before
`as_of` an answer (or a contact) counts in.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from cxresearch.data.schema import CXData
from cxresearch.loyalty.metrics import (
    DETRACTOR_MAX,
    HIGH_EFFORT_MIN,
    PROMOTER_MIN,
    SATISFIED_MIN,
    NPSResult,
    nps,
    summary_table,
)
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, wilson_pct

#: Covariates of the response model, used when present and varying.
RESPONSE_COVARIATES: tuple[str, ...] = (
    "tenure_months", "reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d", "reactive_lookback",
    "churned",
)
#: Count covariates, entered as log(1 + count) so a few heavy contact users do not dominate the fit.
COUNT_COVARIATES: tuple[str, ...] = (
    "reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d", "reactive_lookback",
)
#: Per instrument, the metrics the IPW correction reports: name -> (respondent's contribution, unit, label).
SCORE_METRICS: dict[str, dict[str, tuple[Callable[[np.ndarray], np.ndarray], str, str]]] = {
    "csat": {
        "top2_pct": (lambda s: 100.0 * (s >= SATISFIED_MIN), "%", "CSAT satisfied (4-5)"),
        "mean": (lambda s: s.astype(float), "points (1-5)", "CSAT mean score"),
    },
    "ces": {
        "mean": (lambda s: s.astype(float), "points (1-7)", "CES mean effort score"),
        "high_effort_pct": (lambda s: 100.0 * (s >= HIGH_EFFORT_MIN), "%", "High effort (CES 5-7)"),
    },
}
#: The scale each metric's interval stays within (a normal interval near 0% or a scale end would cross it).
SCALE: dict[str, tuple[float, float]] = {"%": (0.0, 100.0), "points (1-5)": (1.0, 5.0), "points (1-7)": (1.0, 7.0)}
RESPONSE_CATEGORICAL: tuple[str, ...] = ("contract", "plan")


def transactional_response(data: CXData, by: str = "channel") -> pd.DataFrame:
    """Share (%) of reactive contacts followed by a linked survey (via `contact_id`), by `by`, Wilson 95% CIs.

    Raises ValueError when contacts or surveys carry no `contact_id` (the link is what makes it measurable).

    Parameters
    ----------
    data
        The validated data.
    by
        Contact column to break the rate down by.

    Returns
    -------
    DataFrame
        Per level and "all": `contacts`, `responded`, `response_pct`, `ci_low`, `ci_high` (percent).
    """
    contacts, surveys = data.contacts, data.surveys
    for table, frame in (("contacts", contacts), ("surveys", surveys)):
        if "contact_id" not in frame or frame["contact_id"].isna().all():
            raise ValueError(f"{table} have no contact_id: survey responses cannot be linked to contacts")
    reactive = contacts[contacts["direction"] == "reactive"]
    answered = reactive["contact_id"].isin(surveys["contact_id"].dropna())
    table = answered.groupby(reactive[by]).agg(contacts="size", responded="sum")
    table["responded"] = table["responded"].astype(int)
    table.loc["all"] = [len(reactive), int(answered.sum())]
    table["response_pct"] = 100.0 * table["responded"] / table["contacts"]
    cis = [wilson_pct(r, n) for r, n in zip(table["responded"], table["contacts"], strict=True)]
    table["ci_low"], table["ci_high"] = [c[0] for c in cis], [c[1] for c in cis]
    return table


def nps_population(
    snapshot: pd.DataFrame, surveys: pd.DataFrame, lookback_months: int = 12, min_tenure_months: float = 0.0
) -> pd.DataFrame:
    """Customers active at the snapshot's `as_of` (tenure >= `min_tenure_months`), with `responded` and `score`.

    `responded` is whether the customer answered NPS in the `lookback_months` before `as_of`; `score` is the
    latest such answer (NaN for non-responders). `churned` (in the prediction window) stays as a covariate.

    Parameters
    ----------
    snapshot, surveys, lookback_months, min_tenure_months
        As in `survey_population`, for NPS.

    Returns
    -------
    DataFrame
        The active customers with `responded` and `score`.
    """
    return survey_population(snapshot, surveys, "nps", lookback_months, min_tenure_months)


def survey_population(
    snapshot: pd.DataFrame, surveys: pd.DataFrame, instrument: str, lookback_months: int = 12,
    min_tenure_months: float = 0.0, contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Customers active at `as_of` (tenure >= `min_tenure_months`) with `responded` and latest `score` on `instrument`.

    With `contacts` (a transactional survey), only customers with a reactive contact in the `lookback_months`
    before `as_of` are kept, with their number in `reactive_lookback`; with None, every active customer stays
    (for NPS, or when the data has no contacts, so who was asked cannot be told).

    Parameters
    ----------
    snapshot, surveys, lookback_months
        See the module docstring.
    instrument
        "nps", "csat" or "ces".
    min_tenure_months
        Youngest tenure (months) kept.
    contacts
        Contacts (transactional surveys: only customers with a reactive contact were asked); None
        keeps every active customer.

    Returns
    -------
    DataFrame
        The customers asked, with `responded`, `score` and (with contacts) `reactive_lookback`.
    """
    as_of = pd.Timestamp(snapshot.attrs["as_of"])
    start = as_of - pd.DateOffset(months=lookback_months)
    rows = surveys[(surveys["instrument"] == instrument) & (surveys["timestamp"] >= start)
                   & (surveys["timestamp"] < as_of)]
    latest = rows.sort_values("timestamp").groupby("customer_id")["score"].last()
    pop = snapshot[snapshot["active"].eq(True) & (snapshot["tenure_months"] >= min_tenure_months)].copy()
    if contacts is not None:
        reactive = contacts[(contacts["direction"] == "reactive") & (contacts["timestamp"] >= start)
                            & (contacts["timestamp"] < as_of)]
        pop["reactive_lookback"] = pop["customer_id"].map(reactive["customer_id"].value_counts()).fillna(0)
        pop = pop[pop["reactive_lookback"] > 0]
    pop["score"] = pop["customer_id"].map(latest).astype(float)
    pop["responded"] = pop["score"].notna()
    return pop.reset_index(drop=True)


@dataclass(frozen=True)
class ResponderChurn:
    """Churn (%) in the prediction window of NPS responders and of non-responders (Wilson CIs), and the difference
    non-responders minus responders (percentage points, Newcombe CI)."""

    responders: Estimate
    nonresponders: Estimate
    difference: Estimate

    def summary(self) -> pd.DataFrame:
        """Churn % per group and the difference (non-responders minus responders)."""
        rows = (("responders", self.responders), ("non-responders", self.nonresponders),
                ("non-responders - responders", self.difference))
        return summary_table("group", [(label, e.value, e.ci_low, e.ci_high, e.n) for label, e in rows],
                             ("churn_pct", "ci_low", "ci_high", "n"))

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()

    def to_estimates(self, prefix: str = "nonresponse_churn") -> dict[str, Estimate]:
        """The churn difference (percentage points)."""
        return {prefix: self.difference}


def responder_churn(population: pd.DataFrame) -> ResponderChurn:
    """Churn of non-responders minus responders (percentage points), Newcombe (1998) hybrid-score 95% CI.

    Parameters
    ----------
    population
        Customers with `responded` and `churned`.

    Returns
    -------
    ResponderChurn
        Churn of each group and the difference (points) with 95% CIs.
    """
    groups = {}
    for flag in (True, False):
        churned = population.loc[population["responded"] == flag, "churned"].astype(bool)
        groups[flag] = (int(churned.sum()), len(churned))
    if min(groups[True][1], groups[False][1]) == 0:
        raise ValueError("need both responders and non-responders to compare their churn")
    (c1, n1), (c0, n0) = groups[True], groups[False]
    p1, p0 = 100.0 * c1 / n1, 100.0 * c0 / n0
    (l1, u1), (l0, u0) = wilson_pct(c1, n1), wilson_pct(c0, n0)
    diff = p0 - p1
    low = diff - np.sqrt((p0 - l0) ** 2 + (u1 - p1) ** 2)
    high = diff + np.sqrt((u0 - p0) ** 2 + (p1 - l1) ** 2)
    return ResponderChurn(Estimate(p1, "%", "Churn of NPS responders", l1, u1, n1),
                          Estimate(p0, "%", "Churn of NPS non-responders", l0, u0, n0),
                          Estimate(diff, "points", "Churn of NPS non-responders minus responders", low, high, n1 + n0))


@dataclass(frozen=True)
class WeightedNPS:
    """NPS of responders (raw) and re-weighted to all customers in the population (IPW), with 95% CIs; the
    response rate (%, Wilson CI) of the customers asked."""

    raw: NPSResult
    corrected: Estimate
    response_rate: Estimate
    effective_n: float
    covariates: tuple[str, ...] = ()

    @property
    def correction(self) -> float:
        """IPW minus raw NPS, in points (negative: responders looked happier than the base)."""
        return self.corrected.value - self.raw.score

    def summary(self) -> pd.DataFrame:
        """Raw and IPW-corrected NPS (points) with 95% CIs and sample sizes."""
        c = self.corrected
        return summary_table("estimate", [
            ("raw (responders)", self.raw.score, self.raw.ci_low, self.raw.ci_high, self.raw.n),
            ("IPW (all customers)", c.value, c.ci_low, c.ci_high, c.n),
        ], ("nps", "ci_low", "ci_high", "n"))

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()

    def to_estimates(self, prefix: str = "nps_ipw") -> dict[str, Estimate]:
        """`<prefix>_score` (corrected NPS) and `<prefix>_response_rate_pct`."""
        return {f"{prefix}_score": self.corrected, f"{prefix}_response_rate_pct": self.response_rate}


def response_model(population: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Estimated probability that each customer in `population` responded (logistic regression), and covariates.

    Covariates: `RESPONSE_COVARIATES` and `RESPONSE_CATEGORICAL` present and varying; `COUNT_COVARIATES` enter
    as log(1 + count).

    Parameters
    ----------
    population
        Customers with `responded` and the covariates.

    Returns
    -------
    tuple
        Probability of responding per customer, and the covariates used.
    """
    columns: dict[str, np.ndarray] = {}
    used: list[str] = []
    for col in RESPONSE_COVARIATES:
        if col in population and population[col].nunique(dropna=True) > 1:
            used.append(col)
            x = pd.to_numeric(population[col].astype(float)).fillna(0.0).to_numpy()
            columns[col] = np.log1p(x) if col in COUNT_COVARIATES else x
    for col in RESPONSE_CATEGORICAL:
        if col in population and population[col].nunique(dropna=True) > 1:
            used.append(col)
            dummies = pd.get_dummies(population[col].astype(str), prefix=col, drop_first=True, dtype=float)
            columns.update({c: dummies[c].to_numpy() for c in dummies})
    design = sm.add_constant(pd.DataFrame(columns, index=population.index), has_constant="add")
    y = population["responded"].astype(float).to_numpy()
    with warnings.catch_warnings():
        # collinear covariates on thin data (e.g. every contact unresolved) leave the coefficients non-unique,
        # but not the predicted probabilities, which are all the weights use
        warnings.simplefilter("ignore", SingularMatrixWarning)
        fit = sm.GLM(y, design.to_numpy(), family=sm.families.Binomial()).fit()
    return np.asarray(fit.predict(design.to_numpy())), used


def _weights(population: pd.DataFrame, min_probability: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Responder mask, responders' trimmed inverse response probabilities, and the response model's covariates."""
    prob, covariates = response_model(population)
    responded = population["responded"].to_numpy(dtype=bool)
    return responded, 1.0 / np.clip(prob[responded], min_probability, 1.0), covariates


def _hajek(v: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean of the contributions `v` and its linearised standard error (weights treated as known)."""
    mean = float(np.sum(weights * v) / weights.sum())
    return mean, float(np.sqrt(np.sum(weights**2 * (v - mean) ** 2)) / weights.sum())


def ipw_nps(population: pd.DataFrame, min_probability: float = 0.02) -> WeightedNPS:
    """NPS of the whole population from its responders, weighted by 1 / P(respond | covariates) (Hajek form).

    Probabilities below `min_probability` are raised to it (weight trimming, Cole & Hernan 2008). The CI uses
    the linearised variance sum(w^2 (v - NPS)^2) / sum(w)^2 of the contributions v = +100 / 0 / -100, treating
    the weights as known; estimating them usually makes the true interval narrower (Lunceford & Davidian 2004),
    so this CI is conservative.

    Parameters
    ----------
    population
        Customers with `responded`, `score` and the response covariates (`nps_population`).
    min_probability
        Smallest response probability a weight is built from (trimming).

    Returns
    -------
    WeightedNPS
        Raw and IPW-corrected NPS with 95% CIs.
    """
    if not population["responded"].any():
        raise ValueError("no NPS responders in the population")
    responded, weights, covariates = _weights(population, min_probability)
    scores = population.loc[responded, "score"].to_numpy()
    v = 100.0 * ((scores >= PROMOTER_MIN).astype(float) - (scores <= DETRACTOR_MAX).astype(float))
    score, se = _hajek(v, weights)
    raw, n, answered = nps(scores), len(population), int(responded.sum())
    effective_n = float(weights.sum() ** 2 / np.sum(weights**2))
    corrected = Estimate(
        score, "points", "NPS corrected for non-response (IPW)", max(-100.0, score - Z95 * se),
        min(100.0, score + Z95 * se), n, note=f"raw NPS of responders {raw.score:.1f}; effective n {effective_n:.0f}; "
        f"response model on {', '.join(covariates)}")
    rate = Estimate(100.0 * answered / n, "%", "Customers who answered NPS in the lookback", *wilson_pct(answered, n), n)
    return WeightedNPS(raw, corrected, rate, effective_n, tuple(covariates))


@dataclass(frozen=True)
class WeightedScores:
    """CSAT or CES metrics of responders (raw) and re-weighted to all customers in the population (IPW), 95% CIs."""

    instrument: str  # "csat" or "ces"
    table: pd.DataFrame  # per metric: unit, label, raw, raw_ci_low, raw_ci_high, ipw, ci_low, ci_high
    response_rate_pct: float
    n_population: int
    n_responders: int
    effective_n: float
    covariates: list[str] = field(default_factory=list)

    def correction(self, metric: str) -> float:
        """IPW minus raw value of `metric`, in its unit (points or percentage points)."""
        return float(self.table.loc[metric, "ipw"] - self.table.loc[metric, "raw"])

    def summary(self) -> pd.DataFrame:
        """Per metric, raw (responders) and IPW (all customers asked) values with 95% CIs and sample sizes."""
        rows = []
        for metric, r in self.table.iterrows():
            rows.append({"metric": metric, "estimate": "raw (responders)", "value": r.raw, "ci_low": r.raw_ci_low,
                         "ci_high": r.raw_ci_high, "unit": r.unit, "n": self.n_responders})
            rows.append({"metric": metric, "estimate": "IPW (all customers asked)", "value": r.ipw,
                         "ci_low": r.ci_low, "ci_high": r.ci_high, "unit": r.unit, "n": self.n_population})
        return pd.DataFrame(rows).set_index(["metric", "estimate"])

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()

    def to_estimates(self, prefix: str | None = None) -> dict[str, Estimate]:
        """`<prefix>_<metric>` (IPW-corrected) per metric and `<prefix>_response_rate_pct`; prefix `<instrument>_ipw`."""
        prefix = prefix or f"{self.instrument}_ipw"
        name = self.instrument.upper()
        out = {
            f"{prefix}_{metric}": Estimate(
                float(r.ipw), r.unit, f"{r.label}, corrected for non-response (IPW)", float(r.ci_low),
                float(r.ci_high), self.n_population, note=f"raw (responders' latest answer) {r.raw:.2f}; effective n "
                f"{self.effective_n:.0f}; response model on {', '.join(self.covariates)}",
            )
            for metric, r in self.table.iterrows()
        }
        low, high = wilson_pct(self.n_responders, self.n_population)
        out[f"{prefix}_response_rate_pct"] = Estimate(
            self.response_rate_pct, "%", f"Customers asked who answered {name} in the lookback", low, high,
            self.n_population,
        )
        return out


def ipw_scores(population: pd.DataFrame, instrument: str, min_probability: float = 0.02) -> WeightedScores:
    """CSAT (% satisfied, mean) or CES (mean, % high effort) of the whole population from its responders' latest
    answers, weighted by 1 / P(respond | covariates): the estimator and CI of `ipw_nps`; raw CIs are the same
    linearisation with equal weights (normal approximation).

    Parameters
    ----------
    population
        Customers asked, with `responded`, `score` and covariates (`survey_population`).
    instrument
        "csat" or "ces".
    min_probability
        Trimming, as in `ipw_nps`.

    Returns
    -------
    WeightedScores
        Raw and IPW-corrected metrics with 95% CIs.
    """
    if instrument not in SCORE_METRICS:
        raise ValueError(f"instrument must be one of {sorted(SCORE_METRICS)}, not {instrument!r}")
    if not population["responded"].any():
        raise ValueError(f"no {instrument.upper()} responders in the population")
    responded, weights, covariates = _weights(population, min_probability)
    scores = population.loc[responded, "score"].to_numpy(float)
    rows = {}
    for metric, (contribution, unit, label) in SCORE_METRICS[instrument].items():
        v = contribution(scores)
        raw, raw_se = _hajek(v, np.ones_like(v))
        ipw, se = _hajek(v, weights)
        low, high = SCALE[unit]
        rows[metric] = {"unit": unit, "label": label, "raw": raw, "raw_ci_low": max(low, raw - Z95 * raw_se),
                        "raw_ci_high": min(high, raw + Z95 * raw_se), "ipw": ipw, "ci_low": max(low, ipw - Z95 * se),
                        "ci_high": min(high, ipw + Z95 * se)}
    return WeightedScores(
        instrument, pd.DataFrame.from_dict(rows, orient="index"), 100.0 * responded.mean(), len(population),
        int(responded.sum()), float(weights.sum() ** 2 / np.sum(weights**2)), covariates,
    )


def ipw_transactional(
    snapshot: pd.DataFrame, surveys: pd.DataFrame, contacts: pd.DataFrame | None, lookback_months: int = 12,
    instruments: tuple[str, ...] = ("csat", "ces"),
) -> dict[str, WeightedScores]:
    """`ipw_scores` for each of `instruments` with both responders and non-responders among the customers asked
    (`survey_population` with `contacts`, or every active customer when there are no contacts); instruments
    without both are left out.

    Parameters
    ----------
    snapshot, surveys, lookback_months
        See the module docstring.
    contacts
        Contact records; None or empty: every active customer counts as asked.
    instruments
        Instruments to correct.

    Returns
    -------
    dict of WeightedScores
        By instrument, for those with both responders and non-responders.
    """
    if contacts is not None and len(contacts):
        # the reactive contacts of the lookback, once for all instruments (the contacts table is the largest)
        as_of = pd.Timestamp(snapshot.attrs["as_of"])
        contacts = contacts.loc[(contacts["direction"] == "reactive") & (contacts["timestamp"] < as_of)
                                & (contacts["timestamp"] >= as_of - pd.DateOffset(months=lookback_months)),
                                ["customer_id", "timestamp", "direction"]]
    else:
        contacts = None
    out = {}
    for name in instruments:
        population = survey_population(snapshot, surveys, name, lookback_months, contacts=contacts)
        if population["responded"].any() and not population["responded"].all():
            out[name] = ipw_scores(population, name)
    return out
