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
from cxresearch.economics.retention import RetentionEconomics
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import wilson_interval


@dataclass(frozen=True)
class Uncertain:
    """A three-point estimate: low <= base <= high (triangular distribution), with a unit and a plain label."""

    low: float
    base: float
    high: float
    unit: str = ""
    label: str = ""
    measured: bool = False  # True: the range is a measured input's 95% CI, not a plausible range someone assumed

    def __post_init__(self) -> None:
        if not self.low <= self.base <= self.high:
            raise ValueError(f"need low <= base <= high, got {self.low}, {self.base}, {self.high}")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent triangular draws (the constant when low == high)."""
        return np.full(n, self.base) if self.low == self.high else rng.triangular(self.low, self.base, self.high, n)

    def describe(self) -> str:
        """The input in words: 'Save rate 5%-25% (most likely 15%)', or 'Acquisition cost 160.00 EUR (95% CI
        150.00-170.00)' for a measured one."""
        low, base, high = (_number(v, self.unit) for v in (self.low, self.base, self.high))
        unit = "" if self.unit in ("", "share", "x") else " per month" if self.unit == "per month" else f" {self.unit}"
        if self.low == self.high:
            return f"{self.label} {base}{unit}"
        if self.measured:
            return f"{self.label} {base}{unit} (95% CI {low}-{high})"
        return f"{self.label} {low}-{high}{unit} (most likely {base})"


def _number(value: float, unit: str) -> str:
    """A value in its unit's usual form: shares and monthly rates as %, multipliers with 'x', money with 2 digits."""
    if unit in ("share", "per month"):
        return f"{100 * value:.3g}%"
    if unit == "x":
        return f"{value:.3g}x"
    return f"{value:,.2f}"


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
    inputs: dict[str, Uncertain] = field(default_factory=dict)

    def assumed_range(self, label: str, low_pct: float = 5.0, high_pct: float = 95.0) -> AssumedRange:
        """The output's base case and its `low_pct`-`high_pct` percentiles over the draws, as an `AssumedRange`."""
        y = self.draws["output"]
        return AssumedRange(self.base, float(y.quantile(low_pct / 100)), float(y.quantile(high_pct / 100)),
                            self.output_unit, label, dict(self.inputs), len(y), self.seed, (low_pct, high_pct))

    def probability(self, threshold: float = 0.0) -> Estimate:
        """P(output > threshold) over the draws, with a Wilson 95% interval for the Monte Carlo error only."""
        n = len(self.draws)
        p = float((self.draws["output"] > threshold).mean())
        lo, hi = wilson_interval(p, n)
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
    """Run `model` (vectorised: dict of input arrays -> output array) on `n_draws` joint draws and one-way swings.

    Parameters
    ----------
    model
        Output from a dict of input draws (arrays).
    inputs
        The uncertain inputs by name.
    n_draws, seed
        Draws and their seed.
    output_label, output_unit
        What the output is, for tables and figures.

    Returns
    -------
    MonteCarloResult
        The draws, the output's distribution and the one-way (tornado) table.
    """
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
    return MonteCarloResult(frame, base, tornado, output_label, output_unit, seed, inputs=dict(inputs))


