"""The save rate of a retention offer measured on its randomised holdout: of the customers who would have left
within the horizon without the offer, the share it kept, 1 - p_treated / p_control (one minus the risk ratio),
with the 95% interval from Katz's log risk-ratio interval. This is what the retention economics assume when no
campaign has measured it (`economics.retention.RetentionCampaign.save_rate`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxresearch.data.schema import CXData
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.campaigns import churn_by_arm, find_campaign, known_campaign_data
from cxresearch.experiments.effects import log_ratio
from cxresearch.stats.intervals import Z95

#: Words in a campaign's name that mark it as a retention offer (the simulator's `retention_offer`).
RETENTION_MARKS = ("retention", "offer", "save")
#: What a measured save rate needs when the treatments table has no retention campaign (`Results.skip`).
RETENTION_NEEDS = "a randomised retention campaign"
#: Fewest churners in each arm within the horizon for a save rate worth stating.
MIN_CHURNERS = 10


@dataclass(frozen=True)
class MeasuredSaveRate:
    """A retention campaign's save rate (share of would-be leavers kept, 0-1) with its 95% CI, from the churn of its
    treated customers and of its randomised holdout within `horizon` months of assignment."""

    campaign: str
    save_rate: float
    ci_low: float
    ci_high: float
    churn_treated: float
    churn_control: float
    treated: int
    control: int
    horizon: float

    @property
    def usable(self) -> bool:
        """Whether the campaign measurably kept customers (the whole interval above zero)."""
        return self.ci_low > 0

    def sentence(self) -> str:
        """The measurement in words."""
        return (f"Campaign {self.campaign} (randomised holdout): {self.churn_treated:.1%} of {self.treated:,} "
                f"treated and {self.churn_control:.1%} of {self.control:,} held out left within "
                f"{self.horizon:g} months, so the offer kept {self.save_rate:.1%} (95% CI {self.ci_low:.1%} to "
                f"{self.ci_high:.1%}) of those who would have left.")


def retention_campaign(data: CXData, declared: str = "") -> str:
    """The randomised retention campaign: `declared` when given, else the first (sorted) whose name has one of
    `RETENTION_MARKS`; NotEstimableError (with the reason) when there is none."""
    return find_campaign(data, declared, RETENTION_MARKS, "a retention offer", RETENTION_NEEDS)


def measured_save_rate(data: CXData, declared: str = "", horizon_months: float = 12.0) -> MeasuredSaveRate:
    """The save rate of the retention campaign (`retention_campaign`) within `horizon_months` of assignment.

    Parameters
    ----------
    data : validated data with a treatments table.
    declared : the retention campaign's name ("" finds it by name).
    horizon_months : months after assignment in which churn counts (shortened to the follow-up every arm has).

    Returns
    -------
    MeasuredSaveRate
        1 - RR (treated vs control churn) with Katz's 95% interval, on the customers followed that long.

    Raises
    ------
    NotEstimableError
        No treatments or no retention campaign, a campaign with its own outcomes, or fewer than `MIN_CHURNERS`
        churners in an arm.
    """
    name = retention_campaign(data, declared)
    cd = known_campaign_data(data, name, horizon_months)
    if cd.kind != "churn":
        raise NotEstimableError(f"campaign {name} records its own outcomes, not whether customers left",
                                "customer lifetimes")
    y1, y0 = churn_by_arm(cd)
    if min(y1.sum(), y0.sum()) < MIN_CHURNERS:
        raise NotEstimableError(f"campaign {name}: {int(y1.sum())} churners treated and {int(y0.sum())} held out "
                                f"within {cd.horizon:g} months (needs {MIN_CHURNERS} in each)", "churners")
    log, se = log_ratio(y1, y0, binary=True)
    ratio_low, ratio_high = np.exp(log - Z95 * se), np.exp(log + Z95 * se)
    return MeasuredSaveRate(name, float(1 - np.exp(log)), float(1 - ratio_high), float(1 - ratio_low),
                            float(y1.mean()), float(y0.mean()), int(len(y1)), int(len(y0)), float(cd.horizon))
