"""Figures: one function per figure, each taking result objects and returning a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

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
    """A house-style figure with `ncols` axes side by side (sizes in inches)."""
    set_theme()
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes[0])
