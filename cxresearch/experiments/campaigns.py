"""The campaigns of a dataset's treatments table as one analysis frame each: arm, outcomes, value in money and
pre-assignment covariates per customer.

Outcomes are the table's `outcome_*` columns when it has them (e.g. Hillstrom's visit, conversion, spend);
otherwise churn within a horizon after assignment and the lifetime after assignment, from the customers table.
Covariates are the table's `covariate_*` columns (traits recorded at assignment) when it has them; otherwise the
customer's segments, monthly margin and tenure at assignment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.data.schema import CONTROL_ARM, COVARIATE_PREFIX, OUTCOME_PREFIX, CXData
from cxresearch.errors import NotEstimableError
from cxresearch.stats.units import DAYS_PER_MONTH

#: What the experiments analyses need when a dataset has no campaign assignments (`Results.skip` vocabulary).
NEEDS = "treatment assignments"
#: The word in a campaign's name that marks it as proactive outreach (the simulator's `proactive_follow_up`);
#: a campaign named otherwise is declared proactive by name (`proactive_campaign`).
PROACTIVE_MARK = "proactive"
#: What a test of proactive outreach needs when the treatments table has no such campaign (`Results.skip`).
PROACTIVE_NEEDS = "a randomised proactive campaign"
#: Outcome names of a campaign analysed on churn.
CHURN, RETAINED, VALUE = "churned", "retained", "margin_in_horizon"


@dataclass
class CampaignData:
    """One campaign, one row per assigned customer in `frame`: customer_id, arm, the outcome columns, the
    covariates and, for churn campaigns, `duration` (months from assignment) and `event` (1 = left).

    `kind` is "outcomes" (the table's `outcome_*` columns, named without the prefix) or "churn" (churned within
    `horizon` months and the margin earned in it, on customers followed that long). `uplift_outcome` is the
    outcome the uplift models predict and `value` the column of money per customer (None when there is none);
    `risk` says which end of the predicted untreated outcome the risk policy targets ("high" for a response,
    "low" for retention). `notes` say what was chosen or left out.
    """

    campaign: str
    kind: str
    frame: pd.DataFrame
    outcomes: list[str]
    covariates: list[str]
    uplift_outcome: str | None
    value: str | None
    risk: str
    horizon: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def arms(self) -> list[str]:
        """The treated arms (every arm but control), sorted."""
        return sorted(set(self.frame["arm"]) - {CONTROL_ARM})

    def summary(self) -> pd.DataFrame:
        """Customers per arm."""
        return self.frame["arm"].value_counts().sort_index().rename_axis("arm").reset_index(name="customers")


def campaigns(data: CXData) -> list[str]:
    """The campaigns in `data.treatments`, sorted; NotEstimableError when there are none."""
    if data.treatments is None or not len(data.treatments):
        raise NotEstimableError("the data has no treatments table (no campaign assignments)", NEEDS)
    return sorted(data.treatments["campaign"].unique())


def find_campaign(data: CXData, declared: str, marks: tuple[str, ...], kind: str, needs: str) -> str:
    """The campaign of a `kind` ("proactive", "a retention offer"): `declared` when given, else the first (sorted)
    whose name contains one of `marks`; NotEstimableError (with the reason and `needs`) when there is none."""
    names = campaigns(data)
    if declared:
        if declared not in names:
            raise NotEstimableError(f"the campaign named as {kind}, {declared!r}, is not in the treatments table "
                                    f"(campaigns: {', '.join(names)})", needs)
        return declared
    marked = [n for n in names if any(m in n.lower() for m in marks)]
    if not marked:
        words = " or ".join(f"'{m}'" for m in marks)
        raise NotEstimableError(f"no campaign is marked as {kind} (none of {', '.join(names)} has {words} in its "
                                "name; name one to use it)", needs)
    return marked[0]


def proactive_campaign(data: CXData, declared: str = "") -> str:
    """The randomised campaign of proactive outreach: `declared`, else one with `PROACTIVE_MARK` in its name."""
    return find_campaign(data, declared, (PROACTIVE_MARK,), "proactive", PROACTIVE_NEEDS)


def _binary(values: pd.Series) -> bool:
    """Whether every value is 0 or 1."""
    return bool(values.isin([0, 1]).all())


def _customer_covariates(data: CXData, rows: pd.DataFrame) -> pd.DataFrame:
    """Segments, monthly margin and tenure at assignment (months) of the assigned customers."""
    customers = data.customers.set_index("customer_id").loc[rows["customer_id"]]
    out = customers[[*data.segments, "monthly_margin"]].reset_index(drop=True)
    tenure = (rows["assigned_at"].to_numpy() - customers["signup_date"].to_numpy()) / np.timedelta64(1, "D")
    out["tenure_months"] = tenure / DAYS_PER_MONTH
    return out


def _lifetime(data: CXData, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Months from assignment to leaving or to the end of observation, and 1 when the customer left."""
    end = data.customers.set_index("customer_id")["end_date"].loc[rows["customer_id"]].to_numpy()
    left = ~pd.isna(end) & (end <= np.datetime64(data.observed_until))
    stop = np.where(left, end, np.datetime64(data.observed_until))
    months = (stop - rows["assigned_at"].to_numpy()) / np.timedelta64(1, "D") / DAYS_PER_MONTH
    return np.maximum(months, 0.0), left.astype(int)


