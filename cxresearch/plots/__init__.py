"""Figures: one module per question, each `plot_*(result, ..., ax=None)` drawing a result object on `ax` (a new
figure when None) and returning the Axes. The house theme is set once, by `set_theme`, at a notebook's start."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from numpy.typing import ArrayLike

#: Colour-blind-safe palette (Okabe-Ito), used for every categorical series.
PALETTE: list[str] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def set_theme() -> None:
    """Apply the house style to every later figure: seaborn whitegrid, readable fonts, Okabe-Ito palette."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE, font_scale=1.05)
    plt.rcParams.update(
        {
            "figure.figsize": (8.0, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.titleweight": "bold",
            "axes.titlesize": 13,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )


def new_figure(width: float = 8.0, height: float = 4.5, ncols: int = 1) -> tuple[plt.Figure, list[plt.Axes]]:
    """A figure with `ncols` axes side by side (sizes in inches), in whatever theme is set.

    Parameters
    ----------
    width, height
        Figure size (inches).
    ncols
        Axes side by side.

    Returns
    -------
    tuple
        The figure and its list of Axes.
    """
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes[0])


def axes_or_new(ax: plt.Axes | None, width: float = 8.0, height: float = 4.5) -> plt.Axes:
    """`ax`, or the one Axes of a new `width` x `height` inch figure when `ax` is None.

    Parameters
    ----------
    ax
        Axes to draw on, or None.
    width, height
        Size (inches) of a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes to draw on.
    """
    return new_figure(width, height)[1][0] if ax is None else ax


def error_bars(value: ArrayLike, low: ArrayLike, high: ArrayLike) -> np.ndarray:
    """Distances (2 x n, never negative) from each value down to `low` and up to `high`, in the value's unit.

    A Wilson interval around 0% or 100% can sit a rounding error inside the estimate, and an undefined interval
    (NaN) draws no bar; matplotlib refuses negative distances, so they are clipped to 0.

    Parameters
    ----------
    value
        The estimates.
    low, high
        The interval ends, in the estimates' unit.

    Returns
    -------
    ndarray
        Shape (2, n): distances down and up, never negative.
    """
    value, low, high = (np.asarray(a, dtype=float).reshape(-1) for a in (value, low, high))
    return np.nan_to_num(np.vstack([value - low, high - value]), nan=0.0).clip(min=0.0)
