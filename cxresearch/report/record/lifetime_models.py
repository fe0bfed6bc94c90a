"""What notebook 07 (how good are the lifetime models?) writes to its results file; the executive summary reads
these keys."""

from __future__ import annotations

import math

from cxresearch.errors import NotEstimableError
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate
from cxresearch.survival.model_comparison import KM, LifetimeModelComparison

#: The analysis name of every skip this notebook records.
ANALYSIS = "lifetime model comparison"


def record_lifetime_models(
    results: Results,
    comparison: LifetimeModelComparison | None,
    *,
    failure: NotEstimableError | None = None,
) -> None:
    """Write the out-of-time comparison of the lifetime models, or why it could not run.

    Parameters
    ----------
    results
        Notebook 07's results file.
    comparison
        The comparison (`survival.model_comparison.compare_lifetime_models`); None when it could not run.
    failure
        Why it could not run (its reason and the missing input are recorded as a skip).

    Notes
    -----
    Writes the `lifetime_model_comparison` table (model, metric, horizon, estimate, ci_low, ci_high), per model
    `lifetime_uno_c[<model>]` (Uno's concordance) and `lifetime_ibs_skill[<model>]` (% of the Kaplan-Meier
    reference's integrated Brier score removed), `lifetime_calibration_within_ci` (% of risk deciles whose
    predicted survival lies inside the observed 95% CI), a skip per model left out, and the verdict as a finding.
    """
    if comparison is None:
        reason, needs = (failure.reason, failure.needs) if failure is not None else ("not run", "")
        results.skip(ANALYSIS, reason, needs=needs)
        return
    results.add_table("lifetime_model_comparison", comparison.summary())
    scores = comparison.scores
    n = scores.n
    for model in comparison.summary()["model"].unique():
        if model == KM:
            continue
        uno = scores.value(model, "uno_c")
        results.add(f"lifetime_uno_c[{model}]", Estimate(
            float(uno["estimate"]), "", f"Uno's concordance of the {model} model on held-out customers",
            float(uno["ci_low"]), float(uno["ci_high"]), n=n,
            note="0.5 = ranks customers no better than chance, 1 = perfectly"))
        skill = scores.value(model, "ibs_skill")
        results.add(f"lifetime_ibs_skill[{model}]", Estimate(
            100 * float(skill["estimate"]), "%", f"Prediction error removed by the {model} model vs Kaplan-Meier",
            100 * float(skill["ci_low"]), 100 * float(skill["ci_high"]), n=n,
            note="1 - integrated Brier score / the Kaplan-Meier reference's; 0 = no better than the average curve"))
    calibration = comparison.calibration
    share = calibration.share_within_ci
    if not math.isnan(share):
        results.add("lifetime_calibration_within_ci", Estimate(
            100 * share, "%", f"Risk deciles whose predicted survival at {calibration.horizon:g} months lies "
            f"inside the observed 95% CI ({calibration.model})", n=n))
    for model, why in comparison.skipped.items():
        results.skip(f"{ANALYSIS}: {model}", why, needs="event dates")
    results.findings.append(comparison.best_for)
