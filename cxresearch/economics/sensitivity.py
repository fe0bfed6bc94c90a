"""Uncertainty and sensitivity of a business case: Monte Carlo over uncertain inputs and a tornado chart.

Each uncertain input has a low / most likely / high value and is drawn from the triangular distribution on
them, independently (a common choice when experts give three-point estimates; Vose 2008, "Risk Analysis", ch. 9).
The tornado sets one input at a time to its low and high value with the others at their most likely values
(one-way sensitivity; Clemen & Reilly 2014, "Making Hard Decisions", ch. 5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.economics.clv import CLVResult, ResidualCLVResult
from cxresearch.economics.retention import _wilson
from cxresearch.results import Estimate


@dataclass(frozen=True)
class Uncertain:
    """A three-point estimate: low <= base <= high (triangular distribution), with a unit and a plain label."""

    low: float
    base: float
    high: float
    unit: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if not self.low <= self.base <= self.high:
            raise ValueError(f"need low <= base <= high, got {self.low}, {self.base}, {self.high}")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent triangular draws (the constant when low == high)."""
        return np.full(n, self.base) if self.low == self.high else rng.triangular(self.low, self.base, self.high, n)


Model = Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass
class MonteCarloResult:
    """Draws of the inputs and the output, the output at the base case, and a one-way tornado table."""

    draws: pd.DataFrame  # one column per input, plus "output"
    base: float
    tornado: pd.DataFrame  # input, label, low, high, output_low, output_high, swing (sorted by swing)
    output_label: str
    output_unit: str
    seed: int
    notes: list[str] = field(default_factory=list)

    def probability(self, threshold: float = 0.0) -> Estimate:
        """P(output > threshold) over the draws, with a Wilson 95% interval for the Monte Carlo error only."""
        n = len(self.draws)
        p = float((self.draws["output"] > threshold).mean())
        lo, hi = _wilson(p, n)
        return Estimate(100 * p, "%", f"P({self.output_label} > {threshold:g})", 100 * lo, 100 * hi, n=n,
                        note=f"{n} Monte Carlo draws, seed {self.seed}; CI is simulation error only")

    def summary(self) -> pd.DataFrame:
        """Output mean, 5th/50th/95th percentiles and the base case."""
        y = self.draws["output"]
        return pd.DataFrame({"base": [self.base], "mean": [y.mean()], "p05": [y.quantile(0.05)],
                             "p50": [y.median()], "p95": [y.quantile(0.95)]}, index=[self.output_label])


def monte_carlo(
    model: Model,
    inputs: dict[str, Uncertain],
    n_draws: int = 5000,
    seed: int = 0,
    output_label: str = "output",
    output_unit: str = "",
) -> MonteCarloResult:
    """Run `model` (vectorised: dict of input arrays -> output array) on `n_draws` joint draws and one-way swings."""
    rng = np.random.default_rng(seed)
    draws = {name: spec.draw(rng, n_draws) for name, spec in inputs.items()}
    output = np.asarray(model(draws), float)
    base_inputs = {name: np.array([spec.base]) for name, spec in inputs.items()}
    base = float(model(base_inputs)[0])
    rows = []
    for name, spec in inputs.items():
        out = []
        for level in (spec.low, spec.high):
            case = {**base_inputs, name: np.array([level])}
            out.append(float(model(case)[0]))
        rows.append({"input": name, "label": spec.label or name, "low": spec.low, "high": spec.high,
                     "output_low": out[0], "output_high": out[1], "swing": abs(out[1] - out[0])})
    tornado = pd.DataFrame(rows).sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
    frame = pd.DataFrame(draws)
    frame["output"] = output
    return MonteCarloResult(frame, base, tornado, output_label, output_unit, seed)


