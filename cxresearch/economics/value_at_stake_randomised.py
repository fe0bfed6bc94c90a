"""The follow-up lever beside a randomised proactive campaign: one quantity, measured by the campaign's arms and
predicted by the value-at-stake model.

The quantity: churners avoided within the campaign's horizon (`HORIZON_MONTHS`, shorter when follow-up is) per
1,000 customers given one proactive follow-up at assignment. The campaign measures it as the churn of its holdout
minus that of its treated arm (a risk difference, Wald 95% CI). The model predicts it for the campaign's customers
in the model: each one's chance of leaving within the horizon from her person-months after assignment, as
observed and with one more proactive contact in the month of assignment (so one more in the trailing window of
the three months after it), with the follow-up lever's hazards (on service-related churn, the service-related
exits move and the others stay); its CI comes from the same bootstrap refits as the levers'. A churner's months
are not followed past her churn month, as in the window valuation. The two are compared by their difference,
with a CI from their standard errors as if independent (the campaign's customers are a part of the model's).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from cxresearch.data.schema import CXData
from cxresearch.economics.value_at_stake_value import scenario_rate
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.campaigns import churn_by_arm, known_campaign_data, proactive_campaign
from cxresearch.stats.intervals import Z95

#: Months after assignment in which churn counts (shortened to the follow-up every arm has).
HORIZON_MONTHS = 12
#: The comparison is per this many customers followed up.
PER_CUSTOMERS = 1_000
#: The driver one follow-up raises (a count over the trailing 3-month window).
FOLLOW_UP_DRIVER = "proactive_90d"
#: Fewest churners in each arm within the horizon for a measured effect worth setting beside the model.
MIN_CHURNERS = 10
#: The analysis's name in skips.
ANALYSIS = "value at stake: follow-up lever beside a randomised campaign"


@dataclass
class CampaignRows:
    """The model's person-months of a randomised proactive campaign's customers in the horizon after assignment,
    and the campaign's measured effect."""

    campaign: str
    horizon: float  # months after assignment in which churn counts
    position: np.ndarray  # per row: its position among the model's person-months
    row_customer: np.ndarray  # per row: index of its customer among the campaign customers in the model
    follow_up: np.ndarray  # per row: the extra follow-ups in its trailing window (1 in the 3 months after)
    customer: np.ndarray  # per campaign customer in the model: her index among the model's customers
    churn_treated: float  # share 0-1 of the treated arm that left within the horizon
    churn_control: float
    n_treated: int
    n_control: int

    @property
    def measured(self) -> tuple[float, float]:
        """Churners avoided per `PER_CUSTOMERS` followed up (control minus treated churn) and its standard error."""
        p1, p0 = self.churn_treated, self.churn_control
        se = np.sqrt(p1 * (1 - p1) / self.n_treated + p0 * (1 - p0) / self.n_control)
        return PER_CUSTOMERS * (p0 - p1), PER_CUSTOMERS * float(se)


def campaign_rows(data: CXData, frame: pd.DataFrame, customer: np.ndarray, origin: pd.Timestamp,
                  declared: str = "") -> CampaignRows:
    """The campaign rows of the model's person-months `frame` (`customer_id`, `month` = calendar month from
    `origin`, sorted by customer then month; `customer` = each row's index among the model's customers) and the
    campaign's measured effect; `declared` names the campaign ("" finds it by name).

    Raises NotEstimableError (with the missing input) without a randomised proactive campaign recording churn, with
    too few churners in an arm, or without its customers among the model's.
    """
    name = proactive_campaign(data, declared)
    cd = known_campaign_data(data, name, HORIZON_MONTHS)
    if cd.kind != "churn":
        raise NotEstimableError(f"campaign {name} records its own outcomes ({', '.join(cd.outcomes)}), not whether "
                                "customers left", "customer lifetimes")
    y1, y0 = churn_by_arm(cd)
    if min(y1.sum(), y0.sum()) < MIN_CHURNERS:
        raise NotEstimableError(f"campaign {name}: {int(y1.sum())} churners treated and {int(y0.sum())} in the "
                                f"holdout within {cd.horizon:g} months (needs {MIN_CHURNERS} in each)", "churners")
    assigned = data.treatments.loc[data.treatments["campaign"] == name].drop_duplicates("customer_id")
    at = assigned.set_index("customer_id")["assigned_at"]
    first = frame["customer_id"].map((at.dt.year - origin.year) * 12 + at.dt.month - origin.month).to_numpy(float)
    after = frame["month"].to_numpy(float) - first
    position = np.flatnonzero((after >= 0) & (after < np.ceil(cd.horizon)))
    if not len(position):
        raise NotEstimableError(f"no customer of campaign {name} is among the model's customers", "customers")
    codes, _ = pd.factorize(frame["customer_id"].iloc[position], sort=False)
    step = after[position]  # 0 = the month of assignment
    first_row = np.unique(codes, return_index=True)[1]
    return CampaignRows(campaign=name, horizon=cd.horizon, position=position, row_customer=codes,
                        follow_up=((step >= 1) & (step <= 3)).astype(float), customer=customer[position][first_row],
                        churn_treated=float(y1.mean()), churn_control=float(y0.mean()), n_treated=len(y1),
                        n_control=len(y0))


