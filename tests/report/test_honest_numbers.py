"""Issue 15: numbers no more certain than the evidence.

Multiplicity (Holm over the claims and the drivers), known-truth tables that can say "not applicable", and NPS,
CSAT and CES intervals that stay open at 0% and 100%, each against hand-computed values, simulator truth or a
simulated null world.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxresearch.churn.logit import fit_churn_logit
from cxresearch.data.simulate import simulate
from cxresearch.features.snapshot import snapshot
from cxresearch.loyalty.claims import evaluate_claims
from cxresearch.loyalty.evidence import (
    CANNOT_TEST,
    NOT_SUPPORTED,
    SUPPORTED,
    Evidence,
    LogNormalInterval,
    WilsonInterval,
    adjust,
    ratio_rule,
)
from cxresearch.loyalty.metrics import ces, compare_nps, csat, nps
from cxresearch.stats.intervals import bounded_mean_interval
from cxresearch.stats.multiplicity import holm
from cxresearch.truth.churn import KnownTruthCheck, known_truth_check, zero_effect_terms
from cxresearch.truth.recovery import NOT_APPLICABLE, direction_counts, direction_words, recovery_table

Z = 1.959963984540054
#: The CX drivers' total log hazard ratios, all "no effect".
NULL_EFFECTS = {"reactive": 0.0, "unresolved": 0.0, "proactive": 0.0, "inconsistency": 0.0, "ces": 0.0}


# --- multiplicity ---------------------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    """p = (0.01, 0.04, 0.03, 0.2): sorted 0.01 x 4 = 0.04, 0.03 x 3 = 0.09, 0.04 x 2 = 0.08 -> 0.09, 0.2 x 1."""
    adjusted, levels = holm([0.01, 0.04, 0.03, 0.2])
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.2])
    # the first row is rejected at 0.05 / 4; the step-down stops at rank 2, whose level 0.05 / 3 the rest keep
    assert levels == pytest.approx([0.0125, 0.05 / 3, 0.05 / 3, 0.05 / 3])
    adjusted, levels = holm([0.02, 0.001, 0.01])  # all rejected: 0.003, 0.02, 0.02
    assert adjusted == pytest.approx([0.02, 0.003, 0.02])
    assert levels == pytest.approx([0.05, 0.05 / 3, 0.025])


def _row(id: str, log_or: float, se: float = 0.1) -> Evidence:
    """A claim 'the ratio is above 1' with a Wald interval on the log scale."""
    return Evidence.judged(id, f"claim {id}", "test", math.exp(log_or), LogNormalInterval(log_or, se), "odds ratio",
                           ratio_rule("greater"))


def test_adjustment_of_a_small_table_by_hand() -> None:
    """z = 4, 2.2, 0.5: B is supported at 5% alone (p = 0.0278) but not after Holm (2 x 0.0278 = 0.0556)."""
    rows = [_row("A", 0.4), _row("B", 0.22), _row("C", 0.05), Evidence.untestable("D", "claim D", "test", "no data")]
    before = adjust(rows, "none")
    after = adjust(rows, "holm")
    assert [r.verdict for r in before] == [SUPPORTED, SUPPORTED, "inconclusive", CANNOT_TEST]
    assert [r.verdict for r in after] == [SUPPORTED, "inconclusive", "inconclusive", CANNOT_TEST]
    p_b = 2 * (1 - 0.5 * (1 + math.erf(2.2 / math.sqrt(2))))
    assert after[1].p_value == pytest.approx(p_b) and after[1].p_adjusted == pytest.approx(2 * p_b)
    # A is rejected at 0.05 / 3; B and C keep the level where the step-down stopped, 0.05 / 2: a 97.5% CI
    assert [r.level for r in after[:3]] == pytest.approx([1 - 0.05 / 3, 0.975, 0.975])
    z975 = 2.241402727604947
    assert (after[1].adj_ci_low, after[1].adj_ci_high) == pytest.approx(
        (math.exp(0.22 - z975 * 0.1), math.exp(0.22 + z975 * 0.1)))
    assert after[1].ci_low == pytest.approx(math.exp(0.22 - Z * 0.1))  # the unadjusted 95% CI stays
    assert "Holm-adjusted CI" in after[1].rule and after[3].p_adjusted is None


def test_wilson_row_inverts_its_score_test() -> None:
    """The share row's CI excludes the threshold exactly when its score-test p is below the level."""
    interval = WilsonInterval(40, 100)  # 40% vs 30%: z = 0.1 / sqrt(0.21 / 100) = 2.182
    p = interval.p_value(30.0)
    assert p == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(2.1822 / math.sqrt(2)))), abs=1e-4)
    assert interval.ci(p * 1.01)[0] > 30.0 > interval.ci(p * 0.99)[0]


