"""Aalen-Johansen cumulative incidence by reason: against scikit-survival, Kaplan-Meier, a hand-computed case
and IBM Telco's published churn categories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxresearch.survival.columns import FROM_ENTRY, LifetimeColumns
from cxresearch.survival.competing import cumulative_incidence
from cxresearch.survival.kaplan_meier import kaplan_meier

TELCO = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "ibm-telco-11.1.3"
CAUSES = ["competitor", "price", "service"]


def random_lifetimes(n: int = 600, seed: int = 1, truncated: bool = False) -> pd.DataFrame:
    """Lifetimes on a monthly grid (ties) with three reasons and right censoring, optionally delayed entry."""
    rng = np.random.default_rng(seed)
    end = np.ceil(rng.exponential(20, n))
    censor = np.ceil(rng.uniform(1, 50, n))
    event = end <= censor
    reason = np.where(event, rng.choice(CAUSES, n, p=[0.5, 0.2, 0.3]), None)
    entry = np.where(rng.uniform(size=n) < 0.4, np.floor(rng.uniform(0, 10, n)), 0.0) if truncated else 0.0
    df = pd.DataFrame({"duration_months": np.minimum(end, censor), "event": event, "end_reason": reason,
                       "entry_months": entry, "segment": rng.choice(["a", "b"], n)})
    return df[df["duration_months"] > df["entry_months"]].reset_index(drop=True)


def test_equals_scikit_survival_on_untruncated_data() -> None:
    sksurv = pytest.importorskip("sksurv.nonparametric", reason="scikit-survival not installed")
    df = random_lifetimes()
    result = cumulative_incidence(df)
    code = df["end_reason"].map({c: i + 1 for i, c in enumerate(CAUSES)}).fillna(0).astype(int).to_numpy()
    times, cif, ci = sksurv.cumulative_incidence_competing_risks(
        code, df["duration_months"].to_numpy(), conf_type="log-log", var_type="Dinse_Approx")
    for k, cause in enumerate(CAUSES):
        curve = result.curves[result.curves["cause"] == cause].set_index("time")
        # scikit-survival also reports censoring-only times: compare at the event times.
        at = np.isin(times, curve.index)
        np.testing.assert_allclose(curve["cif"], cif[k + 1][at], atol=1e-6)
        np.testing.assert_allclose(curve["ci_low"], ci[k + 1, 0][at], atol=1e-6)
        np.testing.assert_allclose(curve["ci_high"], ci[k + 1, 1][at], atol=1e-6)


@pytest.mark.parametrize("truncated", [False, True])
def test_incidences_plus_kaplan_meier_sum_to_one(truncated: bool) -> None:
    df = random_lifetimes(truncated=truncated)
    entry = "entry_months" if truncated else None
    result = cumulative_incidence(df, columns=LifetimeColumns(entry=entry), group="segment")
    km = kaplan_meier(df, group="segment", columns=LifetimeColumns(entry=entry))
    for name in ("a", "b"):
        curves = result.curves[result.curves["group"] == name]
        total = curves.pivot(index="time", columns="cause", values="cif")
        survival = km.survival[km.survival["group"] == name].set_index("time")["survival"]
        np.testing.assert_allclose(total.sum(axis=1) + survival.reindex(total.index), 1.0, atol=1e-12)


def test_hand_computed_case() -> None:
    # Times 1 (price), 2 (censored), 3 (service), 3 (price), 4 (censored); one customer entering at 2.5.
    df = pd.DataFrame({"duration_months": [1, 2, 3, 3, 4, 5], "event": [1, 0, 1, 1, 0, 0],
                       "end_reason": ["price", None, "service", "price", None, None],
                       "entry_months": [0, 0, 0, 0, 0, 2.5]})
    result = cumulative_incidence(df, columns=FROM_ENTRY)
    at = result.summary([1, 3]).set_index(["cause", "months"])["cif"]
    # t=1: 5 at risk (the late entrant is not), 1 price: F_price = 1/5, S = 4/5.
    # t=3: at risk 3 (two leaving at 3, the one censored at 4) + the entrant = 4: each cause 1/4 * 4/5 = 1/5.
    assert at[("price", 1)] == pytest.approx(0.2)
    assert at[("service", 1)] == pytest.approx(0.0)
    assert at[("price", 3)] == pytest.approx(0.4)
    assert at[("service", 3)] == pytest.approx(0.2)
    # Delta-method variance of F_price at 1 is the binomial p(1-p)/n = 0.2 * 0.8 / 5.
    se = result.curves.query("cause == 'price' and time == 1")["se"].item()
    assert se == pytest.approx(np.sqrt(0.2 * 0.8 / 5))
    # Share of churn by month 3 that is price: 0.4 / 0.6.
    assert result.share("price", 3).value == pytest.approx(100 * 2 / 3)
    with pytest.raises(ValueError, match="no churn for"):
        result.share("moved", 3)


@pytest.mark.skipif(not TELCO.is_dir(), reason=f"IBM Telco 11.1.3 not found at {TELCO}")
def test_telco_incidence_by_reason() -> None:
    from cxresearch.data.load import load_source
    from cxresearch.features.snapshot import lifetimes

    data = load_source(f"ibm-telco:{TELCO}")
    # Churn Category counts as published: Competitor 841, Attitude 314 + Dissatisfaction 303, Price 211,
    # Other 200 of which Moved 46 and Deceased 6 are moved.
    counts = data.customers["end_reason"].value_counts().to_dict()
    assert counts == {"competitor": 841, "service": 617, "price": 211, "other": 148, "moved": 52}
    assert data.customers["end_reason_detail"].value_counts()["Moved"] == 46
    lt = lifetimes(data).merge(data.customers[["customer_id", "end_reason"]], on="customer_id")
    result = cumulative_incidence(lt, columns=FROM_ENTRY, group=None)
    at = result.summary([12, 24, 48]).set_index(["cause", "months"])
    km = kaplan_meier(lt, columns=FROM_ENTRY).survival_at([12, 24, 48]).set_index("months")["survival"]
    for t in (12, 24, 48):
        assert at.xs(t, level="months")["cif"].sum() + km[t] == pytest.approx(1.0, abs=1e-9)
    print("\n" + at.round(4).to_string())
    share = result.share("service", 48)
    print(share.format(1))
    assert 0 < share.ci_low < share.value < share.ci_high < 100


def test_stacked_plot_bands_end_at_the_incidences() -> None:
    import matplotlib.pyplot as plt

    from cxresearch.plots.competing import plot_cumulative_incidence_stacked

    result = cumulative_incidence(random_lifetimes())
    ax = plot_cumulative_incidence_stacked(result)
    final = result.curves.groupby("cause")["cif"].last() * 100
    labels = {t.get_text().rsplit(" ", 1)[0]: float(t.get_text().rsplit(" ", 1)[1]) for t in ax.texts}
    assert labels == {c: pytest.approx(round(v), abs=0.5) for c, v in final.items()}
    assert ax.get_ylabel() == "Customers of 100 who have left"
    plt.close(ax.figure)


@pytest.mark.skipif(not TELCO.is_dir(), reason=f"IBM Telco 11.1.3 not found at {TELCO}")
def test_telco_service_churn_regressions() -> None:
    from cxresearch.data.load import load_source
    from cxresearch.features.snapshot import lifetimes
    from cxresearch.survival.cause_specific import cause_specific_cox
    from cxresearch.survival.finegray import fine_gray
    from cxresearch.survival.gray import gray_test

    data = load_source(f"ibm-telco:{TELCO}")
    lt = lifetimes(data).merge(data.customers[["customer_id", "end_reason", "csat_score"]], on="customer_id")
    covariates = ["csat_score", "contract", "monthly_margin"]
    cs = cause_specific_cox(lt, covariates, columns=FROM_ENTRY).table.set_index(["cause", "term"])
    # Satisfaction lowers every reason's hazard; per point, service churn's by about half.
    assert cs.loc[("service", "csat_score"), "hr"] == pytest.approx(0.4832, abs=1e-3)
    assert cs.loc[("service", "contract=two_year"), "hr"] == pytest.approx(0.0963, abs=1e-3)
    fg = fine_gray(lt, "service", covariates, columns=FROM_ENTRY)
    shr = fg.summary().set_index("term")["shr"]
    assert shr["csat_score"] == pytest.approx(0.7668, abs=1e-3)
    assert fg.wald_test(["contract=one_year", "contract=two_year"]).df == 2
    with pytest.raises(ValueError, match="untruncated"):
        gray_test(lt, "service", "contract", columns=FROM_ENTRY)


@pytest.mark.parametrize(("group", "level", "horizon"), [(None, "all", 12.0), ("contract", "month_to_month", 24.0)])
def test_share_bootstrap_equals_resampling_the_rows(monkeypatch, group, level, horizon) -> None:
    """The weighted bootstrap gives, draw for draw, the share of the resampled rows (the former row copies)."""
    from cxresearch.data.simulate import simulate
    from cxresearch.survival import competing
    from cxresearch.survival.churn_reasons import reason_data

    reasons = reason_data(simulate(3000, 24, seed=4).to_cxdata())
    result = cumulative_incidence(reasons.lifetimes, reasons.columns, group=group)
    monkeypatch.setattr(competing, "N_BOOTSTRAP", 40)
    estimate = result.share("service", horizon, level, seed=3)
    sub, rng = result.data[level], np.random.default_rng(3)
    draws = [competing._share(sub.iloc[rng.integers(0, len(sub), len(sub))], result.causes, ["service"], horizon)
             for _ in range(40)]
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    assert (estimate.ci_low, estimate.ci_high) == (100 * low, 100 * high)
    assert (sub["entry"] > 0).any() and (sub.loc[sub["cause"].notna(), "duration"] > horizon).any()
