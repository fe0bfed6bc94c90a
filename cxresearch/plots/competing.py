"""Competing-risks figures: why customers leave, as stacked cumulative incidence curves, overall and per segment.

Every figure that draws churn reasons takes its colours from `cause_colour`, so a reason has the same colour in
every panel and chart.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from cxresearch.plots import PALETTE
from cxresearch.plots.panels import panels
from cxresearch.survival.competing import CIFResult
from cxresearch.survival.groups import ALL

#: One colour per canonical churn reason (`data.schema.END_REASONS`, Okabe-Ito) and unknown: service, the reason the CX levers act on, in blue.
CAUSE_COLOURS: dict[str, str] = {
    "service": PALETTE[0], "price": PALETTE[1], "competitor": PALETTE[4], "moved": PALETTE[2],
    "involuntary": PALETTE[3], "other": "#999999", "unknown": "#DDDDDD",
}
#: Colours of reasons outside `END_REASONS` (a company's own labels), in order of their names.
EXTRA_COLOURS: tuple[str, ...] = (PALETTE[5], PALETTE[6], PALETTE[7], "#8C564B")

TITLE = "Of 100 new customers, how many have left by month t, and why"
YLABEL = "Customers of 100 who have left"


def cause_colour(cause: str, causes: Sequence[str] = ()) -> str:
    """The colour of a churn reason: fixed for the canonical ones, else by its place among the non-canonical
    names in `causes` (sorted)."""
    if cause in CAUSE_COLOURS:
        return CAUSE_COLOURS[cause]
    extra = sorted(c for c in {*causes, cause} if c not in CAUSE_COLOURS)
    return EXTRA_COLOURS[extra.index(cause) % len(EXTRA_COLOURS)]


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
    wide = _stacked(cif_result, group, max_months)
    limit = float(wide.index.max())
    # largest reason at the bottom, where its height is easiest to read
    order = list(wide.iloc[-1].sort_values(ascending=False).index)
    tops = _draw(ax, wide, order, cif_result.causes)
    for name, top, height in zip(order, tops, 100 * wide[order].iloc[-1].to_numpy(), strict=True):
        ax.annotate(f"{name} {height:.0f}", (limit, top - height / 2), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_ylim(0, max(5.0, 1.1 * tops[-1]))
    ax.set_ylabel(YLABEL)
    ax.set_title(f"{TITLE}{'' if group == ALL else f' ({group})'}")
    ax.figure.tight_layout()
    return ax


def plot_cumulative_incidence_by_segment(
    cif_result: CIFResult, ax: plt.Axes | None = None, max_months: float | None = None, segment: str = ""
) -> plt.Axes:
    """The stacked chart per segment level: one panel per level, shared axes, the same reason order and colours
    in every panel (those of `plot_cumulative_incidence_stacked`).

    Parameters
    ----------
    cif_result : cumulative incidences by group (`competing.cumulative_incidence` with a group column).
    ax : axes whose area is split into the panels; a new figure when None.
    max_months : right end of the shared time axis; default the longest group's last event time.
    segment : the segment's name, for the title.

    Returns
    -------
    plt.Axes
        The first panel; the figure has one legend of the reasons, and each panel's title its level and how
        many of 100 had left by the axis's end.
    """
    groups = [g for g in cif_result.groups if g != ALL]
    axes = panels(ax, len(groups), width=min(16.0, 1.0 + 3.6 * len(groups)), height=4.2)
    limit = max_months if max_months is not None else float(cif_result.curves["time"].max())
    wides = {g: _stacked(cif_result, g, limit) for g in groups}
    finals = pd.concat([w.iloc[-1] for w in wides.values()], axis=1).fillna(0.0).sum(axis=1)
    order = list(finals.sort_values(ascending=False).index)
    top = 0.0
    for panel, (group, wide) in zip(axes, wides.items(), strict=True):
        tops = _draw(panel, wide.reindex(columns=order, fill_value=0.0), order, cif_result.causes)
        top = max(top, float(tops[-1]))
        panel.set_xlim(0, limit)
        panel.set_title(f"{group}\n{tops[-1]:.0f} of 100 left by month {wide.index.max():g}", fontsize=11)
    for panel in axes:
        panel.set_ylim(0, max(5.0, 1.1 * top))
        if panel is not axes[0]:
            panel.tick_params(labelleft=False)
    axes[0].set_ylabel(YLABEL)
    handles, labels = axes[0].get_legend_handles_labels()
    figure = axes[0].figure
    figure.legend(handles[::-1], labels[::-1], loc="center right", fontsize=9, title="Reason")
    figure.suptitle(f"{TITLE}, by {segment}" if segment else TITLE, fontweight="bold")
    figure.tight_layout(rect=(0, 0, 0.86, 1))
    return axes[0]


def _stacked(cif_result: CIFResult, group: str, max_months: float | None) -> pd.DataFrame:
    """One group's cumulative incidences (fractions), one column per reason, from 0 to `max_months` (the last
    values carried to it)."""
    curves = cif_result.curves[cif_result.curves["group"] == group]
    wide = curves.pivot(index="time", columns="cause", values="cif").ffill().fillna(0.0)
    limit = max_months if max_months is not None else float(wide.index.max())
    wide = wide[wide.index <= limit]
    if len(wide):
        wide.loc[limit] = wide.iloc[-1]
    wide.loc[0.0] = 0.0
    return wide.sort_index()


def _draw(ax: plt.Axes, wide: pd.DataFrame, order: list[str], causes: Sequence[str]) -> np.ndarray:
    """Stacked step bands of `wide` (per 100) in `order`, bottom first, in each reason's colour; the cumulative
    tops at the right end."""
    values = 100 * wide[order].to_numpy().T
    # no edges: the theme's white outlines of a band's zero-height stretches would cut white notches into the others
    ax.stackplot(wide.index, values, labels=order, colors=[cause_colour(c, causes) for c in order], step="post",
                 alpha=0.85, linewidth=0)
    ax.set_xlim(0, float(wide.index.max()))
    ax.set_xlabel("Months since signup")
    return np.cumsum(values[:, -1])