def test_null_world_family_wise_error() -> None:
    """13 claims with no effect, 1,000 times: Holm keeps 'any false verdict' near 5%, unadjusted near 49%."""
    rng = np.random.default_rng(15)
    false_holm = false_none = 0
    for _ in range(1000):
        rows = [_row(str(k), float(rng.normal(0.0, 0.1))) for k in range(13)]
        wrong = {SUPPORTED, NOT_SUPPORTED}  # with se 0.1 no null CI fits inside the 1.05 margin
        false_holm += any(r.verdict in wrong for r in adjust(rows, "holm"))
        false_none += any(r.verdict in wrong for r in adjust(rows, "none"))
    assert false_holm / 1000 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 1000)
    assert 0.40 < false_none / 1000 < 0.58  # 1 - 0.95**13 = 0.487


@pytest.fixture(scope="module")
def null_world() -> object:
    """A simulated world where no CX driver moves the hazard and every survey score is shuffled across answers."""
    world = simulate(n_customers=4000, months=24, seed=3, effects=NULL_EFFECTS)
    rng = np.random.default_rng(3)
    surveys = world.surveys.copy()
    for instrument, rows in surveys.groupby("instrument").groups.items():
        surveys.loc[rows, "score"] = rng.permutation(surveys.loc[rows, "score"].to_numpy())
    world.surveys = surveys
    return world


def test_shuffled_scores_support_no_effect_claim(null_world: object) -> None:
    """With scores shuffled and null drivers, no claim of an effect is 'supported' after Holm."""
    table = evaluate_claims(null_world.to_cxdata(), max_snapshots=6, n_boot=100, max_survival_customers=2000)
    effect_claims = ["1a", "1b", "1a_cox", "1b_cox", "3a", "3b", "3c", "4a", "4b", "5", "6"]
    tested = [r for r in table.rows if r.id in effect_claims and r.verdict != CANNOT_TEST]
    assert len(tested) >= 8, table.summary()
    assert not [r.id for r in tested if r.verdict == SUPPORTED], table.summary()
    assert all(r.adjustment == "holm" and r.p_adjusted >= r.p_value for r in tested)
    assert "Holm" in table.rule_statement() and "causes" in table.rule_statement()


def test_driver_findings_are_holm_adjusted_and_say_goes_with() -> None:
    """A strong driver is found, in association words, with its adjusted p; null drivers are not."""
    rng = np.random.default_rng(5)
    n = 6000
    frame = pd.DataFrame({"customer_id": np.arange(n), "active": True, "tenure_months": rng.integers(1, 60, n),
                          "reactive_90d": rng.poisson(1.0, n), "proactive_90d": rng.poisson(0.5, n),
                          "inconsistency_90d": rng.poisson(0.2, n)})
    frame["unresolved_90d"] = rng.binomial(frame["reactive_90d"], 0.3)
    frame["churned"] = rng.random(n) < 1 / (1 + np.exp(2.5 - 0.6 * frame["unresolved_90d"]))
    fit = fit_churn_logit(frame)
    tests = fit.driver_tests()
    adjusted, levels = holm(tests["p_value"].to_numpy())
    assert tests["p_adjusted"].to_numpy() == pytest.approx(adjusted)
    assert tests["level"].to_numpy() == pytest.approx(1 - levels)
    assert list(tests.index[tests["significant"]]) == ["unresolved_90d"]
    assert fit.findings()[0].startswith("Unresolved contacts, 90 days (per contact) goes with more churn: odds ratio")
    assert "Holm-adjusted over 4 drivers, p < 0.001" in fit.findings()[0]
    assert not any(word in " ".join(fit.findings()) for word in ("drives", "causes", "kills"))


# --- known truth that can fail the right way ------------------------------------------------------------------


def test_null_true_effect_has_no_direction() -> None:
    estimates = pd.DataFrame({"estimate": [1.2, 0.9], "ci_low": [1.0, 0.8], "ci_high": [1.4, 1.01]},
                             index=["a", "b"])
    table = recovery_table(estimates, {"a": 1.0, "b": 0.8}, "odds_ratio")
    assert table["same_direction"].tolist() == [None, True]
    assert direction_words(None) == NOT_APPLICABLE == "n/a — true effect is zero"
    assert direction_counts(table) == (1, 1)
    # a truth that is itself an estimate (a window odds ratio) is not applicable when the generating effect is 0
    named = recovery_table(estimates, {"a": 1.03, "b": 0.8}, "odds_ratio", zero_effect=["a"])
    assert named["same_direction"].tolist() == [None, True]


