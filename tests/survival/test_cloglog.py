"""The person-month GLM: a fit that a plain Fisher-scoring step would throw to hazards of 1 still reaches the
maximum likelihood (checked against a general-purpose optimiser)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from cxresearch.survival.cloglog import fit_cloglog


def test_strong_drivers_of_a_rare_exit_reach_the_maximum_likelihood():
    # a rare exit (hazard ~0.4% a month) with a strong count driver and a few high counts: from the overall hazard,
    # the first plain Fisher step lands at a coefficient of 4.9 (log hazards up to 61), where the weights vanish and
    # the next step is NaN
    rng = np.random.default_rng(0)
    n = 200_000
    count = (rng.poisson(0.3, n) + (rng.random(n) < 0.002) * rng.integers(5, 13, n)).astype(float)
    x = np.column_stack([np.ones_like(count), count])
    y = rng.random(n) < -np.expm1(-np.exp(-5.6 + 0.6 * count))
    beta, cov, loglik = fit_cloglog(x, y.astype(float))

    def negative_loglik(b: np.ndarray) -> float:
        mu = np.clip(-np.expm1(-np.exp(x @ b)), 1e-300, 1.0)
        return -float(np.sum(np.where(y, np.log(mu), np.log1p(-np.minimum(mu, 1 - 1e-16)))))

    reference = optimize.minimize(negative_loglik, np.array([-5.0, 0.0]), method="Nelder-Mead",
                                  options={"xatol": 1e-8, "fatol": 1e-8, "maxiter": 4_000})
    assert beta == pytest.approx(reference.x, abs=1e-4)
    assert loglik == pytest.approx(-reference.fun, abs=1e-6)
    assert np.all(np.isfinite(cov)) and abs(beta[1] - 0.6) < 3 * np.sqrt(cov[1, 1])


def test_a_step_into_the_far_tail_is_taken_back_not_turned_into_nan():
    # from this start the rows with a large covariate sit at log hazards near 9, where exp(-exp(eta)) underflows
    # to 0: the weights must vanish there (not become 0 * inf = NaN, whose halving never ended), and the fit must
    # still reach the optimum it reaches from a sensible start
    rng = np.random.default_rng(1)
    count = rng.integers(0, 41, 5_000).astype(float)
    x = np.column_stack([np.ones_like(count), count])
    y = (rng.random(len(count)) < -np.expm1(-np.exp(-4.0 + 0.05 * count))).astype(float)
    beta, _, loglik = fit_cloglog(x, y)
    with np.errstate(over="ignore"):
        far, _, far_loglik = fit_cloglog(x, y, start=np.array([-3.0, 0.3]))
    assert far == pytest.approx(beta, abs=1e-6) and far_loglik == pytest.approx(loglik)
    assert beta[1] == pytest.approx(0.05, abs=0.02)
