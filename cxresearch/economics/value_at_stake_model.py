"""The person-month cloglog models behind the value-at-stake analysis, refitted on customer-bootstrap weights.

Rows that share tenure and covariates form a cell (`survival.cloglog`); a bootstrap draw weights each customer by
how often she is drawn, so a refit needs only the cells' weighted churns and person-months, not a new table.
Where the data records why customers left, the levers act on the cause-specific hazard of service-related exits
(the other exits end the time at risk in their exit month), and the hazard of the other exits, fitted on the same
cells, is the competing risk the scenarios leave as estimated (Prentice et al. 1978; Allison 1982).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from cxresearch.survival.cloglog import fit_cloglog, tenure_baseline

#: First tenure month of each baseline band (those of `survival.timevarying.fit_person_month_cloglog`).
TIME_BANDS: tuple[int, ...] = (1, 2, 3, 4, 7, 10, 13, 19, 25, 37, 49)


@dataclass
class CellModel:
    """Person-months collapsed to cells of identical (tenure, covariates), with each row's cell and customer."""

    cell: np.ndarray  # per person-month: its cell
    customer: np.ndarray  # per person-month: its customer (0 .. n_customers - 1)
    event: np.ndarray  # per person-month: 1.0 when the customer churned that month
    tenure: np.ndarray  # per cell: tenure month
    covariates: np.ndarray  # per cell: covariate values (columns `columns`)
    columns: list[str]
    n_customers: int
    time_bands: Sequence[int] = TIME_BANDS
    _designs: dict[bytes, np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_design(cls, long: pd.DataFrame, design: pd.DataFrame, time_bands: Sequence[int] = TIME_BANDS
                    ) -> CellModel:
        """Cells of the person-months `long` (rows of `design`, a covariate matrix indexed like `long`)."""
        tenure = long.loc[design.index, "tenure"].to_numpy(int)
        keys = design.assign(_tenure=tenure)
        cell = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
        first = np.unique(cell, return_index=True)[1]
        customer, _ = pd.factorize(long.loc[design.index, "customer_id"], sort=False)
        return cls(cell=cell, customer=customer, event=long.loc[design.index, "event"].to_numpy(float),
                   tenure=tenure[first], covariates=design.to_numpy(float)[first], columns=list(design.columns),
                   n_customers=int(customer.max()) + 1, time_bands=time_bands)

    def fit(self, weights: np.ndarray | None = None, start: np.ndarray | None = None, se: bool = True) -> Fit:
        """Cloglog fit with customer weights (None: each once); `start` = a previous fit's coefficients; `se`:
        with standard errors (NaN without, as bootstrap refits need none)."""
        w = np.ones(len(self.event)) if weights is None else weights[self.customer]
        n_cells = len(self.tenure)
        trials = np.bincount(self.cell, weights=w, minlength=n_cells)
        churns = np.bincount(self.cell, weights=w * self.event, minlength=n_cells)
        x, k = self._design(churns)
        used = trials > 0
        if start is not None and len(start) != x.shape[1]:
            start = None
        # from a previous fit's coefficients, Fisher scoring converges about quadratically (steps of 1e-1, 1e-2,
        # 1e-4, 1e-7 on the demo): once a step is below 1e-3 the refit is within about 1e-5 of its optimum, far
        # inside the bootstrap spread, and each further step would cost as much as the first
        beta, cov, _ = fit_cloglog(x[used], churns[used], trials=trials[used], start=start,
                                   tol=1e-9 if start is None else 1e-3, covariance=se)
        return Fit(beta=beta, coef=pd.Series(beta[k:], index=self.columns),
                   se=pd.Series(np.sqrt(np.diag(cov)[k:]) if se else np.nan, index=self.columns), eta=x @ beta)

    @cached_property
    def _tenures(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct tenures, and each cell's index among them."""
        return np.unique(self.tenure, return_inverse=True)

    def _design(self, churns: np.ndarray) -> tuple[np.ndarray, int]:
        """Per cell: the tenure-band indicators (bands without churn merged) and the covariates, and the number of
        bands; cached by the band pattern, which bootstrap draws nearly always share."""
        tenures, index = self._tenures
        bands = tenure_baseline(tenures, np.bincount(index, weights=churns, minlength=len(tenures)) > 0,
                                self.time_bands)
        key = bands.tobytes()
        if key not in self._designs:
            self._designs[key] = np.hstack([bands[index], self.covariates])
        return self._designs[key], bands.shape[1]


@dataclass
class CauseModels:
    """The hazard the levers act on (all exits, or the service-related ones) and, with reasons, the competing
    hazard of the other exits; both on the same cells, so their linear predictors index alike."""

    acted: CellModel
    other: CellModel | None = None  # None: `acted` is the all-cause hazard

    @classmethod
    def from_design(cls, long: pd.DataFrame, design: pd.DataFrame, other_event: str | None = None) -> CauseModels:
        """`long["event"]` is the acted-on exit; `long[other_event]` (when named) the competing exits."""
        acted = CellModel.from_design(long, design)
        if other_event is None:
            return cls(acted)
        return cls(acted, replace(acted, event=long.loc[design.index, other_event].to_numpy(float)))

    @property
    def n_customers(self) -> int:
        """Customers in the models."""
        return self.acted.n_customers

    def fit(self, weights: np.ndarray | None = None, start: Fits | None = None, se: bool = True) -> Fits:
        """Both fits with customer weights (None: each once); `start` = a previous pair of fits; `se` as
        `CellModel.fit`."""
        acted = self.acted.fit(weights, None if start is None else start.acted.beta, se)
        if self.other is None:
            return Fits(acted)
        return Fits(acted, self.other.fit(weights, None if start is None or start.other is None
                                          else start.other.beta, se))


@dataclass
class Fit:
    """One fit: all coefficients, the covariates' log hazard ratios (and SEs), the linear predictor per cell."""

    beta: np.ndarray
    coef: pd.Series
    se: pd.Series
    eta: np.ndarray


@dataclass
class Fits:
    """The fit of the acted-on hazard and, with reasons, that of the competing one."""

    acted: Fit
    other: Fit | None = None


def e_value(hazard_ratio: float) -> float:
    """E-value of a hazard ratio read as a risk ratio (rare outcome): RR + sqrt(RR (RR - 1)), RR >= 1 oriented.

    References
    ----------
    VanderWeele & Ding (2017), "Sensitivity analysis in observational research: introducing the E-value",
    Annals of Internal Medicine 167:268-274.
    """
    if not np.isfinite(hazard_ratio) or hazard_ratio <= 0:
        return float("nan")
    rr = max(hazard_ratio, 1.0 / hazard_ratio)
    return float(rr + np.sqrt(rr * (rr - 1.0)))


def e_value_ci(ci_low: float, ci_high: float) -> float:
    """E-value of the confidence limit closest to 1 (1 when the interval contains 1)."""
    if ci_low <= 1.0 <= ci_high:
        return 1.0
    return e_value(ci_low if ci_low > 1.0 else ci_high)
