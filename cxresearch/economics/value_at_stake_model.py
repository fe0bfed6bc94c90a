"""The person-month models behind the value-at-stake analysis, refitted on customer-bootstrap weights.

Rows that share tenure and covariates form a cell (`survival.cloglog`); a bootstrap draw weights each customer by
how often she is drawn, so a refit needs only the cells' weighted churns and person-months, not a new table.
The monthly hazard of every exit is a cloglog model of the cells. Where the data records why customers left, a
logit of the share of exits that are service-related, fitted on the exits' cells, splits it: the service-related
hazard is the all-cause hazard times that share, the other exits' hazard the rest ("vertical modelling" of competing
risks, Nicolaie, van Houwelingen & Putter 2010, Stat. Med. 29:1356-1370). Unlike a cloglog model of the
service-related exits alone, the split lets a driver's effect on the service hazard flatten where service is
already most of the exits (the share cannot pass 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from cxresearch.stats.logit import fit_logit
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

    def fit(self, weights: np.ndarray | None = None, start: np.ndarray | None = None) -> Fit:
        """Cloglog fit with customer weights (None: each once); `start` = a previous fit's coefficients, from which a
        covariate the weighted rows do not carry (a driver absent from a bootstrap draw) keeps its value."""
        w = np.ones(len(self.event)) if weights is None else weights[self.customer]
        n_cells = len(self.tenure)
        trials = np.bincount(self.cell, weights=w, minlength=n_cells)
        churns = np.bincount(self.cell, weights=w * self.event, minlength=n_cells)
        x, k = self._design(churns)
        used = trials > 0
        if start is not None and len(start) != x.shape[1]:
            # the draw merged other tenure bands (one without churn): the covariates start where they were, the
            # bands at their former mean
            bands = len(start) - len(self.columns)
            start = np.r_[np.full(k, np.mean(start[:bands])), start[bands:]]
        # from a previous fit's coefficients, Fisher scoring converges about quadratically (steps of 1e-1, 1e-2,
        # 1e-4, 1e-7 on the demo): once a step is below 1e-3 the refit is within about 1e-5 of its optimum, far
        # inside the bootstrap spread, and each further step would cost as much as the first
        beta, _, _ = fit_cloglog(x[used], churns[used], trials=trials[used], start=start,
                                 tol=1e-9 if start is None else 1e-3, covariance=False,
                                 keep_unidentified=start is not None)
        return Fit(beta=beta, coef=pd.Series(beta[k:], index=self.columns), eta=x @ beta)

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
class ReasonModel:
    """The share of exits that are service-related per cell of the hazard model: a logit in log tenure and the
    covariates, fitted on the exits."""

    cell: np.ndarray  # per exit: its cell of the hazard model
    customer: np.ndarray  # per exit: its customer
    service: np.ndarray  # per exit: 1.0 when service-related
    x: np.ndarray  # per cell of the hazard model: intercept, log tenure, covariates
    columns: list[str]

    @classmethod
    def from_cells(cls, hazard: CellModel, service: np.ndarray, columns: Sequence[str] | None = None
                   ) -> ReasonModel:
        """The exits of `hazard` (its person-months with `event`) and whether each was service-related (`service`,
        per person-month); the share depends on the hazard's covariates `columns` (None: all)."""
        exits = hazard.event > 0
        columns = list(hazard.columns if columns is None else columns)
        covariates = hazard.covariates[:, [hazard.columns.index(c) for c in columns]]
        x = np.column_stack([np.ones(len(hazard.tenure)), np.log(hazard.tenure.astype(float)), covariates])
        return cls(cell=hazard.cell[exits], customer=hazard.customer[exits], service=service[exits].astype(float),
                   x=x, columns=columns)

    def fit(self, weights: np.ndarray | None = None, start: np.ndarray | None = None) -> ReasonFit:
        """Logit fit with customer weights (None: each once); `start` = a previous fit's coefficients, from which a
        covariate the weighted exits do not carry keeps its value."""
        w = np.ones(len(self.cell)) if weights is None else weights[self.customer]
        n_cells = len(self.x)
        exits = np.bincount(self.cell, weights=w, minlength=n_cells)
        service = np.bincount(self.cell, weights=w * self.service, minlength=n_cells)
        used = exits > 0
        gamma = fit_logit(self.x[used], service[used], exits[used], start=start,
                          tol=1e-9 if start is None else 1e-3, keep_unidentified=start is not None)
        return ReasonFit(gamma=gamma, coef=pd.Series(gamma[2:], index=self.columns), logit=self.x @ gamma)


@dataclass
class CauseModels:
    """The all-cause hazard and, where the levers act on service-related exits, the share of exits that are
    service-related; on the same cells, so their predictors index alike."""

    hazard: CellModel
    reason: ReasonModel | None = None  # None: the levers act on all churn

    @classmethod
    def from_design(cls, long: pd.DataFrame, design: pd.DataFrame, service: str | None = None,
                    reason_columns: Sequence[str] | None = None) -> CauseModels:
        """`long["event"]` is any exit; `long[service]` (when named) whether it was service-related, its share
        modelled on the design's `reason_columns` (None: all)."""
        hazard = CellModel.from_design(long, design)
        if service is None:
            return cls(hazard)
        return cls(hazard, ReasonModel.from_cells(hazard, long.loc[design.index, service].to_numpy(bool),
                                                  reason_columns))

    @property
    def n_customers(self) -> int:
        """Customers in the models."""
        return self.hazard.n_customers

    def fit(self, weights: np.ndarray | None = None, start: Fits | None = None) -> Fits:
        """Both fits with customer weights (None: each once); `start` = a previous pair of fits."""
        hazard = self.hazard.fit(weights, None if start is None else start.hazard.beta)
        if self.reason is None:
            return Fits(hazard)
        return Fits(hazard, self.reason.fit(weights, None if start is None or start.reason is None
                                            else start.reason.gamma))


@dataclass
class Fit:
    """One hazard fit: all coefficients, the covariates' log hazard ratios, the linear predictor per cell."""

    beta: np.ndarray
    coef: pd.Series
    eta: np.ndarray


@dataclass
class ReasonFit:
    """One fit of the service-related share: all coefficients, the covariates' log odds ratios, the logit per
    cell of the hazard model."""

    gamma: np.ndarray
    coef: pd.Series
    logit: np.ndarray


@dataclass
class Fits:
    """The all-cause hazard's fit and, on service-related churn, that of the service-related share of exits."""

    hazard: Fit
    reason: ReasonFit | None = None


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