@dataclass
class AssumedRange:
    """A figure resting on inputs nobody measured: its value at the most likely inputs and the spread of its Monte
    Carlo draws over their plausible values (5th-95th percentile by default).

    Not a confidence interval: it says how much the figure moves with what was assumed, not how precisely data
    pinned it down. Inputs flagged `measured` enter with their 95% CI.
    """

    base: float
    low: float
    high: float
    unit: str
    label: str
    inputs: dict[str, Uncertain]
    n_draws: int
    seed: int
    percentiles: tuple[float, float] = (5.0, 95.0)

    @property
    def assumed(self) -> list[Uncertain]:
        """The inputs nobody measured (their ranges are plausible values, not intervals)."""
        return [u for u in self.inputs.values() if not u.measured]

    @property
    def measured(self) -> list[Uncertain]:
        """The inputs taken from the data (with their 95% CI)."""
        return [u for u in self.inputs.values() if u.measured]

    def kind(self) -> str:
        """'5th-95th percentile over the assumed inputs' (what the two ends are)."""
        low, high = self.percentiles
        return f"{_ordinal(low)}-{_ordinal(high)} percentile over the assumed inputs"

    def describe_inputs(self) -> str:
        """'assumed: save rate 5%-25% (most likely 15%), ...; measured: acquisition cost 160.00 (95% CI ...)'."""
        parts = [f"assumed: {'; '.join(u.describe() for u in self.assumed)}"] if self.assumed else []
        parts += [f"measured: {'; '.join(u.describe() for u in self.measured)}"] if self.measured else []
        return ". ".join(parts)

    def to_estimates(self, key: str) -> dict[str, Estimate]:
        """`key_assumed_low` and `key_assumed_high`: the range's ends as two plain figures (never as a CI)."""
        note = (f"{self.kind()} of {self.n_draws:,} Monte Carlo draws (seed {self.seed}); not a confidence "
                f"interval. {self.describe_inputs()}")
        low, high = self.percentiles
        return {
            f"{key}_assumed_low": Estimate(self.low, self.unit, f"{self.label}: {_ordinal(low)} percentile over the "
                                           "assumed inputs", n=self.n_draws, note=note),
            f"{key}_assumed_high": Estimate(self.high, self.unit, f"{self.label}: {_ordinal(high)} percentile over "
                                            "the assumed inputs", n=self.n_draws, note=note),
        }

    def summary(self) -> pd.DataFrame:
        """Base case and the range's ends, one row."""
        low, high = self.percentiles
        return pd.DataFrame({"base": [self.base], f"p{low:02.0f}": [self.low], f"p{high:02.0f}": [self.high],
                             "unit": [self.unit]}, index=[self.label])

    def inputs_table(self) -> pd.DataFrame:
        """One row per input: label, low, most likely, high, unit, and whether it was assumed or measured."""
        return pd.DataFrame([
            {"input": name, "label": u.label, "low": u.low, "base": u.base, "high": u.high, "unit": u.unit,
             "source": "measured" if u.measured else "assumed"}
            for name, u in self.inputs.items()
        ])


def _ordinal(q: float) -> str:
    """5 -> '5th', 95 -> '95th', 1 -> '1st'."""
    n = round(q)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def retention_vs_acquisition_model(
    saved_stream: np.ndarray, new_stream: np.ndarray
) -> Model:
    """Net value per currency unit spent on retention minus per unit spent on acquisition (currency / currency).

    Inputs (arrays): `save_rate` (share of contacted customers kept, 0-1), `contact_cost` (currency per contacted
    customer) and optionally `incentive_cost` (added to it; c below is their sum), `acquisition_cost` (currency per new customer), `margin_multiplier` (x the
    measured margins) and `monthly_discount_rate`. Values: a saved customer is worth
    V_s = k sum_t saved_stream[t] / (1 + d)^t and a new one V_n = k sum_t new_stream[t] / (1 + d)^t (streams:
    expected margin in months 1..H ahead, currency). Output = (save_rate V_s / c - 1) -
    (V_n / acquisition_cost - 1) = save_rate V_s / c - V_n / acquisition_cost: positive when a unit of
    budget buys more lifetime value through retention than through acquisition.

    Parameters
    ----------
    saved_stream, new_stream
        Expected margin per month ahead of a saved and of a new customer (currency, undiscounted).

    Returns
    -------
    callable
        The model: value per unit of budget of retention minus that of acquisition, from the input draws.
    """
    saved_stream, new_stream = np.asarray(saved_stream, float), np.asarray(new_stream, float)
    months = np.arange(1, len(saved_stream) + 1, dtype=float)
    if len(new_stream) != len(saved_stream):
        raise ValueError("saved_stream and new_stream need the same horizon")

    def model(x: dict[str, np.ndarray]) -> np.ndarray:
        discount = (1.0 + x["monthly_discount_rate"][:, None]) ** -months[None, :]
        v_saved = x["margin_multiplier"] * (discount @ saved_stream)
        v_new = x["margin_multiplier"] * (discount @ new_stream)
        return x["save_rate"] * v_saved / _cost_per_contact(x) - v_new / x["acquisition_cost"]

    return model