def _pick(names: list[str], frame: pd.DataFrame, wanted: str, binary: bool) -> str | None:
    """The outcome named `wanted`, else the first binary (or first non-binary) one, else None."""
    if wanted:
        if wanted not in names:
            raise ValueError(f"outcome {wanted!r} not among this campaign's outcomes {names}")
        return wanted
    return next((n for n in names if _binary(frame[n]) == binary), None)


def _churn_outcomes(data: CXData, rows: pd.DataFrame, horizon_months: float) -> tuple[pd.DataFrame, float, str]:
    """Churn within the horizon and margin earned in it, on customers followed that long; (frame, horizon,
    note on the horizon and on who was left out)."""
    duration, event = _lifetime(data, rows)
    by_arm = pd.Series(duration).groupby(rows["arm"].to_numpy()).max()
    # down to a tenth of a month: every arm is followed that long, and the reports say "10.0 months", not 10.0534
    horizon = float(min(horizon_months, np.floor(by_arm.min() * 10) / 10))
    if horizon <= 0:
        raise NotEstimableError(f"campaign {rows['campaign'].iloc[0]}: no follow-up after assignment", "more history")
    churned = (event == 1) & (duration <= horizon)
    known = churned | (duration >= horizon)
    margin = data.customers.set_index("customer_id")["monthly_margin"].loc[rows["customer_id"]].to_numpy()
    frame = pd.DataFrame({
        "duration": duration, "event": event, CHURN: churned.astype(float), RETAINED: (~churned).astype(float),
        VALUE: margin * np.minimum(duration, horizon), "followed": known,
    })
    note = (f"Churn within {horizon:g} months of assignment (the shorter of horizon_months and the longest "
            f"follow-up in every arm); {int((~known).sum()):,} customers assigned less than that before the end "
            "of observation are left out of the churn, uplift and policy analyses (they stay in the RMST).")
    return frame, horizon, note


def campaign_data(
    data: CXData, campaign: str, *, horizon_months: float = 12.0, uplift_outcome: str = "", value_outcome: str = ""
) -> CampaignData:
    """One campaign's customers with their arm, outcomes, money value and pre-assignment covariates.

    Parameters
    ----------
    data : CXData
        Validated data with a treatments table.
    campaign : str
        The campaign to analyse.
    horizon_months : float
        For campaigns without `outcome_*` columns: the window after assignment in which churn counts (shortened
        to the follow-up every arm has).
    uplift_outcome, value_outcome : str
        For `outcome_*` campaigns: the outcome the uplift models predict (default the first 0/1 one) and the
        outcome in money the policies are valued by (default the first other one); names without the prefix.

    Returns
    -------
    CampaignData
        The analysis frame; NotEstimableError when the campaign has one arm or no arm named control.
    """
    rows = data.treatments[data.treatments["campaign"] == campaign].reset_index(drop=True)
    arms = sorted(rows["arm"].unique())
    if len(arms) < 2 or CONTROL_ARM not in arms:
        why = "one arm only" if len(arms) < 2 else f"no arm named {CONTROL_ARM}"
        raise NotEstimableError(f"campaign {campaign} has {why} ({', '.join(arms)}): nothing to compare with",
                                "treatment assignments")
    covariate_cols = [c for c in rows.columns if c.startswith(COVARIATE_PREFIX)]
    if covariate_cols:
        covariates = rows[covariate_cols].rename(columns=lambda c: c.removeprefix(COVARIATE_PREFIX))
    else:
        covariates = _customer_covariates(data, rows)
    base = pd.concat([rows[["customer_id", "arm"]], covariates], axis=1)
    outcome_cols = [c for c in rows.columns if c.startswith(OUTCOME_PREFIX)]
    if outcome_cols:
        outcomes = rows[outcome_cols].rename(columns=lambda c: c.removeprefix(OUTCOME_PREFIX))
        frame = pd.concat([base, outcomes], axis=1)
        names = list(outcomes.columns)
        missing = frame[names].isna().any(axis=1)
        notes = [f"{int(missing.sum()):,} customers without every outcome are left out."] if missing.any() else []
        value = _pick(names, frame, value_outcome, binary=False)
        return CampaignData(campaign, "outcomes", frame[~missing].reset_index(drop=True), names,
                            list(covariates.columns), _pick(names, frame, uplift_outcome, binary=True), value,
                            "high", notes=notes)
    churn, horizon, note = _churn_outcomes(data, rows, horizon_months)
    frame = pd.concat([base, churn], axis=1)
    return CampaignData(campaign, "churn", frame, [CHURN], list(covariates.columns), RETAINED, VALUE, "low",
                        horizon, [note])


def known_campaign_data(data: CXData, campaign: str, horizon_months: float = 12.0) -> CampaignData:
    """`campaign_data` on the assignments of customers in `data` only (a sample of customers keeps its part of the
    experiment, still randomised)."""
    t = data.treatments
    known = dataclasses.replace(data, treatments=t[t["customer_id"].isin(data.customers["customer_id"])])
    return campaign_data(known, campaign, horizon_months=horizon_months)


def churn_by_arm(cd: CampaignData) -> tuple[np.ndarray, np.ndarray]:
    """Churn within the horizon (0/1) of a churn campaign's customers followed that long: its treated arms together,
    and its randomised control."""
    frame = cd.frame[cd.frame["followed"]]
    treated = (frame["arm"] != CONTROL_ARM).to_numpy()
    churned = frame[CHURN].to_numpy(float)
    return churned[treated], churned[~treated]
