"""Customer lifetime value from survival curves: a new customer's CLV and current customers' residual CLV.

Every money amount is in the data's currency (`currency` labels it); rates are per month unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from cxresearch.economics.clv_tail import TailChoice, choose_tail
from cxresearch.economics.survival_curve import TAIL_WINDOW_MONTHS, SurvivalCases, Tail, resample_counts
from cxresearch.economics.tail_models import LABELS
from cxresearch.economics.valuation import VALUATION, Valuation
from cxresearch.stats.estimate import Estimate
from cxresearch.survival.groups import split_groups


@dataclass
class CLVResult:
    """Expected discounted margin per customer (CLV) per group, with percentile-bootstrap 95% CIs."""

    table: pd.DataFrame  # group, clv, ci_low, ci_high, n, monthly_margin, km_until, tail, tail_hazard
    horizon_months: int
    monthly_discount_rate: float
    currency: str
    group: str | None = None
    curves: pd.DataFrame | None = field(default=None, repr=False)  # group, month, survival (KM + tail)
    notes: list[str] = field(default_factory=list)
    tails: dict[str, TailChoice] = field(default_factory=dict)  # per group: the tail beyond T_c, and why

    @property
    def tail(self) -> TailChoice:
        """The tail of an overall result (group=None)."""
        if len(self.tails) != 1:
            raise ValueError("a result by group has one tail per group: see `tails`")
        return next(iter(self.tails.values()))

    def summary(self) -> pd.DataFrame:
        """Per group: CLV and 95% CI (currency), customers, mean monthly margin (currency/month)."""
        return self.table[["group", "clv", "ci_low", "ci_high", "n", "monthly_margin"]].copy()

    def to_estimates(self) -> dict[str, Estimate]:
        """CLV per group as reportable estimates keyed `clv_<group>`."""
        return {
            f"clv_{row.group}": Estimate(
                value=float(row.clv),
                unit=self.currency,
                label=(
                    f"Customer lifetime value over {self.horizon_months} months ({row.group}), "
                    f"discounted {self.monthly_discount_rate:.1%}/month"
                ),
                ci_low=float(row.ci_low) if np.isfinite(row.ci_low) else None,
                ci_high=float(row.ci_high) if np.isfinite(row.ci_high) else None,
                n=int(row.n),
                note=f"Kaplan-Meier survival with a {row.tail} tail",
            )
            for row in self.table.itertuples()
        }

    def per_customer(self, assumptions: Sequence[str] = ()) -> Estimate:
        """CLV of a new customer (currency) of an overall result, its note naming the data's stated assumptions
        (e.g. what the churn flag covers, on which a lifetime value from one-row-per-customer data rests)."""
        if len(self.table) != 1:
            raise ValueError("per_customer needs an overall CLVResult (group=None)")
        overall = next(iter(self.to_estimates().values()))
        label = (f"Lifetime value of a new customer over {self.horizon_months} months, discounted "
                 f"{self.monthly_discount_rate:.1%}/month")
        return replace(overall, label=label, note="; ".join([overall.note, *assumptions]))


def why_no_clv(df: pd.DataFrame, event: str = "event", margin_column: str = "monthly_margin") -> tuple[str, str]:
    """Why lifetime value cannot be computed from `df` (`features.lifetimes`) and the missing input in the
    vocabulary of `Results.skip`; ("", "") when it can.

    Parameters
    ----------
    df, event, margin_column
        One row per customer, and its columns of the churn flag and the monthly margin.

    Returns
    -------
    tuple of str
        The reason and the missing input.
    """
    if not df[event].astype(bool).any():
        return "no customer in the data has churned, so there is no survival curve to value", "churners"
    if margin_column not in df or df[margin_column].isna().all():
        return "the data has no monthly margins", "monthly margins"
    return "", ""


def clv_from_survival(
    df: pd.DataFrame,
    valuation: Valuation = VALUATION,
    group: str | None = None,
    monthly_margin: float | None = None,
    min_group_size: int = 30,
    min_at_risk: int = 10,
) -> CLVResult:
    """Expected discounted margin of a new customer over `horizon_months` (currency), per group.

    CLV = sum_{t=1..H} S(t) * m / (1 + d)^t  (margin earned at each month end while still a customer), with
    S the Kaplan-Meier survival evaluated at month ends, m the group's mean `margin_column` unless
    `monthly_margin` is given, d the monthly discount rate (Gupta & Lehmann 2003, J. Interactive Marketing 17:9-24).

    Left truncation: `entry` (months since signup) gives risk sets {entry < t <= duration} (lifelines `entry=`),
    and the tails count only customer-months after entry.

    Tail: the KM curve is used up to T_c, the last time at which at least `min_at_risk` customers are still at
    risk. For t > T_c, S(t) = S(T_c) S_tail(t) / S_tail(T_c): a constant hazard exp(-lambda t), lambda = churn
    events / customer-months in (T_c - 12, T_c] (flat without churn there), or a Weibull, log-normal or
    log-logistic curve fitted on the whole group. `tail="auto"` chooses the family per group by an out-of-time
    backtest (`clv_tail.choose_tail`), a family name forces it, a `TailChoice` is reused for every group.

    CI: percentile bootstrap over customers (Efron & Tibshirani 1993), `n_boot` resamples per group, re-estimating
    S, the tail's parameters (the family stays the one chosen) and (unless given) m in each.

    Parameters
    ----------
    df
        One row per customer (`features.lifetimes`).
    valuation
        Discount rate per month and months of margin counted (d, H), bootstrap resamples per group and their
        seed, the currency label, the tail ("auto", a family of `tail_models.FAMILIES`, or the `TailChoice` of an
        earlier call) and the columns of tenure (months), churn flag, margin (currency per month) and delayed entry
        (months): a `valuation.Valuation`.
    group, min_group_size
        Column to break CLV down by (None = overall), and the smallest group kept (customers).
    monthly_margin
        Margin per customer and month (currency), instead of the mean of the margin column.
    min_at_risk
        Customers still at risk where the Kaplan-Meier curve gives way to the tail (T_c).

    Returns
    -------
    CLVResult
        CLV per group with 95% CIs, the survival curves used, the tail's choice and notes.
    """
    df = df.reset_index(drop=True)
    groups, notes = split_groups(df, group, valuation.columns, min_group_size)
    _require_margin(df, monthly_margin, valuation.margin_column)
    margins = None if monthly_margin is not None else df[valuation.margin_column]
    if margins is not None and margins.isna().any():
        notes.append(f"{int(margins.isna().sum())} customers with missing margin are left out of the mean margin")
    months = np.arange(1, valuation.horizon_months + 1, dtype=float)
    discount, rng = (1.0 + valuation.monthly_discount_rate) ** -months, np.random.default_rng(valuation.seed)
    rows, curves, tails = [], [], {}
    for name, sub in groups.items():
        cases, tails[name] = _group_cases(sub, valuation, min_at_risk)
        m_all = np.full(len(sub), float(monthly_margin)) if margins is None else margins.loc[sub.index].to_numpy(float)
        row, surv = _group_clv(cases, m_all, discount, months, min_at_risk, valuation.n_boot, rng, tails[name].tail)
        notes.extend([*tails[name].notes, *([_tail_note(name, row["km_until"], row["tail_hazard"], row["tail"])]
                                            if row["km_until"] < valuation.horizon_months else [])])
        rows.append({"group": name, **row})
        curves.append(pd.DataFrame({"group": name, "month": months, "survival": surv}))
    return CLVResult(table=pd.DataFrame(rows), horizon_months=valuation.horizon_months,
                     monthly_discount_rate=valuation.monthly_discount_rate,
                     currency=valuation.currency, group=group, curves=pd.concat(curves, ignore_index=True),
                     notes=list(dict.fromkeys(notes)), tails=tails)


def _group_cases(sub: pd.DataFrame, valuation: Valuation, min_at_risk: int) -> tuple[SurvivalCases, TailChoice]:
    """A group's cases and its tail: chosen on the group (groups with different constant hazards have a falling
    hazard together), or the `TailChoice` given."""
    duration, event, entry, tail = valuation.duration, valuation.event, valuation.entry, valuation.tail
    cases = SurvivalCases(sub[duration].to_numpy(float), sub[event].to_numpy(bool),
                          sub[entry].to_numpy(float) if entry else None)
    return cases, tail if isinstance(tail, TailChoice) else choose_tail(sub, tail, valuation.columns, min_at_risk)


def _group_clv(
    cases: SurvivalCases, m_all: np.ndarray, discount: np.ndarray, months: np.ndarray, min_at_risk: int, n_boot: int,
    rng: np.random.Generator, tail: Tail,
) -> tuple[dict[str, float | str], np.ndarray]:
    """One group's CLV (currency) with its percentile-bootstrap 95% CI, customers, mean margin, KM cut-off (months),
    tail family used and constant tail hazard (per month), and its survival curve at `months`."""
    surv, t_c, lam, theta = cases.survival_with_tail(np.ones(len(cases.t)), months, min_at_risk, tail=tail)
    # the resamples refit the family the point estimate could fit, starting from its parameters
    tail = Tail() if theta is None else Tail(tail.family, theta)
    m = float(np.nanmean(m_all))
    has_margin = (~np.isnan(m_all)).astype(float)
    margin_or_0 = np.where(has_margin > 0, m_all, 0.0)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        w = resample_counts(rng, len(cases.t))
        s_b = cases.survival_with_tail(w, months, min_at_risk, tail=tail).survival
        with np.errstate(divide="ignore", invalid="ignore"):
            boot[b] = np.sum(w * margin_or_0) / np.sum(w * has_margin) * np.sum(s_b * discount)
    lo, hi = _percentile_ci(boot)
    row = {"clv": float(m * np.sum(surv * discount)), "ci_low": lo, "ci_high": hi, "n": len(cases.t),
           "monthly_margin": m, "km_until": t_c, "tail": LABELS[tail.family], "tail_hazard": lam}
    return row, surv


def _tail_note(name: str, t_c: float, lam: float, tail: str) -> str:
    """Where the Kaplan-Meier curve of group `name` ends (months) and the tail (named as in `LABELS`) after it."""
    if tail != LABELS["constant"]:
        return (f"{name}: Kaplan-Meier used up to {t_c:.1f} months; beyond, a {tail} curve fitted on the group's "
                "whole survival curve, conditional on survival to then")
    return (
        f"{name}: Kaplan-Meier used up to {t_c:.1f} months; beyond, a constant hazard of "
        f"{lam:.4f}/month fitted on the last {TAIL_WINDOW_MONTHS:g} months before that"
        + (" (no churn in that window: flat tail, likely optimistic)" if lam == 0 else "")
    )


def geometric_clv(
    monthly_retention: float, monthly_margin: float, monthly_discount_rate: float, horizon_months: int | None = None
) -> float:
    """CLV (currency) of a customer kept each month with constant probability q: m * sum_{t=1..H} (q / (1 + d))^t.

    Same timing convention as `clv_from_survival`: the margin m is earned at the end of each month t = 1, 2, ...
    in which the customer is still a customer (S(t) = q^t), discounted by (1 + d)^t. `horizon_months=None` sums
    to infinity: m x / (1 - x) with x = q / (1 + d) (Gupta & Lehmann 2003).

    Parameters
    ----------
    monthly_retention, monthly_margin, monthly_discount_rate, horizon_months
        q (share kept each month), m (currency per month), d (per month) and H (None = infinite).

    Returns
    -------
    float
        The CLV (currency).
    """
    x = monthly_retention / (1.0 + monthly_discount_rate)
    if horizon_months is None:
        if x >= 1:
            raise ValueError("an infinite horizon needs q / (1 + d) < 1")
        return float(monthly_margin * x / (1.0 - x))
    return float(monthly_margin * x * (1.0 - x**horizon_months) / (1.0 - x)) if x != 1 else float(monthly_margin * horizon_months)


@dataclass
class ResidualCLVResult:
    """Expected discounted margin still to come from each current customer (currency), given the tenure reached."""

    customers: pd.DataFrame  # per current customer: tenure_months, monthly_margin, residual_clv (+ id column)
    mean: Estimate  # per current customer, bootstrap 95% CI over the survival curve
    total: Estimate  # the current portfolio
    stream: np.ndarray  # mean expected margin per current customer in months 1..H ahead, undiscounted (currency)
    horizon_months: int
    monthly_discount_rate: float
    currency: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Mean and total residual CLV with 95% CIs."""
        rows = [{"key": k, "value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n, "unit": e.unit}
                for k, e in self.to_estimates().items()]
        return pd.DataFrame(rows).set_index("key")

    def to_estimates(self) -> dict[str, Estimate]:
        """`residual_clv_per_customer` and `residual_clv_portfolio`."""
        return {"residual_clv_per_customer": self.mean, "residual_clv_portfolio": self.total}


def residual_clv(
    df: pd.DataFrame,
    valuation: Valuation = VALUATION,
    monthly_margin: float | None = None,
    min_at_risk: int = 10,
    steps_per_month: int = 4,
    current: pd.DataFrame | None = None,
    tenure: str = "tenure_months",
) -> ResidualCLVResult:
    """Residual CLV of every current customer (no churn event): what her remaining lifetime is worth (currency).

    RCLV_i = m_i * sum_{t=1..H} S(a_i + t) / S(a_i) / (1 + d)^t, with a_i her tenure now (`duration`), m_i her own
    margin (or `monthly_margin`), S the Kaplan-Meier curve of all customers with the `tail` of
    `clv_from_survival` (same timing: margin at each month end survived; same `entry` handling). Tenures are
    rounded to 1/`steps_per_month` month. The CI is a percentile bootstrap over customers re-estimating S, with
    the current portfolio held fixed (its composition is known; the survival curve is what is uncertain), the
    tail's family fixed and its parameters refitted in each resample.

    Parameters
    ----------
    df
        One row per customer (`features.lifetimes`): the survival curve is estimated from all of them.
    valuation
        As in `clv_from_survival` (its horizon is the months ahead counted; its resamples re-estimate the curve).
    monthly_margin
        Margin per customer and month (currency), instead of each customer's margin column.
    min_at_risk
        As in `clv_from_survival`.
    steps_per_month
        Tenure grid steps per month.
    current, tenure
        Customers to value instead of those without a churn event in `df` (e.g. those active at an earlier
        `as_of`, at their own margins), and their tenure column (months); S is still estimated from `df`.

    Returns
    -------
    ResidualCLVResult
        Per customer and in total (currency), with the bootstrap 95% CI, and the expected margin stream.

    References
    ----------
    Fader & Hardie (2010), "Customer-base valuation in a contractual setting: the perils of ignoring
    heterogeneity", Marketing Science 29(1):85-93 (the residual-value logic, "DERL").
    """
    df = df.reset_index(drop=True)
    _require_margin(df, monthly_margin, valuation.margin_column)
    now, margin, notes = _current_customers(df, current, valuation.duration, valuation.event, tenure, monthly_margin,
                                            valuation.margin_column)
    ages = now["_tenure"].to_numpy(float)
    grid = _TenureGrid(ages, margin, steps_per_month, valuation.horizon_months, valuation.monthly_discount_rate)
    t = df[valuation.duration].to_numpy(float)
    e = df[valuation.event].to_numpy(bool)
    entry = valuation.entry
    cases = SurvivalCases(t, e, df[entry].fillna(0.0).to_numpy(float) if entry else np.zeros_like(t))
    choice = (valuation.tail if isinstance(valuation.tail, TailChoice) else
              choose_tail(df, valuation.tail, valuation.columns, min_at_risk))
    surv, _, _, theta = cases.survival_with_tail(np.ones(len(t)), grid.months, min_at_risk, tail=choice.tail)
    fitted = Tail() if theta is None else Tail(choice.family, theta)
    cond = grid.conditional(surv)
    values = margin * (cond @ grid.discount)[grid.inverse]
    n_cur = len(values)
    lo, hi = _percentile_ci(_bootstrap_mean(cases, grid, n_cur, min_at_risk, valuation.n_boot, valuation.seed, fitted))
    out = pd.DataFrame({"tenure_months": ages, "monthly_margin": margin, "residual_clv": values})
    if "customer_id" in now.columns:
        out.insert(0, "customer_id", now["customer_id"].to_numpy())
    mean, total = _residual_estimates(float(values.mean()), lo, hi, n_cur, valuation, LABELS[fitted.family])
    return ResidualCLVResult(customers=out, mean=mean, total=total, stream=(grid.weight @ cond) / n_cur,
                             horizon_months=valuation.horizon_months,
                             monthly_discount_rate=valuation.monthly_discount_rate,
                             currency=valuation.currency, notes=notes)


def _bootstrap_mean(cases: SurvivalCases, grid: _TenureGrid, n: int, min_at_risk: int, n_boot: int, seed: int,
                    tail: Tail) -> np.ndarray:
    """Mean residual CLV of the `n` valued customers (currency) under each of `n_boot` bootstrap survival curves."""
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        s_b = cases.survival_with_tail(resample_counts(rng, len(cases.t)), grid.months, min_at_risk, tail=tail).survival
        boot[b] = grid.weight @ (grid.conditional(s_b) @ grid.discount) / n
    return boot


def _require_margin(df: pd.DataFrame, monthly_margin: float | None, margin_column: str) -> None:
    """Raise KeyError when neither a margin per month nor a column of margins is given."""
    if monthly_margin is None and margin_column not in df.columns:
        raise KeyError(f"no {margin_column!r} column: pass monthly_margin")


def _percentile_ci(boot: np.ndarray) -> tuple[float, float]:
    """Percentile-bootstrap 95% CI of the draws `boot` (NaN, NaN without draws)."""
    lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
    return float(lo), float(hi)


def _current_customers(
    df: pd.DataFrame, current: pd.DataFrame | None, duration: str, event: str, tenure: str,
    monthly_margin: float | None, margin_column: str,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The customers to value (tenure, months, in column `_tenure`), their margins (currency per month, missing
    as 0) and a note on the missing ones."""
    if current is None:
        now = df.loc[~df[event].to_numpy(bool)].rename(columns={duration: "_tenure"})
    else:
        now = current.reset_index(drop=True).rename(columns={tenure: "_tenure"})
    if now.empty:
        raise ValueError("no current customers to value")
    margin = (np.full(len(now), float(monthly_margin)) if monthly_margin is not None
              else now[margin_column].to_numpy(float))
    notes = []
    if np.isnan(margin).any():
        notes.append(f"{int(np.isnan(margin).sum())} current customers without margin count as 0")
        margin = np.nan_to_num(margin)
    return now, margin, notes


class _TenureGrid:
    """Current customers' tenures rounded to 1/`steps` month, grouped by level: the survival grid they need
    (months) and the margin weight of each level (currency per month), so a bootstrap curve costs one matrix
    product per resample."""

    def __init__(self, ages: np.ndarray, margin: np.ndarray, steps: int, horizon_months: int, discount_rate: float
                 ) -> None:
        k = np.rint(ages * steps).astype(int)
        self.months = np.arange(k.max() + steps * horizon_months + 1) / steps
        self.ahead = steps * np.arange(1, horizon_months + 1)
        self.discount = (1.0 + discount_rate) ** -np.arange(1, horizon_months + 1, dtype=float)
        self.levels, self.inverse = np.unique(k, return_inverse=True)
        self.weight = np.bincount(self.inverse, weights=margin, minlength=len(self.levels))

    def conditional(self, surv: np.ndarray) -> np.ndarray:
        """S(a + t) / S(a) for each distinct tenure level (rows) and month ahead t (columns)."""
        base = surv[self.levels][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(base > 0, surv[self.levels[:, None] + self.ahead[None, :]] / base, 0.0)


def _residual_estimates(
    mean: float, lo: float, hi: float, n: int, valuation: Valuation, tail: str
) -> tuple[Estimate, Estimate]:
    """Residual CLV per current customer and of all `n` of them (currency), with the bootstrap 95% CI."""
    currency = valuation.currency
    label = f"over the next {valuation.horizon_months} months, discounted {valuation.monthly_discount_rate:.1%}/month"
    note = f"Kaplan-Meier survival conditional on tenure reached, {tail} tail; bootstrap over the curve"
    return (Estimate(mean, currency, f"Residual CLV per current customer {label}", lo, hi, n=n, note=note),
            Estimate(mean * n, currency, f"Residual CLV of the current customer base {label}", lo * n, hi * n, n=n,
                     note=note))
