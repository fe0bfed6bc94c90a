"""The Newton step: a column without information raises, or in a refit keeps its coefficient."""

from __future__ import annotations

import numpy as np
import pytest

from cxresearch.stats.logit import fit_logit
from cxresearch.stats.newton import newton_step


def test_a_column_without_information_gets_no_step_only_when_asked():
    info = np.array([[4.0, 0.0], [0.0, 0.0]])  # the second column: no row carries it
    score = np.array([2.0, 0.0])
    with pytest.raises(np.linalg.LinAlgError):
        newton_step(info, score)
    assert newton_step(info, score, keep_unidentified=True) == pytest.approx([0.5, 0.0])


def test_a_logit_refit_without_a_level_keeps_its_start_and_fits_the_rest():
    # groups: intercept-only rows and one row of a level; the refit drops that row (0 trials)
    x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    successes, trials = np.array([3.0, 1.0, 2.0]), np.array([10.0, 10.0, 4.0])
    start = fit_logit(x, successes, trials)
    refit = fit_logit(x[:2], successes[:2], trials[:2], start=start, keep_unidentified=True)
    assert refit[1] == pytest.approx(start[1])
    assert refit[0] == pytest.approx(np.log(4.0 / 16.0))  # 4 of 20: the pooled log odds of the rows left
    with pytest.raises(np.linalg.LinAlgError):
        fit_logit(x[:2], successes[:2], trials[:2], start=start)
