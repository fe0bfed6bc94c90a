"""Landmark cohorts: customers active at a date, grouped by what was known before it and followed from it (months
after it), and their lifetimes compared by each experience grouping the data supports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.data.schema import CXData
from cxresearch.features.observation import observed_from_or_first_signup
from cxresearch.stats.design import EFFORT_BANDS, NPS_GROUPS, band_scores
from cxresearch.stats.units import DAYS_PER_MONTH
from cxresearch.survival.columns import LifetimeColumns
from cxresearch.survival.compare import GroupComparison, compare_groups
from cxresearch.survival.display import sentences_html, summary_html

#: Experience groupings at the landmark: grouping -> (table it needs, instrument or column in that table).
EXPERIENCE_GROUPINGS: dict[str, tuple[str, str]] = {
    "nps_group": ("surveys", "nps"),
    "effort_band": ("surveys", "ces"),
    "unresolved_contact": ("contacts", "resolved_first_contact"),
}

#: Reference group of each grouping for the restricted-mean differences (the worst experience).
REFERENCE_GROUPS: dict[str, str] = {"nps_group": "detractor", "effort_band": "high effort (5-7)",
                                    "unresolved_contact": "yes"}

#: Follow-up a landmark must leave before the end of observation (months).
MIN_LANDMARK_FOLLOW_MONTHS = 3
#: The lifetime of a landmark cohort: months lived after the landmark, observed from it.
RESIDUAL = LifetimeColumns(duration="residual_months")


@dataclass
class LandmarkCohort:
    """Customers active at `landmark`, with what was known about them before it, followed from it (months)."""

    customers: pd.DataFrame  # `features.snapshot` columns + residual_months, nps_group, effort_band, unresolved_contact
    landmark: pd.Timestamp
    window_months: int  # months before the landmark the contact counts cover

    def summary(self) -> pd.DataFrame:
        """Per grouping and group: customers, churns after the landmark and mean follow-up after it (months)."""
        parts = {g: self.customers.groupby(g).agg(customers=("residual_months", "size"),
                                                  churned=("event", "sum"),
                                                  mean_follow_months=("residual_months", "mean"))
                 for g in EXPERIENCE_GROUPINGS}
        return pd.concat(parts, names=["grouping", "group"])

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Customers active at the landmark {self.landmark.date()}", digits=1)


def landmark_cohort(data: CXData, landmark: str | pd.Timestamp, window_months: int = 3) -> LandmarkCohort:
    """Customers active at `landmark`, grouped by what was known before it, followed from it (months).

    Groups by a score someone only has once they answered a survey, compared over their whole lifetime, suffer
    immortal-time bias: a customer must survive long enough to answer, so the answerers look longer-lived whatever
    they answered (Anderson, Cain & Gelber 1983, J Clin Oncol 1:710-719; Dafni 2011, Circ Cardiovasc Qual
    Outcomes 4:363-371). The landmark method fixes each group at a date and counts survival only from it.

    Parameters
    ----------
    data : the canonical data set, with event dates.
    landmark : the date groups are fixed at; not before observation began.
    window_months : months before the landmark the unresolved-contact flag looks back.

    Returns
    -------
    LandmarkCohort
        `customers`: the `features.snapshot` at `landmark` for active customers, plus `residual_months`
        (follow-up after the landmark), `nps_group` (latest NPS before it), `effort_band` (latest CES before it),
        `unresolved_contact` ("yes" if an unresolved reactive contact in the `window_months` before it); missing
        scores are `NO_SCORE`.

    Raises
    ------
    ValueError
        When `landmark` is before observation began (`metadata["observed_from"]`).

    References
    ----------
    Anderson, Cain & Gelber (1983), J Clin Oncol 1:710-719; Dafni (2011), Circ Cardiovasc Qual Outcomes 4:363-371.
    """
    from cxresearch.features.snapshot import snapshot

    landmark = pd.Timestamp(landmark)
    observed_from = data.metadata.get("observed_from")
    if observed_from and landmark < pd.Timestamp(observed_from):
        raise ValueError(f"landmark {landmark.date()} is before observation began ({observed_from}): customers who "
                         "left before then are not in the data")
    snap = snapshot(data, as_of=landmark, window_months=window_months, horizon_months=0)
    out = snap[snap["active"]].copy()
    out["residual_months"] = (out["duration_months"] - out["tenure_months"]).clip(lower=0.0)
    out["nps_group"] = band_scores(out["nps_last"], NPS_GROUPS)
    out["effort_band"] = band_scores(out["ces_last"], EFFORT_BANDS)
    out["unresolved_contact"] = np.where(out["unresolved_90d"] > 0, "yes", "no")
    return LandmarkCohort(out.reset_index(drop=True), landmark, window_months)


@dataclass
class LandmarkChoice:
    """Where the landmark falls in the observed window, and why there, or why there can be none."""

    landmark: pd.Timestamp | None
    note: str = ""  # what was chosen instead of the parameter, in words ("" when the parameter fitted)
    why_not: str = ""  # why no landmark fits the data (landmark is None)


def choose_landmark(data: CXData, months_before_end: int, window_months: int) -> LandmarkChoice:
    """The landmark `months_before_end` months before the end of observation, moved later when the data began
    too recently to hold `window_months` of history before it; none when fewer than `MIN_LANDMARK_FOLLOW_MONTHS`
    of follow-up would remain."""
    if not data.has_timestamps:
        return LandmarkChoice(None, why_not="grouping customers by what was known at a date needs event dates; "
                                            "this data has one row per customer")
    start, end = observed_from_or_first_signup(data), data.observed_until
    earliest = (start + pd.DateOffset(months=window_months)).normalize()
    latest = (end - pd.DateOffset(months=MIN_LANDMARK_FOLLOW_MONTHS)).normalize()
    span = (end - start).days / DAYS_PER_MONTH
    if earliest > latest:
        return LandmarkChoice(None, why_not=(
            f"the data covers {span:.0f} months; a landmark needs {window_months} months of history before it and "
            f"{MIN_LANDMARK_FOLLOW_MONTHS} months of follow-up after it"))
    wanted = (end - pd.DateOffset(months=months_before_end)).normalize()
    if wanted >= earliest:
        return LandmarkChoice(min(wanted, latest))
    follow = (end - earliest).days / DAYS_PER_MONTH
    return LandmarkChoice(earliest, note=(
        f"The landmark is {earliest.date()}, {follow:.0f} months before the end of observation rather than "
        f"{months_before_end}: the data begins {start.date()} and the groups need {window_months} months of history "
        "before the landmark."))


@dataclass
class LandmarkComparisons:
    """Customers active at `landmark`, compared by each experience grouping the data supports (months after it)."""

    landmark: pd.Timestamp | None
    cohort: LandmarkCohort | None  # None when no grouping is possible
    follow_months: float  # follow-up after the landmark used for the restricted means (months)
    comparisons: dict[str, GroupComparison]
    missing: dict[str, str] = field(default_factory=dict)  # grouping -> the input it would need, in words
    note: str = ""  # how the landmark was chosen when the parameter did not fit the data
    why_not: str = ""  # why there is no landmark at all

    def summary(self) -> pd.DataFrame:
        """Per grouping and group: n, churn events, median and restricted mean months after the landmark."""
        if not self.comparisons:
            return pd.DataFrame()
        return pd.concat({g: c.summary() for g, c in self.comparisons.items()}, names=["grouping", "group"])

    def _repr_html_(self) -> str:
        head = [f"No landmark comparison: {self.why_not}."] if self.why_not else []
        missing = [f"No comparison by {g.replace('_', ' ')}: {why}." for g, why in self.missing.items()]
        return (sentences_html([*head, *([self.note] if self.note else [])])
                + "".join(c._repr_html_() for c in self.comparisons.values()) + sentences_html(missing))


#: What each experience grouping needs, in the words the reports use.
EXPERIENCE_NEEDS: dict[str, str] = {"nps_group": "NPS scores", "effort_band": "effort scores (CES)",
                                    "unresolved_contact": "contact resolution"}


def experience_available(data: CXData) -> dict[str, bool]:
    """Which `EXPERIENCE_GROUPINGS` the data can form (surveys of that instrument, or the contacts column)."""
    out = {}
    for grouping, (table, need) in EXPERIENCE_GROUPINGS.items():
        if table == "surveys":
            out[grouping] = bool(not data.surveys.empty and (data.surveys["instrument"] == need).any())
        else:
            out[grouping] = bool(not data.contacts.empty and need in data.contacts
                                 and data.contacts[need].notna().any())
    return out


def compare_at_landmark(data: CXData, months_before_end: int, window_months: int = 3) -> LandmarkComparisons:
    """KM, log-rank and restricted mean lifetime by NPS group, effort band and unresolved contact, at a landmark
    `months_before_end` months before the end of observation (all customers active then; exact, no sampling).

    Groups are formed from what was known before the landmark and followed from it, which avoids immortal-time
    bias (see `landmark_cohort`); the restricted mean runs to the landmark's follow-up, at most
    `months_before_end` months. Groupings the data cannot form, or with a single group, are listed in `missing`.

    Parameters
    ----------
    data : the canonical data set.
    months_before_end : where the landmark falls, in months before the end of observation.
    window_months : months of history before the landmark the contact groups look back.

    Returns
    -------
    LandmarkComparisons
        One comparison per grouping the data supports, what is missing, or why there is no landmark.
    """
    choice = choose_landmark(data, months_before_end, window_months)
    if choice.landmark is None:
        return LandmarkComparisons(None, None, 0.0, {}, missing={}, why_not=choice.why_not)
    landmark = choice.landmark
    available = experience_available(data)
    cohort = landmark_cohort(data, landmark, window_months) if any(available.values()) else None
    follow = (0.0 if cohort is None
              else min(months_before_end, round(float(cohort.customers["residual_months"].max()), 1)))
    comparisons, missing = {}, {}
    for grouping, ok in available.items():
        if not ok:
            missing[grouping] = f"the data has no {EXPERIENCE_NEEDS[grouping]}"
            continue
        # The worst experience is the reference only when it is large enough to be kept.
        sizes = cohort.customers[grouping].value_counts()
        reference = REFERENCE_GROUPS[grouping] if sizes.get(REFERENCE_GROUPS[grouping], 0) >= 30 else None
        try:
            comparisons[grouping] = compare_groups(cohort.customers, grouping, follow, RESIDUAL,
                                                   at_risk_step=3, reference=reference)
        except ValueError as err:
            missing[grouping] = f"too few customers in its groups at the landmark ({err})"
    return LandmarkComparisons(landmark, cohort, follow, comparisons, missing, note=choice.note)