def retention_inputs(
    save_rate: float,
    contact_cost: float,
    acquisition_cost: float,
    currency: str = "currency",
    uncertainty: float = 0.25,
    save_rate_range: tuple[float, float] | None = None,
    incentive_cost: float = 0.0,
    acquisition_ci: tuple[float, float] | None = None,
    save_rate_measured: bool = False,
) -> dict[str, Uncertain]:
    """The retention business case's inputs as three-point ranges (costs in `currency`, the save rate a share).

    Assumed inputs span their plausible values: the save rate `save_rate_range` (default 0.5x to 1.5x, capped at
    1), the contact cost, the incentive and an acquisition cost without data +/- `uncertainty` (relative). A
    measured input spans its 95% CI instead: the acquisition cost when `acquisition_ci` is given, the save rate
    when `save_rate_measured` (then `save_rate_range` is its CI).

    Parameters
    ----------
    save_rate, contact_cost, acquisition_cost
        Most likely save rate (share) and costs (currency).
    currency
        Label of the money amounts.
    uncertainty
        Relative spread of assumed costs (share).
    save_rate_range
        Plausible save rates; default 0.5 to 1.5 times the most likely.
    incentive_cost
        Currency per contacted customer.
    acquisition_ci
        95% CI of a measured acquisition cost; None when assumed.
    save_rate_measured
        Whether the save rate was measured.

    Returns
    -------
    dict of Uncertain
        The inputs by name.
    """
    lo, hi = save_rate_range or (0.5 * save_rate, min(1.5 * save_rate, 1.0))
    u = uncertainty

    def spread(value: float, label: str) -> Uncertain:
        return Uncertain(value * (1 - u), value, value * (1 + u), currency, label)

    inputs = {
        "save_rate": Uncertain(lo, save_rate, hi, "share", "Save rate of a retention contact", save_rate_measured),
        "contact_cost": spread(contact_cost, "Cost per retention contact"),
    }
    if incentive_cost > 0:
        inputs["incentive_cost"] = spread(incentive_cost, "Incentive per contacted customer")
    if acquisition_ci is None:
        inputs["acquisition_cost"] = spread(acquisition_cost, "Acquisition cost per customer")
    else:
        inputs["acquisition_cost"] = Uncertain(acquisition_ci[0], acquisition_cost, acquisition_ci[1], currency,
                                               "Acquisition cost per customer", measured=True)
    return inputs


def _cost_per_contact(x: dict[str, np.ndarray]) -> np.ndarray:
    """Currency spent per contacted customer: the contact plus the incentive (when the case has one)."""
    return x["contact_cost"] + x.get("incentive_cost", 0.0)


def cost_ratio_model(x: dict[str, np.ndarray]) -> np.ndarray:
    """Acquisition cost / retention cost per saved customer = CAC x save rate / cost per contacted customer.

    Parameters
    ----------
    x
        Input draws by name.

    Returns
    -------
    numpy.ndarray
        The cost ratio per draw.
    """
    return x["acquisition_cost"] * x["save_rate"] / _cost_per_contact(x)


def cost_ratio_range(
    econ: RetentionEconomics, uncertainty: float = 0.25, n_draws: int = 5000, seed: int = 0
) -> AssumedRange:
    """The acquisition-to-retention cost ratio over the plausible values of what nobody measured (see
    `retention_inputs`): its 5th-95th percentile, a range over assumptions rather than a confidence interval.

    Parameters
    ----------
    econ
        The retention-vs-acquisition comparison at the most likely inputs.
    uncertainty
        Relative spread of assumed costs (share).
    n_draws, seed
        Monte Carlo draws and their seed.

    Returns
    -------
    AssumedRange
        The ratio's 5th-95th percentile over the assumptions and the inputs used.
    """
    inputs = retention_inputs(
        econ.save_rate, econ.contact_cost, econ.acquisition_cost.value, econ.acquisition_cost.unit, uncertainty,
        econ.save_rate_range, econ.incentive_cost, econ.acquisition_ci, econ.save_rate_measured,
    )
    mc = monte_carlo(cost_ratio_model, inputs, n_draws, seed, "Acquisition cost / retention cost per saved customer",
                     "ratio")
    return mc.assumed_range(mc.output_label)


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
    incentive_cost: float = 0.0,
    acquisition_ci: tuple[float, float] | None = None,
) -> MonteCarloResult:
    """Monte Carlo of `retention_vs_acquisition_model`: retention vs acquisition value per currency unit spent.

    A saved customer is valued like the average current customer (`residual.stream`), a new one like the
    overall new-customer CLV (`clv`, one group). Ranges as in `retention_inputs`, plus margins +/- `uncertainty`
    (relative) and the monthly discount rate 0.5x to 1.5x.

    Parameters
    ----------
    clv, residual
        CLV of a new customer (overall) and residual CLV of current ones.
    acquisition_cost, save_rate, contact_cost
        Most likely acquisition cost (currency), save rate (share) and contact cost (currency).
    uncertainty
        Relative spread of assumed inputs (share).
    save_rate_range
        Plausible save rates.
    n_draws, seed
        Draws and their seed.
    incentive_cost
        Currency per contacted customer.
    acquisition_ci
        95% CI of a measured acquisition cost; None when assumed.

    Returns
    -------
    MonteCarloResult
        Retention minus acquisition value per unit of budget over the draws.
    """
    if len(clv.table) != 1 or clv.curves is None:
        raise ValueError("pass an overall CLVResult (group=None)")
    horizon = min(clv.horizon_months, residual.horizon_months)
    new_stream = clv.table["monthly_margin"].iloc[0] * clv.curves["survival"].to_numpy(float)[:horizon]
    saved_stream = residual.stream[:horizon]
    d = clv.monthly_discount_rate
    u = uncertainty
    inputs = {
        **retention_inputs(save_rate, contact_cost, acquisition_cost, clv.currency, uncertainty, save_rate_range,
                           incentive_cost, acquisition_ci),
        "margin_multiplier": Uncertain(1 - u, 1.0, 1 + u, "x", "Margin (x measured)"),
        "monthly_discount_rate": Uncertain(0.5 * d, d, 1.5 * d, "per month", "Monthly discount rate"),
    }
    return monte_carlo(retention_vs_acquisition_model(saved_stream, new_stream), inputs, n_draws, seed,
                       output_label="Retention minus acquisition value per unit spent",
                       output_unit=f"{clv.currency} per {clv.currency}")


