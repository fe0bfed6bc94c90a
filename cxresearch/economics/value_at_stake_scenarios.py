"""The CX levers of the value-at-stake analysis: what each scenario changes in the person-month drivers.

A scenario maps the factual trailing-window drivers of a set of person-months (`survival.person_months` columns)
to counterfactual ones; the hazard model then values the difference. Counts are per trailing window; effort is the
window's mean CES minus 4 (CES 1-7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.survival.person_months import CES_DRIVER

#: The scenario a lever's full removal or realistic improvement stands for: driver column -> new values.
Changes = dict[str, np.ndarray]


@dataclass(frozen=True)
class Improvements:
    """The realistic-improvement scenario of each lever (shares 0-1, effort in CES points)."""

    reduction_share: float = 0.10  # unresolved and inconsistency contacts: this share fewer
    effort_points: float = 1.0  # effort of the highest-effort person-months lowered by this many CES points
    effort_top_share: float = 0.10  # ... for this top share of the person-months with effort above 4
    follow_up_share: float = 0.10  # proactive follow-ups added per unresolved contact

    def __post_init__(self) -> None:
        for name in ("reduction_share", "effort_top_share", "follow_up_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], not {getattr(self, name)}")
        if self.effort_points < 0:
            raise ValueError(f"effort_points must be at least 0, not {self.effort_points}")


@dataclass(frozen=True)
class Lever:
    """One CX lever: its driver column, its full and realistic scenarios in words and as driver changes."""

    key: str
    label: str
    column: str
    scenario: str
    needs: str  # the input it rests on, in the vocabulary of `Results.skip`
    full: Callable[[pd.DataFrame], Changes]
    realistic: Callable[[pd.DataFrame, Improvements], Changes]
    realistic_text: Callable[[Improvements], str]
    also_needs: tuple[str, ...] = ()  # other driver columns the scenario reads (with what they rest on)


def _effort_top(frame: pd.DataFrame, imp: Improvements) -> Changes:
    """Effort lowered by `effort_points` (not below 4) for the top `effort_top_share` of high-effort months."""
    ces = frame[CES_DRIVER].to_numpy(float)
    high = ces > 0
    if not high.any():
        return {CES_DRIVER: ces}
    cut = np.quantile(ces[high], 1.0 - imp.effort_top_share)
    top = high & (ces >= cut)
    return {CES_DRIVER: np.where(top, np.maximum(ces - imp.effort_points, np.minimum(ces, 0.0)), ces)}


def _scaled(column: str) -> Callable[[pd.DataFrame, Improvements], Changes]:
    """Realistic scenario of a count lever: the count scaled by 1 - `reduction_share`."""
    return lambda frame, imp: {column: frame[column].to_numpy(float) * (1.0 - imp.reduction_share)}


def _zero(column: str) -> Callable[[pd.DataFrame], Changes]:
    """Full scenario of a count lever: the count set to zero."""
    return lambda frame: {column: np.zeros(len(frame))}


def _follow_up(share: float) -> Callable[[pd.DataFrame], Changes]:
    """Proactive contacts raised by `share` follow-ups per unresolved contact in the window."""
    return lambda frame: {"proactive_90d": frame["proactive_90d"].to_numpy(float)
                          + share * frame["unresolved_90d"].to_numpy(float)}


#: The levers in report order. NPS is not among them (see `NPS_SKIP`).
LEVERS: tuple[Lever, ...] = (
    Lever("unresolved", "Unresolved reactive contacts", "unresolved_90d",
          "every reactive contact resolved at first contact", "contact resolution",
          _zero("unresolved_90d"), _scaled("unresolved_90d"),
          lambda imp: f"{imp.reduction_share:.0%} fewer unresolved contacts"),
    Lever("effort", "High effort (CES 5-7)", CES_DRIVER,
          "no customer above effort 4 (window mean CES capped at 4)", "effort scores (CES)",
          lambda frame: {CES_DRIVER: np.minimum(frame[CES_DRIVER].to_numpy(float), 0.0)}, _effort_top,
          lambda imp: f"effort down {imp.effort_points:g} point for the top {imp.effort_top_share:.0%} of "
                      "high-effort months (not below 4)"),
    Lever("inconsistency", "Channel inconsistency", "inconsistency_90d", "no channel-inconsistency events",
          "channel-inconsistency records", _zero("inconsistency_90d"), _scaled("inconsistency_90d"),
          lambda imp: f"{imp.reduction_share:.0%} fewer inconsistency events"),
    Lever("follow_up", "Missing proactive follow-up", "proactive_90d",
          "one proactive follow-up after each unresolved contact", "proactive contacts",
          _follow_up(1.0), lambda frame, imp: _follow_up(imp.follow_up_share)(frame),
          lambda imp: f"a follow-up after {imp.follow_up_share:.0%} of unresolved contacts",
          also_needs=("unresolved_90d",)),
)

#: The levers removed together in the joint scenario ("all service failures removed"). The follow-up lever is
#: left out: with every contact resolved there is nothing to follow up.
JOINT_LEVERS: tuple[str, ...] = ("unresolved", "effort", "inconsistency")

#: Why the detractor-NPS lever is not valued, and what it would need.
NPS_SKIP = ("Detractor NPS", ("the person-month hazard model of the service drivers does not carry NPS: the latest "
            "NPS answer reflects the same mood the contacts move (it lies on their path to churn) and is answered "
            "less by unhappy customers, so adding it would bias the other levers; a detractor lever needs a model "
            "of its own"))

#: What each driver column rests on (the input named when a lever's column does not vary in the data).
COLUMN_NEEDS: dict[str, str] = {lever.column: lever.needs for lever in LEVERS}

