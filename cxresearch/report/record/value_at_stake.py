"""What notebook 08 (value at stake) writes to its results file; the executive summary reads these keys.

Estimates: `bad_service_cost_annual` (currency a year), `bad_service_churn_share_pct` (%),
`bad_service_churners_annual` (customers a year). Tables: `value_at_stake` (one row per scenario: lever, scenario,
kind, churners avoided, margin retained over the window and a year, each with its 95% CI, hazard ratio, E-values),
`value_at_stake_ranking` (what to fix first: the realistic scenarios, largest annual margin first),
`value_at_stake_randomised` (where the data holds a randomised proactive campaign: churners avoided within its
horizon per 1,000 customers given one follow-up, measured by the campaign and predicted by the follow-up lever's
model, each with its 95% CI) and `recovery` (known truth, demo world). Extra: `value_at_stake_method` (which churn
the levers act on, and what the figures are), `value_at_stake_basis` ("service": service-related churn with the
other exits competing, where the data records reasons; "all": every exit), `value_at_stake_ranking_text` (the
ranking sentence, saying where the order is not established), `value_at_stake_randomised_text` (the randomised
check in a sentence, saying whether the two agree).
"""

from __future__ import annotations

import pandas as pd

from cxresearch.economics.value_at_stake_randomised import ANALYSIS as RANDOMISED_ANALYSIS
from cxresearch.economics.value_at_stake_result import CAVEAT, ValueAtStakeResult
from cxresearch.errors import NotEstimableError
from cxresearch.report.results import Results
from cxresearch.report.service_cost import cost_finding_lead, ranking_caveat

#: The analysis's name in skips.
ANALYSIS = "value at stake of CX levers"


def record_value_at_stake(
    results: Results,
    result: ValueAtStakeResult | None,
    *,
    failure: NotEstimableError | None = None,
    recovery: pd.DataFrame | None = None,
) -> None:
    """Notebook 08: the per-lever table, the cost of bad service, the ranking and the known-truth rows.

    Parameters
    ----------
    results : the notebook's results file, extended in place.
    result : `economics.value_at_stake.value_at_stake` output, or None with `failure` saying why.
    failure : why the analysis could not run (recorded as a skip with its missing input).
    recovery : `truth.value_at_stake.value_at_stake_recovery` rows (None: the data has no truth).
    """
    if result is None:
        reason = failure.reason if failure is not None else "not run"
        results.skip(ANALYSIS, reason, needs=failure.needs if failure is not None else "")
        return
    for analysis, reason, needs in result.skipped:
        results.skip(analysis, reason, needs=needs)
    results.estimates.update(result.to_estimates())
    results.add_table("value_at_stake", result.summary())
    results.add_table("value_at_stake_ranking", result.ranking())
    results.approximate(result.ANALYSIS, result.sample)
    results.extra["value_at_stake_method"] = f"{result.basis_sentence()} {CAVEAT}"
    results.extra["value_at_stake_basis"] = result.basis
    results.extra["value_at_stake_ranking_text"] = result.ranking_sentence()
    results.extra["value_at_stake_window_months"] = result.window_months
    results.extra["value_at_stake_horizon_months"] = result.horizon_months
    cost = results.estimates["bad_service_cost_annual"]
    if cost.estimable:
        lead = cost_finding_lead(cost, results.estimates["bad_service_churn_share_pct"], result.horizon_months)
        results.findings.append(f"{lead} {result.basis_sentence()} {CAVEAT}")
    results.findings.append(" ".join(t for t in (result.ranking_sentence(), ranking_caveat(result.ranking())) if t))
    if result.randomised is not None:
        results.add_table("value_at_stake_randomised", result.randomised.summary())
        results.extra["value_at_stake_randomised_text"] = result.randomised.sentence()
        results.findings.append(result.randomised.sentence())
    elif result.randomised_skip is not None:
        results.skip(RANDOMISED_ANALYSIS, result.randomised_skip[0], needs=result.randomised_skip[1])
    results.warnings.extend(result.notes)
    if recovery is None:
        results.skip("value at stake: known-truth check", "the data source has no simulator truth (only the demo world "
                     "has one)", needs="simulated data")
    else:
        results.add_table("recovery", recovery)
