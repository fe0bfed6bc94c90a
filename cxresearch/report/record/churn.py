"""What notebook 02 (churn drivers) writes to its results file; the executive summary reads these keys."""

from __future__ import annotations

import pandas as pd

from cxresearch.churn.drivers import PartialDependenceBands, RelativeWeights
from cxresearch.churn.empc import EMPCResult
from cxresearch.churn.evaluation import LOGIT, ChurnEvaluation
from cxresearch.churn.logit import ChurnLogitResult
from cxresearch.report.results import Results
from cxresearch.truth.churn import KnownTruthCheck


def record_churn_drivers(
    results: Results,
    model: ChurnLogitResult | None,
    *,
    weights: RelativeWeights | None = None,
    cv: pd.DataFrame | None = None,
    truth_check: KnownTruthCheck | None = None,
    truth_customers: int | None = None,
    evaluation: ChurnEvaluation | None = None,
    importance: pd.DataFrame | None = None,
    profits: dict[str, EMPCResult] | None = None,
    clv: float | None = None,
    pd_bands: PartialDependenceBands | None = None,
) -> None:
    """Notebook 02: odds ratios (and the drivers' Holm-adjusted tests), contact effects, leakage screen, relative
    weights, CV, both known-truth checks (window odds ratios and generating hazard), holdout, EMPC, partial
    dependence with bootstrap bands."""
    if model is not None:
        estimates = model.to_estimates("churn")
        results.add("churn_rate_window", estimates.pop("churn_event_rate"))
        results.estimates.update(estimates)
        results.add_table("odds_ratios", model.summary())
        results.add_table("driver_tests", model.driver_tests())
        results.extra["driver_multiplicity"] = ("driver findings: Holm's step-down adjustment over the CX drivers' "
                                                "odds ratios, family-wise level 5%")
        results.add_table("contact_effects", model.contact_effects())
        results.add_table("leakage_screen", model.leakage)
        results.warnings.extend(model.notes)
        results.findings.extend(model.findings())
    if weights is not None:
        results.add_table("relative_weights", weights.summary())
    if cv is not None:
        results.add_table("cross_validation", cv.set_axis(["_".join(c) for c in cv.columns], axis=1))
    if truth_check is not None:
        results.add_table("recovery", truth_check.window)
        results.add_table("recovery_with_truth_error", truth_check.window_error)
        results.add_table("recovery_hazard", truth_check.hazard)
        results.extra["recovery_truth"] = (f"true window odds ratios: the same model fitted to a simulated world of "
                                           f"{truth_customers} customers with the demo world's settings and effects "
                                           "(checks sampling error, not the model's bias); recovery_hazard: the "
                                           "person-month cloglog model against the generating hazard ratios")
        results.extra["recovery_checks"] = truth_check.sentences()
    else:
        results.skip("known-truth check", "the data source has no truth.json (only the demo world does)",
                     needs="simulated data")
    if evaluation is None:
        return
    results.estimates.update(evaluation.to_estimates())
    results.add_table("holdout_metrics", evaluation.summary())
    results.add_table("gains_logit", evaluation.gains(LOGIT))
    if importance is not None:
        results.add_table("permutation_importance", importance)
    if pd_bands is not None:
        results.add_table("partial_dependence", pd_bands.summary())
        # estimates only, no findings: a curve of the boosting model describes the model, and its bands leave out
        # the model's smoothing bias (see `churn.drivers.partial_dependence_bands`)
        results.estimates.update(pd_bands.to_estimates())
    for name, result in (profits or {}).items():
        key = "logit" if name == LOGIT else "boosting"
        results.estimates.update(result.to_estimates(f"empc_{key}"))
    if profits:
        best = max(profits, key=lambda name: profits[name].empc)
        results.findings.append(
            f"A retention campaign targeting the riskiest {100 * profits[best].fraction:.1f}% of customers by the "
            f"{best} is worth an expected {profits[best].empc:.2f} per customer (EMPC) if a saved customer is worth "
            f"{clv:g}, the offer cost and acceptance being assumed too (notebook parameters, not measured)."
        )
    # named by its design: flat data and short histories are cross-validated, never "out of time"
    results.findings.append(evaluation.comparison_finding())
