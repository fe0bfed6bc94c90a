"""Customer economics: what a customer is worth and what retaining one is worth.

One module per model (as in pymc-marketing's `clv/models`): `clv` (CLV from survival curves, residual CLV of
current customers), `retention` (retention vs acquisition, the "7x" claim), `sbg` (contractual cohorts, Fader &
Hardie 2007), `bgnbd` and `gamma_gamma` (non-contractual purchasing and spend, Fader, Hardie & Lee 2005), `btyd_clv`
(CLV from both),
`campaign` (retention campaign targeting and ROI), `sensitivity` (Monte Carlo and tornado).
"""

from cxresearch.economics.bgnbd import (
    BGNBDResult,
    TrackingResult,
    fit_bgnbd,
    holdout_by_frequency,
    track_repeat_purchases,
)
from cxresearch.economics.btyd_clv import BTYDCLVResult, btyd_clv
from cxresearch.economics.campaign import CampaignResult, campaign_roi
from cxresearch.economics.clv import (
    CLVResult,
    ResidualCLVResult,
    clv_from_survival,
    geometric_clv,
    residual_clv,
    why_no_clv,
)
from cxresearch.economics.gamma_gamma import GammaGammaResult, fit_gamma_gamma
from cxresearch.economics.retention import RetentionEconomics, retention_vs_acquisition
from cxresearch.economics.sbg import CohortSplit, SBGResult, cohort_alive, fit_sbg, projection_check, split_cohorts
from cxresearch.economics.sensitivity import (
    MonteCarloResult,
    Uncertain,
    monte_carlo,
    retention_verdict,
    retention_vs_acquisition_model,
    retention_vs_acquisition_monte_carlo,
)

__all__ = [
    "BGNBDResult", "BTYDCLVResult", "TrackingResult", "btyd_clv", "holdout_by_frequency", "track_repeat_purchases", "CLVResult", "CampaignResult", "GammaGammaResult", "MonteCarloResult", "ResidualCLVResult",
    "CohortSplit", "RetentionEconomics", "SBGResult", "projection_check", "split_cohorts", "Uncertain", "campaign_roi", "clv_from_survival", "cohort_alive",
    "fit_bgnbd", "fit_gamma_gamma", "fit_sbg", "geometric_clv", "monte_carlo", "residual_clv",
    "retention_verdict", "retention_vs_acquisition", "retention_vs_acquisition_model",
    "retention_vs_acquisition_monte_carlo", "why_no_clv",
]
