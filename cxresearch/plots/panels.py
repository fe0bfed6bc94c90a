"""Side-by-side panels for figures of several views of one result, drawn in a new figure or in a given Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt

from cxresearch.plots import new_figure


def panels(ax: plt.Axes | None, n: int, width: float = 8.0, height: float = 4.5) -> list[plt.Axes]:
    """`n` Axes side by side: those of a new `width` x `height` inch figure when `ax` is None, else `ax`'s area
    split into `n` (the caller's figure keeps its other Axes).

    Parameters
    ----------
    ax
        Axes whose area to split, or None for a new figure.
    n
        Number of panels.
    width, height
        Size (inches) of a new figure.

    Returns
    -------
    list of matplotlib.axes.Axes
        The panels, left to right.
    """
    if ax is None:
        return new_figure(width, height, ncols=n)[1]
    if n == 1:
        return [ax]
    grid = ax.get_subplotspec().subgridspec(1, n)
    figure = ax.figure
    ax.remove()
    return [figure.add_subplot(cell) for cell in grid]