def value_break_even_save_rate(
    clv: CLVResult, residual: ResidualCLVResult, acquisition_cost: float, cost_per_contact: float
) -> float:
    """Save rate (share) above which a unit of budget buys more lifetime value through retention than through
    acquisition: a* = cost per contact x V_new / (acquisition cost x V_saved), the zero of
    `retention_vs_acquisition_model` at the measured margins and the base discount rate.

    Parameters
    ----------
    clv, residual
        CLV of a new customer (overall) and residual CLV of current ones.
    acquisition_cost, cost_per_contact
        Currency per acquired and per contacted customer.

    Returns
    -------
    float
        The break-even save rate (share).
    """
    horizon = min(clv.horizon_months, residual.horizon_months)
    discount = (1.0 + clv.monthly_discount_rate) ** -np.arange(1, horizon + 1, dtype=float)
    v_new = clv.table["monthly_margin"].iloc[0] * clv.curves["survival"].to_numpy(float)[:horizon] @ discount
    v_saved = residual.stream[:horizon] @ discount
    return float(cost_per_contact * v_new / (acquisition_cost * v_saved))


def retention_verdict(probability: Estimate, claim: str | None = None) -> str:
    """A plain sentence on whether retention spend beats acquisition spend, from the share of Monte Carlo scenarios
    over the assumed inputs in which it does (a statement about the assumptions, not a probability from data).

    Parameters
    ----------
    probability
        Share of scenarios (%) in which retention wins, with the scenarios as `n`.
    claim
        A clause on the cost ratio to append.

    Returns
    -------
    str
        The sentence.
    """
    p = probability.value
    if p >= 90:
        head = "Retention spend beats acquisition spend in nearly every case"
    elif p >= 60:
        head = "Retention spend beats acquisition spend in most cases"
    elif p > 40:
        head = "Retention and acquisition spend are a toss-up"
    elif p > 10:
        head = "Acquisition spend beats retention spend in most cases"
    else:
        head = "Acquisition spend beats retention spend in nearly every case"
    text = (f"{head} over the assumed inputs: a unit of budget buys more lifetime value through retention in "
            f"{p:.0f}% of {probability.n:,} scenarios")
    return text + (f"; {claim}." if claim else ".")


def cost_ratio_phrase(econ: RetentionEconomics, ratio_range: AssumedRange | None) -> str:
    """The acquisition / retention cost ratio as a phrase ("0.57x ..."): with its 95% CI when the save rate was
    measured, else its range over the assumed inputs (never a CI on them), else its value at those inputs."""
    ratio = econ.cost_ratio
    if econ.save_rate_measured and ratio.ci_low is not None:
        return f"{ratio.value:.2f}x (95% CI {ratio.ci_low:.2f}-{ratio.ci_high:.2f})"
    if ratio_range is not None:
        return (f"{ratio_range.low:.2f}-{ratio_range.high:.2f}x ({ratio_range.kind()}; {ratio.value:.2f}x at the "
                "most likely)")
    return f"{ratio.value:.2f}x at the assumed inputs"
