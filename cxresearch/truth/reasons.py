"""Known truth of churn reasons: the simulator's log relative hazards recovered by a multinomial logit.

The simulator splits each churner's hazard between reasons with multinomial-logit shares (`cxresearch.data.
simulate_reasons`), so log(h_k / h_moved) = gamma_k0 + gamma_k . x holds exactly and, among churners, the reason
follows a multinomial logit on the drivers x with `moved` as the reference: fitting one (McFadden 1974) on the
churners' drivers estimates the gammas of `truth["churn_reasons"]["log_relative_hazard"]`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cxresearch.truth.recovery import recovery_table


def reason_logit_recovery(churners: pd.DataFrame, truth: dict, z: float = 1.959964) -> pd.DataFrame:
    """Per reason and driver (`<reason>:<driver>`, intercepts as `<reason>:intercept`): the multinomial logit's
    estimate of the log relative hazard against `moved`, its 95% CI and the simulator's true value.

    Parameters
    ----------
    churners
        One row per churner: `end_reason` and a column per driver of `truth["churn_reasons"]["drivers"]`, in
        the drivers' units (as in the simulator's latent `churners` table).
    truth
        The world's `truth.json`; its `churn_reasons` give the reference, the drivers and the true values.
    z
        Normal quantile of the intervals (1.96: 95%).

    Returns
    -------
    pandas.DataFrame
        A `truth.recovery.recovery_table` on the log hazard scale: name, scale, true, estimate, ci_low, ci_high,
        truth_in_ci, same_direction (None where the true value is 0).

    References
    ----------
    McFadden, D. (1974). Conditional logit analysis of qualitative choice behavior. In P. Zarembka (ed.),
    Frontiers in Econometrics, 105-142. Academic Press.
    """
    reasons = truth["churn_reasons"]
    reference, drivers = reasons["reference"], list(reasons["drivers"])
    causes = list(reasons["log_relative_hazard"])
    codes = pd.Categorical(churners["end_reason"], categories=[reference, *causes]).codes
    if (codes < 0).any():
        raise ValueError(f"end_reason outside {[reference, *causes]}")
    design = sm.add_constant(churners[drivers].astype(float), has_constant="add")
    fit = sm.MNLogit(codes, design).fit(method="newton", maxiter=100, disp=0)
    params = np.asarray(fit.params)  # drivers (with const) x causes, in the order of `causes`
    se = np.asarray(fit.bse)
    terms = ["intercept", *drivers]
    names = [f"{cause}:{term}" for cause in causes for term in terms]
    value = params.T.ravel()
    half = z * se.T.ravel()
    estimates = pd.DataFrame({"estimate": value, "ci_low": value - half, "ci_high": value + half}, index=names)
    true = {f"{cause}:{term}": float(gammas[term])
            for cause, gammas in reasons["log_relative_hazard"].items() for term in terms}
    return recovery_table(estimates, true, "log_hazard")