def retention_vs_acquisition_model(
    saved_stream: np.ndarray, new_stream: np.ndarray
) -> Model:
    """Net value per currency unit spent on retention minus per unit spent on acquisition (currency / currency).

    Inputs (arrays): `save_rate` (share of contacted customers kept, 0-1), `contact_cost` (currency per contacted
    customer, incentive included), `acquisition_cost` (currency per new customer), `margin_multiplier` (x the
    measured margins) and `monthly_discount_rate`. Values: a saved customer is worth
    V_s = k sum_t saved_stream[t] / (1 + d)^t and a new one V_n = k sum_t new_stream[t] / (1 + d)^t (streams:
    expected margin in months 1..H ahead, currency). Output = (save_rate V_s / contact_cost - 1) -
    (V_n / acquisition_cost - 1) = save_rate V_s / contact_cost - V_n / acquisition_cost: positive when a unit of
    budget buys more lifetime value through retention than through acquisition.
    """
    saved_stream, new_stream = np.asarray(saved_stream, float), np.asarray(new_stream, float)
    months = np.arange(1, len(saved_stream) + 1, dtype=float)
    if len(new_stream) != len(saved_stream):
        raise ValueError("saved_stream and new_stream need the same horizon")

    def model(x: dict[str, np.ndarray]) -> np.ndarray:
        discount = (1.0 + x["monthly_discount_rate"][:, None]) ** -months[None, :]
        v_saved = x["margin_multiplier"] * (discount @ saved_stream)
        v_new = x["margin_multiplier"] * (discount @ new_stream)
        return x["save_rate"] * v_saved / x["contact_cost"] - v_new / x["acquisition_cost"]

    return model


def retention_vs_acquisition_monte_carlo(
    clv: CLVResult,
    residual: ResidualCLVResult,
    acquisition_cost: float,
    save_rate: float,
    contact_cost: float,
    uncertainty: float = 0.25,
    save_rate_range: tuple[float, float] | None = None,
    n_draws: int = 5000,
    seed: int = 0,
) -> MonteCarloResult:
    """Monte Carlo of `retention_vs_acquisition_model`: retention vs acquisition value per currency unit spent.

    A saved customer is valued like the average current customer (`residual.stream`), a new one like the
    overall new-customer CLV (`clv`, one group). Three-point ranges: save rate `save_rate_range` (default
    0.5x to 1.5x, capped at 1), contact cost, acquisition cost and margins +/- `uncertainty` (relative), and the
    monthly discount rate 0.5x to 1.5x.
    """
    if len(clv.table) != 1 or clv.curves is None:
        raise ValueError("pass an overall CLVResult (group=None)")
    horizon = min(clv.horizon_months, residual.horizon_months)
    new_stream = clv.table["monthly_margin"].iloc[0] * clv.curves["survival"].to_numpy(float)[:horizon]
    saved_stream = residual.stream[:horizon]
    lo, hi = save_rate_range or (0.5 * save_rate, min(1.5 * save_rate, 1.0))
    d = clv.monthly_discount_rate
    u = uncertainty
    inputs = {
        "save_rate": Uncertain(lo, save_rate, hi, "share", "Save rate of a retention contact"),
        "contact_cost": Uncertain(contact_cost * (1 - u), contact_cost, contact_cost * (1 + u), clv.currency,
                                  "Cost per retention contact"),
        "acquisition_cost": Uncertain(acquisition_cost * (1 - u), acquisition_cost, acquisition_cost * (1 + u),
                                      clv.currency, "Acquisition cost per customer"),
        "margin_multiplier": Uncertain(1 - u, 1.0, 1 + u, "x", "Margin (x measured)"),
        "monthly_discount_rate": Uncertain(0.5 * d, d, 1.5 * d, "per month", "Monthly discount rate"),
    }
    return monte_carlo(retention_vs_acquisition_model(saved_stream, new_stream), inputs, n_draws, seed,
                       output_label="Retention minus acquisition value per unit spent",
                       output_unit=f"{clv.currency} per {clv.currency}")


def retention_verdict(probability: Estimate, claim: str | None = None) -> str:
    """A plain sentence on whether retention spend beats acquisition spend, from P(retention beats acquisition)."""
    p = probability.value
    if p >= 90:
        head = "Retention spend very likely beats acquisition spend"
    elif p >= 60:
        head = "Retention spend more likely than not beats acquisition spend"
    elif p > 40:
        head = "It is a toss-up whether retention spend beats acquisition spend"
    elif p > 10:
        head = "Acquisition spend more likely than not beats retention spend"
    else:
        head = "Acquisition spend very likely beats retention spend"
    text = (f"{head}: a unit of budget buys more lifetime value through retention in {p:.0f}% of "
            f"{probability.n:,} scenarios over the uncertain inputs")
    return text + (f"; {claim}." if claim else ".")