def predicted_effect(rows: CampaignRows, eta: np.ndarray, logit: np.ndarray | None, log_hr: float,
                     log_odds: float, weights: np.ndarray | None) -> float:
    """Churners avoided per `PER_CUSTOMERS` campaign customers given one follow-up, by the model: per row its
    all-cause cloglog predictor `eta` and service-share logit `logit` (None on all churn), the follow-up driver's
    coefficients in both, and per campaign customer her bootstrap weight (None: each once)."""
    share = None if logit is None else expit(logit)
    counter_share = None if logit is None else expit(logit + log_odds * rows.follow_up)
    n = len(rows.customer)
    factual = np.bincount(rows.row_customer, weights=np.exp(eta), minlength=n)
    counter = np.bincount(rows.row_customer, minlength=n,
                          weights=scenario_rate(eta, share, eta + log_hr * rows.follow_up, counter_share))
    return PER_CUSTOMERS * float(np.average(np.exp(-counter) - np.exp(-factual), weights=weights))


@dataclass
class RandomisedCheck:
    """The follow-up lever's prediction beside the randomised campaign's measurement (churners avoided per
    `PER_CUSTOMERS` customers followed up, within `horizon` months of assignment)."""

    campaign: str
    horizon: float
    measured: float
    measured_se: float
    predicted: float
    predicted_draws: np.ndarray
    n_treated: int
    n_control: int
    n_model: int  # campaign customers in the model (its sample)

    @property
    def measured_ci(self) -> tuple[float, float]:
        """Wald 95% CI of the measured effect."""
        return self.measured - Z95 * self.measured_se, self.measured + Z95 * self.measured_se

    @property
    def predicted_ci(self) -> tuple[float, float]:
        """Percentile 95% CI of the predicted effect over the bootstrap refits (NaN without any)."""
        if not len(self.predicted_draws):
            return float("nan"), float("nan")
        low, high = np.percentile(self.predicted_draws, [2.5, 97.5])
        return float(low), float(high)

    @property
    def difference(self) -> tuple[float, float, float]:
        """Predicted minus measured, with a 95% CI from both standard errors as if independent."""
        spread = np.std(self.predicted_draws, ddof=1) if len(self.predicted_draws) > 1 else np.nan
        diff = self.predicted - self.measured
        half = Z95 * float(np.hypot(spread, self.measured_se))
        return diff, diff - half, diff + half

    @property
    def agree(self) -> bool | None:
        """Whether the difference's CI contains 0 (None without bootstrap draws)."""
        _, low, high = self.difference
        return None if not np.isfinite(low) else bool(low <= 0.0 <= high)

    def summary(self) -> pd.DataFrame:
        """One row per source: the quantity, estimate and 95% CI, customers."""
        quantity = (f"churners avoided within {self.horizon:g} months per {PER_CUSTOMERS:,} customers given one "
                    "proactive follow-up")
        return pd.DataFrame([
            {"source": f"randomised campaign {self.campaign} (treated vs holdout)", "quantity": quantity,
             "estimate": self.measured, "ci_low": self.measured_ci[0], "ci_high": self.measured_ci[1],
             "customers": self.n_treated + self.n_control},
            {"source": "value-at-stake model (follow-up lever)", "quantity": quantity, "estimate": self.predicted,
             "ci_low": self.predicted_ci[0], "ci_high": self.predicted_ci[1], "customers": self.n_model},
        ])

    def sentence(self) -> str:
        """The two figures and whether they agree, in one sentence."""
        (m_low, m_high), (p_low, p_high) = self.measured_ci, self.predicted_ci
        diff, low, high = self.difference
        verdict = ("the model's figure is not established: no bootstrap refits" if self.agree is None else
                   f"they {'agree' if self.agree else 'disagree'}: the difference, {diff:+.1f} (95% CI {low:+.1f} "
                   f"to {high:+.1f}), {'includes' if self.agree else 'excludes'} 0")
        return (f"Randomised check of the follow-up lever: per {PER_CUSTOMERS:,} customers given one proactive "
                f"follow-up, campaign {self.campaign} avoided {self.measured:.1f} churners within {self.horizon:g} "
                f"months (95% CI {m_low:.1f} to {m_high:.1f}) and the model predicts {self.predicted:.1f} ({p_low:.1f} "
                f"to {p_high:.1f}); {verdict}.")

    def _repr_html_(self) -> str:
        return (self.summary().round(1).to_html(escape=True, index=False, na_rep="–")
                + f"<p><i>{html.escape(self.sentence())}</i></p>")
