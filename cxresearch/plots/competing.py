"""Competing-risks figures: why customers leave, as stacked cumulative incidence curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from cxresearch.plots import PALETTE
from cxresearch.survival.competing import CIFResult
from cxresearch.survival.groups import ALL


def plot_cumulative_incidence_stacked(
    cif_result: CIFResult, ax: plt.Axes | None = None, group: str = ALL, max_months: float | None = None
) -> plt.Axes:
    """Of 100 new customers, how many have left by month t, and why: cumulative incidences stacked by reason.

    Parameters
    ----------
    cif_result : Aalen-Johansen cumulative incidences (`competing.cumulative_incidence`).
    ax : axes to draw on; a new figure when None.
    group : the group drawn (default the whole base).
    max_months : right end of the time axis; default the group's last event time.

    Returns
    -------
    plt.Axes
        The axes, each band labelled at its right end with the reason and customers per 100.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8.0, 4.8))
    curves = cif_result.curves[cif_result.curves["group"] == group]
    wide = curves.pivot(index="time", columns="cause", values="cif").ffill().fillna(0.0)
    limit = max_months if max_months is not None else float(wide.index.max())
    wide = wide[wide.index <= limit]
    wide.loc[0.0] = 0.0
    wide = wide.sort_index()
    # largest reason at the bottom, where its height is easiest to read
    order = list(wide.iloc[-1].sort_values(ascending=False).index)
    values = 100 * wide[order].to_numpy().T
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(order))]
    ax.stackplot(wide.index, values, labels=order, colors=colours, step="post", alpha=0.85)
    tops = np.cumsum(values[:, -1])
    for name, top, height in zip(order, tops, values[:, -1], strict=True):
        ax.annotate(f"{name} {height:.0f}", (limit, top - height / 2), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_xlim(0, limit)
    ax.set_ylim(0, max(5.0, 1.1 * tops[-1]))
    ax.set_xlabel("Months since signup")
    ax.set_ylabel("Customers of 100 who have left")
    ax.set_title(f"Of 100 new customers, how many have left by month t, and why{'' if group == ALL else f' ({group})'}")
    return ax
