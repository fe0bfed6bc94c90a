"""The grouped binomial logit against statsmodels' GLM on the same rows, and its weights as repeated rows."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from cxresearch.stats.logit import fit_logit


def test_grouped_logit_matches_statsmodels_on_bernoulli_rows():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.ones(2_000), rng.integers(0, 3, 2_000), rng.normal(size=2_000)])
    y = (rng.random(2_000) < 1 / (1 + np.exp(-(-0.5 + 0.4 * x[:, 1] - 0.8 * x[:, 2])))).astype(float)
    reference = sm.GLM(y, x, family=sm.families.Binomial()).fit().params
    assert fit_logit(x, y, np.ones(len(y))) == pytest.approx(reference, abs=1e-7)
    # weight 2 on a row is the row twice; weight 0 leaves it out
    w = rng.integers(0, 3, 2_000).astype(float)
    repeated = np.repeat(np.arange(2_000), w.astype(int))
    reference = sm.GLM(y[repeated], x[repeated], family=sm.families.Binomial()).fit().params
    assert fit_logit(x, w * y, w) == pytest.approx(reference, abs=1e-7)