def test_ces_effect_zero_world_reads_not_applicable() -> None:
    """simulate(effects={'ces': 0}): both known-truth tables give 'not applicable' for the CES sign."""
    world = simulate(n_customers=5000, months=24, seed=7, effects={"ces": 0.0})
    assert zero_effect_terms(world.truth) == ["ces_mean_90d"]
    data = world.to_cxdata()
    snap = snapshot(data, window_months=3, horizon_months=3)
    fit = fit_churn_logit(snap[snap["active"]])
    check = known_truth_check(data, world.truth, fit, snap.attrs["as_of"], 3, 3, truth_customers=5000)
    for table in (check.window, check.hazard):
        ces_row = table.set_index("name").loc["ces_mean_90d"]
        assert ces_row["same_direction"] is None
        assert KnownTruthCheck.shown(table).set_index("name").loc["ces_mean_90d", "same_direction"] == NOT_APPLICABLE
    hazard = check.hazard.set_index("name")
    assert hazard.loc["ces_mean_90d", "true"] == 1.0
    # the strong generating effects are recovered on the hazard scale
    assert hazard.loc["unresolved_90d", "same_direction"] and hazard.loc["contract[two_year]", "same_direction"]
    sentences = " ".join(check.sentences())
    assert "1 with a true effect of zero: direction n/a" in sentences
    assert "not a bias of the window model" in sentences and "can reveal a bias" in sentences


# --- intervals that do not collapse ---------------------------------------------------------------------------


def test_nps_all_promoters_has_an_open_interval() -> None:
    """nps([10] * 5) was [100, 100]; adjusted Wald: pro 5.75 / 8, det 0.75 / 8 -> [17.5, 100]."""
    result = nps([10] * 5)
    pro, det = 5.75 / 8, 0.75 / 8
    low = 100 * (pro - det - Z * math.sqrt((pro + det - (pro - det) ** 2) / 8))
    assert (result.score, result.ci_low, result.ci_high) == pytest.approx((100.0, low, 100.0))
    assert result.ci_low == pytest.approx(17.5, abs=0.1)
    worst = nps([0] * 5)
    assert (worst.score, worst.ci_low, worst.ci_high) == pytest.approx((-100.0, -100.0, -low))


@pytest.mark.parametrize("scores", [[10], [0], [8], [10] * 5, [0] * 5])
def test_nps_interval_is_open_and_holds_the_estimate(scores: list[int]) -> None:
    result = nps(scores)
    assert result.ci_high - result.ci_low > 30.0
    assert -100.0 <= result.ci_low <= result.score <= result.ci_high <= 100.0


@pytest.mark.parametrize(("metric", "top", "bottom"), [(csat, 5, 1), (ces, 7, 1)])
@pytest.mark.parametrize("n", [1, 5])
def test_csat_and_ces_intervals_at_the_edges(metric: object, top: int, bottom: int, n: int) -> None:
    for value in (top, bottom):
        result = metric([value] * n)
        for name, estimate in result.to_estimates().items():
            assert estimate.ci_high - estimate.ci_low > 0.5, (name, value, n)
            assert estimate.ci_low <= estimate.value <= estimate.ci_high
    # five 5s on CSAT: mean 5, interval from one pseudo-answer at 1 and one at 5: (30 / 7) - Z sd / sqrt(7)
    if metric is csat and n == 5:
        augmented = np.array([5] * 6 + [1], dtype=float)
        sd = math.sqrt(np.mean((augmented - augmented.mean()) ** 2))
        assert csat([5] * 5).mean.ci_low == pytest.approx(augmented.mean() - Z * sd / math.sqrt(7))


def test_compare_nps_of_two_all_promoter_groups_is_open() -> None:
    result = compare_nps([10] * 5, [10] * 5)
    assert result.difference == 0.0 and result.ci_low < -50 and result.ci_high > 50 and result.p_value == 1.0


def test_intervals_cover_about_95_percent() -> None:
    """400 simulated samples per setting: coverage of the true NPS and the true mean CSAT near 95%."""
    rng = np.random.default_rng(2024)
    for probs, n in (((0.2, 0.2, 0.6), 40), ((0.03, 0.07, 0.9), 20)):
        true = 100 * (probs[2] - probs[0])
        hits = 0
        for _ in range(400):
            groups = rng.choice([3, 7, 10], n, p=probs)
            result = nps(groups)
            hits += result.ci_low <= true <= result.ci_high
        assert 0.92 <= hits / 400 <= 0.985, (probs, n, hits / 400)
    for probs, n in (((0.05, 0.05, 0.1, 0.3, 0.5), 30), ((0.1, 0.2, 0.4, 0.2, 0.1), 30)):
        true = float(np.dot(probs, [1, 2, 3, 4, 5]))
        hits = sum(
            low <= true <= high
            for _, low, high in (bounded_mean_interval(rng.choice([1, 2, 3, 4, 5], n, p=probs).astype(float), 1, 5)
                                 for _ in range(400))
        )
        assert 0.92 <= hits / 400 <= 0.985, (probs, n, hits / 400)
