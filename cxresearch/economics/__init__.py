"""Customer economics: what a customer is worth and what retaining one is worth.

One module per model (as in pymc-marketing's `clv/models`): `clv` (CLV from survival curves, residual CLV of
current customers), `retention` (retention vs acquisition, the "7x" claim), `sbg` (contractual cohorts, Fader &
Hardie 2007), `bgnbd` and `gamma_gamma` (non-contractual purchasing and spend, Fader, Hardie & Lee 2005), `btyd_clv`
(CLV from both),
`campaign` (retention campaign targeting and ROI), `preventable` (churn no retention offer prevents),
`sensitivity` (Monte Carlo and tornado); `clv_tail`, `tail_models` and `survival_curve` hold the survival curve
behind the CLV and its tail beyond the observed horizon.
"""

from cxresearch.economics.bgnbd import (
    BGNBDResult,
    HoldoutByFrequency,
    TrackingResult,
    fit_bgnbd,
    holdout_by_frequency,
    track_repeat_purchases,
)
from cxresearch.economics.btyd_clv import BTYDCLVResult, btyd_clv
from cxresearch.economics.campaign import CampaignComparison, CampaignResult, campaign_roi
from cxresearch.economics.clv import (
    CLVResult,
    ResidualCLVResult,
    clv_from_survival,
    geometric_clv,
    residual_clv,
    why_no_clv,
)
from cxresearch.economics.gamma_gamma import GammaGammaResult, fit_gamma_gamma
from cxresearch.economics.preventable import PreventableChurn, preventable_churn
from cxresearch.economics.retention import (
    RetentionCampaign,
    RetentionEconomics,
    retention_vs_acquisition,
)
from cxresearch.economics.sbg import (
    CohortSplit,
    SBGResult,
    cohort_alive,
    fit_sbg,
    projection_check,
    split_cohorts,
)
from cxresearch.economics.sensitivity import (
    MonteCarloResult,
    Uncertain,
    monte_carlo,
    retention_verdict,
    retention_vs_acquisition_model,
    retention_vs_acquisition_monte_carlo,
)
from cxresearch.economics.valuation import Valuation

__all__ = [
    "BGNBDResult",
    "BTYDCLVResult",
    "CLVResult",
    "CampaignComparison",
    "CampaignResult",
    "CohortSplit",
    "GammaGammaResult",
    "HoldoutByFrequency",
    "MonteCarloResult",
    "PreventableChurn",
    "ResidualCLVResult",
    "RetentionCampaign",
    "RetentionEconomics",
    "SBGResult",
    "TrackingResult",
    "Uncertain",
    "Valuation",
    "btyd_clv",
    "campaign_roi",
    "clv_from_survival",
    "cohort_alive",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_sbg",
    "geometric_clv",
    "holdout_by_frequency",
    "monte_carlo",
    "preventable_churn",
    "projection_check",
    "residual_clv",
    "retention_verdict",
    "retention_vs_acquisition",
    "retention_vs_acquisition_model",
    "retention_vs_acquisition_monte_carlo",
    "split_cohorts",
    "track_repeat_purchases",
    "why_no_clv",
]
