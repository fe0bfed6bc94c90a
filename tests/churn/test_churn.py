"""Tests for cxresearch.churn.logit: coefficient recovery, missing-indicator coding, separation, dropped columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special
from sklearn.metrics import roc_auc_score

from cxresearch.churn.design import INTERCEPT
from cxresearch.churn.estimation import fit_firth_logit
from cxresearch.churn.leakage import screen_leakage, single_feature_auc
from cxresearch.churn.logit import ChurnLogitResult, fit_churn_logit
from cxresearch.data.simulate import simulate as simulate_world
from cxresearch.features.snapshot import snapshot as make_snapshot
from cxresearch.stats.estimate import Estimate
from cxresearch.truth.churn import true_window_odds_ratios
from cxresearch.truth.recovery import recovery_table

N = 20_000
#: True log-odds coefficients of the simulated snapshot (per unit; contract vs monthly).
TRUE = {
    "ces_mean_90d": 0.30,
    "reactive_90d": 0.25,
    "tenure_months": -0.02,
    "nps_last": -0.10,
    "contract[annual]": -0.50,
    "contract[two_year]": -1.00,
}


def simulate(seed: int = 1, n: int = N, nps_missing: float = 0.8) -> pd.DataFrame:
    """Snapshot with churn drawn from a known logistic model; NPS missing completely at random."""
    rng = np.random.default_rng(seed)
    ces = rng.integers(1, 8, n).astype(float)
    reactive = rng.poisson(1.0, n)
    tenure = rng.uniform(0, 60, n)
    contract = rng.choice(["monthly", "annual", "two_year"], n, p=[0.5, 0.3, 0.2])
    nps_score = rng.integers(0, 11, n).astype(float)
    eta = (
        -1.5
        + TRUE["ces_mean_90d"] * ces
        + TRUE["reactive_90d"] * reactive
        + TRUE["tenure_months"] * tenure
        + TRUE["nps_last"] * nps_score
        + np.select(
            [contract == "annual", contract == "two_year"],
            [TRUE["contract[annual]"], TRUE["contract[two_year]"]],
            0.0,
        )
    )
    churned = rng.random(n) < special.expit(eta)
    nps_score[rng.random(n) < nps_missing] = np.nan
    snapshot = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "active": True,
            "churned": churned,
            "ces_mean_90d": ces,
            "reactive_90d": reactive,
            "tenure_months": tenure,
            "nps_last": nps_score,
            "contract": contract,
            "plan": "basic",
        }
    )
    snapshot["true_eta"] = eta  # not a model feature: used by tests as the oracle score
    return snapshot


@pytest.fixture(scope="module")
def snapshot() -> pd.DataFrame:
    return simulate()


@pytest.fixture(scope="module")
def complete() -> ChurnLogitResult:
    """Fit on the same world with every NPS answered: the model is then correctly specified."""
    return fit_churn_logit(simulate(nps_missing=0.0))


@pytest.fixture(scope="module")
def fitted(snapshot: pd.DataFrame) -> ChurnLogitResult:
    return fit_churn_logit(snapshot)


def test_recovers_known_coefficients_within_ci(complete: ChurnLogitResult) -> None:
    table = complete.summary()
    assert complete.method.startswith("maximum likelihood")
    assert "nps_last_missing" not in table.index
    for term, truth in TRUE.items():
        row = table.loc[term]
        assert row.or_ci_low < np.exp(truth) < row.or_ci_high, term
        assert row.odds_ratio == pytest.approx(np.exp(row.coef))
    assert (table["p_value"].between(0, 1)).all()


def test_defaults_reference_level_and_dropped_columns(fitted: ChurnLogitResult) -> None:
    assert fitted.reference_levels == {"contract": "monthly"}  # the most common level
    assert "contract[monthly]" not in fitted.summary().index
    notes = " ".join(fitted.notes)
    assert "Dropped plan: only one level" in notes
    assert "csat_last" in notes  # default feature absent from the data is reported


def test_missing_indicator_keeps_every_customer(snapshot: pd.DataFrame, fitted: ChurnLogitResult) -> None:
    assert fitted.n == N and fitted.n_events == int(snapshot["churned"].sum())
    assert fitted.event_rate == pytest.approx(snapshot["churned"].mean())
    assert "nps_last_missing" in fitted.summary().index
    assert any("missing-indicator" in note and "nps_last" in note for note in fitted.notes)
    assert fitted.centers["nps_last"] == pytest.approx(snapshot["nps_last"].mean())
    # With 80% of a predictive score missing, the other coefficients are slightly attenuated (the omitted
    # score is averaged over for non-respondents), so recovery is checked at 3.5 standard errors, not 1.96.
    table = fitted.summary()
    for term, truth in TRUE.items():
        assert abs(table.loc[term, "coef"] - truth) < 3.5 * table.loc[term, "se"], term
    # NPS is missing completely at random, so non-respondents churn like a respondent at the mean.
    assert abs(table.loc["nps_last_missing", "coef"]) < 3.5 * table.loc["nps_last_missing", "se"]


def test_inactive_customers_are_excluded(snapshot: pd.DataFrame, fitted: ChurnLogitResult) -> None:
    ended = snapshot.head(500).assign(active=False, churned=True, customer_id=lambda d: d.customer_id + "x")
    refit = fit_churn_logit(pd.concat([snapshot, ended], ignore_index=True))
    assert refit.n == fitted.n
    assert refit.summary()["coef"].to_numpy() == pytest.approx(fitted.summary()["coef"].to_numpy())


def test_in_sample_auc(snapshot: pd.DataFrame, fitted: ChurnLogitResult) -> None:
    assert isinstance(fitted.auc, Estimate)
    assert "in-sample" in fitted.auc.note
    # The oracle sees every NPS score, the model only 20% of them: it discriminates a little less well.
    oracle = roc_auc_score(snapshot["churned"], snapshot["true_eta"])
    assert oracle - 0.03 < fitted.auc.value < oracle + 0.005
    assert fitted.auc.ci_low < fitted.auc.value < fitted.auc.ci_high


def test_odds_ratio_and_estimates(fitted: ChurnLogitResult) -> None:
    estimate = fitted.odds_ratio("contract[two_year]")
    assert estimate.value == pytest.approx(fitted.summary().loc["contract[two_year]", "odds_ratio"])
    assert estimate.ci_low < estimate.value < estimate.ci_high and estimate.n == N
    assert "two_year (vs monthly)" in estimate.label
    with pytest.raises(KeyError, match="contract"):
        fitted.odds_ratio("nope")
    estimates = fitted.to_estimates("m")
    assert {"m_n", "m_event_rate", "m_auc", "m_or_ces_mean_90d"} <= set(estimates)
    assert f"m_or_{INTERCEPT}" not in estimates


def test_complete_separation_refits_with_firth(snapshot: pd.DataFrame) -> None:
    data = snapshot.assign(separator=snapshot["churned"].astype(float))
    # The leakage screen would drop this column; switched off here to exercise the separation remedy.
    result = fit_churn_logit(data, features=["ces_mean_90d", "separator"], categorical=["contract"],
                             leakage_auc=None)
    assert result.method.startswith("Firth")
    assert any("separation" in note for note in result.notes)
    table = result.summary()
    assert np.isfinite(table[["coef", "se", "or_ci_low", "or_ci_high"]].to_numpy()).all()
    assert table.loc["separator", "odds_ratio"] > 100


def test_quasi_separation_refits_with_firth(snapshot: pd.DataFrame) -> None:
    rng = np.random.default_rng(7)
    # A rare flag seen only among churners: the ML odds ratio is infinite but the fit still "converges".
    flag = (rng.random(len(snapshot)) < 0.01) & snapshot["churned"].to_numpy()
    data = snapshot.assign(flag=flag.astype(int))
    result = fit_churn_logit(data, features=["ces_mean_90d", "flag"], categorical=[])
    assert result.method.startswith("Firth")
    assert any("flag" in note and "separation" in note for note in result.notes)
    assert np.isfinite(result.summary()["coef"]).all()
    # The other coefficient is essentially unaffected by the penalty at this sample size.
    assert result.summary().loc["ces_mean_90d", "coef"] == pytest.approx(0.30, abs=0.05)


def test_firth_solves_penalised_likelihood() -> None:
    rng = np.random.default_rng(11)
    x = np.column_stack([np.ones(40), rng.normal(size=40), rng.integers(0, 2, 40)])
    y = (rng.random(40) < special.expit(x @ [-0.5, 1.0, 0.8])).astype(float)

    def negative_penalised(beta: np.ndarray) -> float:
        eta = x @ beta
        w = special.expit(eta) * special.expit(-eta)
        return -(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(x.T @ (x * w[:, None]))[1])

    beta, cov, converged = fit_firth_logit(x, y)
    reference = optimize.minimize(negative_penalised, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    assert converged
    assert beta == pytest.approx(reference, abs=1e-4)
    assert np.all(np.diag(cov) > 0)


def test_constant_and_collinear_columns_dropped(snapshot: pd.DataFrame) -> None:
    data = snapshot.assign(const=3.0, ces_double=2 * snapshot["ces_mean_90d"])
    result = fit_churn_logit(data, features=["ces_mean_90d", "const", "ces_double"], categorical=[])
    terms = set(result.summary().index)
    assert "const" not in terms and len(terms & {"ces_mean_90d", "ces_double"}) == 1
    notes = " ".join(result.notes)
    assert "Dropped const: constant" in notes and "linear combination" in notes
    assert result.method.startswith("maximum likelihood")


def test_mostly_missing_survey_columns(snapshot: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    csat = rng.integers(1, 6, len(snapshot)).astype(float)
    csat[rng.random(len(snapshot)) < 0.97] = np.nan
    data = snapshot.assign(csat_last=csat, ces_last=np.nan)
    result = fit_churn_logit(data, features=["ces_mean_90d", "csat_last", "ces_last"], categorical=[])
    assert result.n == N
    assert {"csat_last", "csat_last_missing"} <= set(result.summary().index)
    assert "ces_last" not in result.summary().index
    assert any("Dropped ces_last: no customer has a value" in note for note in result.notes)


def test_input_errors(snapshot: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not_there"):
        fit_churn_logit(snapshot, features=["not_there"])
    with pytest.raises(ValueError, match="0 of"):
        fit_churn_logit(snapshot.assign(churned=False))
    with pytest.raises(ValueError, match="contract"):
        fit_churn_logit(snapshot, features=["contract"], categorical=[])


def test_leaking_column_is_dropped_and_reported(snapshot: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    # A "days since cancellation request" field: present almost only for churners (leakage via missingness),
    # and a numeric near-copy of the target.
    request = np.where(snapshot["churned"] & (rng.random(len(snapshot)) < 0.97), rng.integers(1, 30, len(snapshot)),
                       np.nan)
    near_copy = snapshot["churned"].astype(float) + rng.normal(0, 0.05, len(snapshot))
    data = snapshot.assign(cancel_request_days=request, status_score=near_copy)
    result = fit_churn_logit(data, features=["ces_mean_90d", "reactive_90d", "cancel_request_days", "status_score"],
                             categorical=["contract"])
    assert set(result.dropped_for_leakage) == {"cancel_request_days", "status_score"}
    assert not {"cancel_request_days", "status_score"} & set(result.summary().index)
    assert sum("leakage" in note for note in result.notes) == 2
    assert result.method.startswith("maximum likelihood")
    # The analysis continues with the genuine drivers, recovered as before.
    assert abs(result.summary().loc["reactive_90d", "coef"] - TRUE["reactive_90d"]) < 0.05
    screen = single_feature_auc(data, ["ces_mean_90d", "status_score"], data["churned"].to_numpy())
    assert screen.loc["status_score", "auc"] > 0.99 and 0.55 < screen.loc["ces_mean_90d", "auc"] < 0.8


def test_heavy_imbalance_is_reported_and_odds_ratios_survive() -> None:
    rng = np.random.default_rng(9)
    n = 60_000
    x = rng.normal(size=n)
    churned = rng.random(n) < special.expit(-5.0 + 0.8 * x)  # about 1% churn
    data = pd.DataFrame({"active": True, "churned": churned, "reactive_90d": x})
    result = fit_churn_logit(data, features=["reactive_90d"], categorical=[])
    assert result.event_rate < 0.02
    assert any("imbalance" in note for note in result.notes)
    row = result.summary().loc["reactive_90d"]
    assert row.or_ci_low < np.exp(0.8) < row.or_ci_high


def test_predict_proba_reproduces_fitted_probabilities(snapshot: pd.DataFrame, fitted: ChurnLogitResult) -> None:
    prob = fitted.predict_proba(snapshot)
    assert prob.shape == (len(snapshot),) and np.all((prob > 0) & (prob < 1))
    assert roc_auc_score(snapshot["churned"], prob) == pytest.approx(fitted.auc.value)
    # Logistic ML fits reproduce the observed event count exactly (score equation of the intercept).
    assert prob.sum() == pytest.approx(fitted.n_events, rel=1e-6)
    # An unseen category level scores as the reference level.
    unseen = fitted.predict_proba(snapshot.head(5).assign(contract="weekly"))
    reference = fitted.predict_proba(snapshot.head(5).assign(contract="monthly"))
    assert unseen == pytest.approx(reference)


def test_contact_effects_are_the_interaction() -> None:
    rng = np.random.default_rng(4)
    n = 40_000
    reactive = rng.poisson(1.2, n)
    unresolved = rng.binomial(reactive, 0.35)
    b_r, b_u = 0.10, 0.35  # per contact, and extra per unresolved contact
    churned = rng.random(n) < special.expit(-2.5 + b_r * reactive + b_u * unresolved)
    data = pd.DataFrame({"active": True, "churned": churned, "reactive_90d": reactive, "unresolved_90d": unresolved})
    result = fit_churn_logit(data, features=["reactive_90d", "unresolved_90d"], categorical=[])
    effects = result.contact_effects()
    table = result.summary()
    assert effects.loc["unresolved_contact", "log_odds"] == pytest.approx(
        table.loc["reactive_90d", "coef"] + table.loc["unresolved_90d", "coef"])
    for key, truth in (("resolved_contact", b_r), ("unresolved_contact", b_r + b_u), ("first_contact_resolution", -b_u)):
        row = effects.loc[key]
        assert row.or_ci_low < np.exp(truth) < row.or_ci_high, key
    # The SE of the sum uses the (negative) covariance: smaller than adding the two SEs.
    assert effects.loc["unresolved_contact", "se"] < table.loc["reactive_90d", "se"] + table.loc["unresolved_90d", "se"]
    # Flat data with only a contact count: no interaction to report.
    flat = fit_churn_logit(data, features=["reactive_90d"], categorical=[])
    assert flat.contact_effects().empty


def test_window_odds_ratios_recovered_on_a_simulated_world() -> None:
    world = simulate_world(n_customers=20_000, seed=3)
    snap = make_snapshot(world.to_cxdata())
    model = fit_churn_logit(snap)
    truth = true_window_odds_ratios(world.truth, snap.attrs["as_of"], n_customers=100_000)
    assert len(truth) == 9  # four contact counts, CES, two contract and two plan levels
    odds = model.summary().rename(columns={"odds_ratio": "estimate", "or_ci_low": "ci_low", "or_ci_high": "ci_high"})
    recovery = recovery_table(odds, truth["odds_ratio"].to_dict(), "odds_ratio")
    assert recovery["same_direction"].all(), recovery
    assert recovery["truth_in_ci"].sum() >= 7, recovery
    # Window odds ratios are not the monthly hazard ratios, but close to them while churn is rare.
    hazard = {c["feature"]: c["value"] for c in world.truth["coefficients"].values()}
    for term, row in truth.iterrows():
        assert abs(row.log_odds - hazard[term]) < 0.25, term


def test_leakage_screen_flags_a_score_given_after_the_decision(snapshot: pd.DataFrame) -> None:
    """Telco-like: a satisfaction score of 1-2 for every churner and 3-5 for every stayer but a few."""
    data = snapshot[snapshot["active"]].copy()
    churned = data["churned"].to_numpy()
    rng = np.random.default_rng(3)
    data["csat_last"] = np.where(churned, rng.integers(1, 3, len(data)), rng.integers(3, 6, len(data))).astype(float)
    flip = rng.random(len(data)) < 0.02  # 2% answered against type: AUC stays far above 0.95
    data.loc[flip, "csat_last"] = 6.0 - data.loc[flip, "csat_last"]
    expected = roc_auc_score(churned, -data["csat_last"])
    screen = screen_leakage(data)
    assert screen.columns == ["csat_last"]
    assert screen.leaking[0].auc == pytest.approx(expected, abs=1e-12)
    record = screen.to_records()[0]
    assert record["column"] == "Satisfaction score (CSAT)" and record["key"] == "csat_last"
    assert screen.finding().startswith("Satisfaction score (CSAT) nearly equals the churn outcome (ROC-AUC")
    assert "left out of every churn model" in screen.finding()
    assert screen.keep(["tenure_months", "csat_last"]) == ["tenure_months"]
    # tenure and the simulated drivers are real predictors (AUC well under 0.95): not flagged
    assert screen.table.loc["tenure_months", "auc"] < 0.95


def test_excluded_column_stays_out_even_below_the_threshold(snapshot: pd.DataFrame) -> None:
    """A column flagged on the whole snapshot is dropped from a subset's model whatever its AUC there."""
    fit = fit_churn_logit(snapshot, exclude=["ces_mean_90d"])
    assert "ces_mean_90d" not in fit.coefficients.index and fit.dropped_for_leakage == ["ces_mean_90d"]
    assert any(n.startswith("Dropped ces_mean_90d: flagged as leaking") for n in fit.notes)
    # the finding that no driver matters names what was left out, so it cannot read as "effort doesn't matter"
    quiet = ChurnLogitResult(fit.coefficients.assign(p_value=0.5), fit.n, fit.n_events, fit.auc, fit.method,
                             dropped_for_leakage=["ces_mean_90d"])
    drivers = len(quiet.driver_tests())
    assert quiet.findings() == [
        f"No CX driver's odds ratio differs from 1 after Holm's adjustment over the {drivers} drivers (family-wise "
        "level 5%) (Effort score (CES, 90-day mean) left out: recorded after the churn decision, see leakage)."
    ]
