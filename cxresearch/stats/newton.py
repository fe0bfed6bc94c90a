"""The Newton (Fisher-scoring) step of the binomial GLMs, with an option for refits on resampled data."""

from __future__ import annotations

import numpy as np


def newton_step(info: np.ndarray, score: np.ndarray, keep_unidentified: bool = False) -> np.ndarray:
    """The step solving `info @ step = score`. With `keep_unidentified`, a singular `info` (a column no row carries,
    e.g. a driver absent from a bootstrap draw) gets the minimum-norm step, which leaves such a column's coefficient
    at its start value; otherwise it raises `numpy.linalg.LinAlgError`."""
    try:
        return np.linalg.solve(info, score)
    except np.linalg.LinAlgError:
        if not keep_unidentified:
            raise
        return np.linalg.lstsq(info, score, rcond=None)[0]
