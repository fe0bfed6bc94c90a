"""Customer lifetime value from survival curves: a new customer's CLV and current customers' residual CLV.

Every money amount is in the data's currency (`currency` labels it); rates are per month unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter

from cxresearch.results import Estimate
from cxresearch.survival import _at_risk_counts, _split_groups

#: Months of follow-up before the Kaplan-Meier cut-off used to fit the constant tail hazard.
TAIL_WINDOW_MONTHS = 12.0


@dataclass
class CLVResult:
    """Expected discounted margin per customer (CLV) per group, with percentile-bootstrap 95% CIs."""

    table: pd.DataFrame  # group, clv, ci_low, ci_high, n, monthly_margin, km_until, tail_hazard
    horizon_months: int
    monthly_discount_rate: float
    currency: str
    group: str | None = None
    curves: pd.DataFrame | None = field(default=None, repr=False)  # group, month, survival (KM + tail)
    notes: list[str] = field(default_factory=list)

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
                note="Kaplan-Meier survival with a constant-hazard tail",
            )
            for row in self.table.itertuples()
        }


def clv_from_survival(
    df: pd.DataFrame,
    monthly_margin: float | None = None,
    monthly_discount_rate: float = 0.01,
    horizon_months: int = 60,
    group: str | None = None,
    n_boot: int = 200,
    seed: int = 0,
    duration: str = "duration_months",
    event: str = "event",
    margin_column: str = "monthly_margin",
    min_group_size: int = 30,
    min_at_risk: int = 10,
    currency: str = "currency",
    entry: str | None = None,
) -> CLVResult:
    """Expected discounted margin of a new customer over `horizon_months` (currency), per group.

    CLV = sum_{t=1..H} S(t) * m / (1 + d)^t  (margin earned at each month end while still a customer), with
    S the Kaplan-Meier survival evaluated at month ends, m the group's mean `margin_column` unless
    `monthly_margin` is given, d the monthly discount rate (Gupta & Lehmann 2003, J. Interactive Marketing 17:9-24).

    Left truncation: `entry` names a column of delayed-entry times (months since signup, 0 = observed from
    signup). The KM then uses risk sets {entry < t <= duration} (lifelines `entry=`; the bootstrap's numpy KM
    the same), and the tail's exposure counts only customer-months after entry.

    Tail: the KM curve is used up to T_c, the last time at which at least `min_at_risk` customers are still at
    risk (beyond it the estimate rests on a handful of customers). For t > T_c,
    S(t) = S(T_c) * exp(-lambda * (t - T_c)), lambda = churn events / customer-months in (T_c - 12, T_c]
    (a constant hazard; to be replaced by parametric fits). With no churn in that window the tail is flat.

    CI: percentile bootstrap over customers (Efron & Tibshirani 1993), `n_boot` resamples per group, re-estimating
    S, the tail and (unless given) m in each.
    """
    df = df.reset_index(drop=True)
    groups, notes = _split_groups(df, group, duration, event, min_group_size, entry)
    if monthly_margin is None and margin_column not in df.columns:
        raise KeyError(f"no {margin_column!r} column: pass monthly_margin")
    margins = None if monthly_margin is not None else df[margin_column]
    if margins is not None and margins.isna().any():
        notes.append(f"{int(margins.isna().sum())} customers with missing margin are left out of the mean margin")
    months = np.arange(1, horizon_months + 1, dtype=float)
    discount = (1.0 + monthly_discount_rate) ** -months
    rng = np.random.default_rng(seed)
    rows, curves = [], []
    for name, sub in groups.items():
        t = sub[duration].to_numpy(float)
        e = sub[event].to_numpy(bool)
        a = sub[entry].to_numpy(float) if entry else np.zeros_like(t)
        m_all = np.full(len(sub), float(monthly_margin)) if margins is None else margins.loc[sub.index].to_numpy(float)
        kmf = KaplanMeierFitter().fit(t, e, entry=a if entry else None)
        surv, t_c, lam = _survival_with_tail(
            t, e, months, min_at_risk, km_at=lambda x: kmf.survival_function_at_times(x).to_numpy(), entry=a
        )
        m = float(np.nanmean(m_all))
        clv = float(m * np.sum(surv * discount))
        boot = np.empty(n_boot)
        for b in range(n_boot):
            idx = rng.integers(0, len(t), len(t))
            s_b, _, _ = _survival_with_tail(t[idx], e[idx], months, min_at_risk, entry=a[idx])
            boot[b] = np.nanmean(m_all[idx]) * np.sum(s_b * discount)
        lo, hi = np.percentile(boot, [2.5, 97.5]) if n_boot else (np.nan, np.nan)
        if t_c < horizon_months:
            notes.append(
                f"{name}: Kaplan-Meier used up to {t_c:.1f} months; beyond, a constant hazard of "
                f"{lam:.4f}/month fitted on the last {TAIL_WINDOW_MONTHS:g} months before that"
                + (" (no churn in that window: flat tail, likely optimistic)" if lam == 0 else "")
            )
        rows.append(
            {
                "group": name,
                "clv": clv,
                "ci_low": float(lo),
                "ci_high": float(hi),
                "n": len(sub),
                "monthly_margin": m,
                "km_until": t_c,
                "tail_hazard": lam,
            }
        )
        curves.append(pd.DataFrame({"group": name, "month": months, "survival": surv}))
    return CLVResult(
        table=pd.DataFrame(rows),
        horizon_months=horizon_months,
        monthly_discount_rate=monthly_discount_rate,
        currency=currency,
        group=group,
        curves=pd.concat(curves, ignore_index=True),
        notes=notes,
    )


def _survival_with_tail(
    t: np.ndarray,
    e: np.ndarray,
    months: np.ndarray,
    min_at_risk: int,
    km_at: Callable[[np.ndarray], np.ndarray] | None = None,
    entry: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float]:
    """Survival at `months`: KM up to the cut-off T_c, constant-hazard tail after; returns (S, T_c, lambda).

    T_c is the largest duration at which at least `min_at_risk` customers (all, if fewer) are at risk, at risk
    meaning entry < T_c <= duration (`_at_risk_counts`); the tail hazard's exposure counts customer-months after
    entry only.
    """
    entry = np.zeros_like(t) if entry is None else entry
    order = np.sort(t)
    need = min(min_at_risk, len(order))
    at_risk = _at_risk_counts(order, entry, order)
    ok = at_risk >= need
    # without entry this is order[-need]; with entry the at-risk count is not monotone in time
    t_c = float(order[ok][-1] if ok.any() else order[np.argmax(at_risk)])
    s = km_at(np.append(months, t_c)) if km_at is not None else _product_limit_at(t, e, np.append(months, t_c), entry)
    s_months, s_c = s[:-1], s[-1]
    start = t_c - TAIL_WINDOW_MONTHS
    exposure = np.clip(np.minimum(t, t_c) - np.maximum(entry, start), 0.0, None).sum()
    deaths = np.sum(e & (t > start) & (t <= t_c))
    lam = float(deaths / exposure) if exposure > 0 else 0.0
    beyond = months > t_c
    s_months = np.where(beyond, s_c * np.exp(-lam * (months - t_c)), s_months)
    return s_months, t_c, lam


def _product_limit_at(t: np.ndarray, e: np.ndarray, at: np.ndarray, entry: np.ndarray | None = None) -> np.ndarray:
    """Kaplan-Meier S at times `at` in numpy, for bootstrap replicates (refitting lifelines 200x is the bottleneck).

    Same estimator as lifelines' KaplanMeierFitter (a test asserts equality, with and without entry):
    S(x) = prod_{t_j <= x} (1 - d_j/n_j), n_j = #{entry < t_j <= duration} (`_at_risk_counts`; entry 0 if not
    given).
    """
    times, inverse = np.unique(t, return_inverse=True)
    deaths = np.bincount(inverse, weights=e.astype(float), minlength=len(times))
    if entry is None:
        leaving = np.bincount(inverse, minlength=len(times)).astype(float)
        at_risk = leaving[::-1].cumsum()[::-1]
    else:
        at_risk = _at_risk_counts(t, entry, times).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.cumprod(np.where(deaths > 0, 1.0 - deaths / at_risk, 1.0))
    i = np.searchsorted(times, at, side="right") - 1
    return np.where(i >= 0, s[np.clip(i, 0, None)], 1.0)




def geometric_clv(
    monthly_retention: float, monthly_margin: float, monthly_discount_rate: float, horizon_months: int | None = None
) -> float:
    """CLV (currency) of a customer kept each month with constant probability q: m * sum_{t=1..H} (q / (1 + d))^t.

    Same timing convention as `clv_from_survival`: the margin m is earned at the end of each month t = 1, 2, ...
    in which the customer is still a customer (S(t) = q^t), discounted by (1 + d)^t. `horizon_months=None` sums
    to infinity: m x / (1 - x) with x = q / (1 + d) (Gupta & Lehmann 2003).
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
    monthly_margin: float | None = None,
    monthly_discount_rate: float = 0.01,
    horizon_months: int = 60,
    n_boot: int = 200,
    seed: int = 0,
    duration: str = "duration_months",
    event: str = "event",
    margin_column: str = "monthly_margin",
    min_at_risk: int = 10,
    currency: str = "currency",
    entry: str | None = None,
    steps_per_month: int = 4,
    current: pd.DataFrame | None = None,
    tenure: str = "tenure_months",
) -> ResidualCLVResult:
    """Residual CLV of every current customer (no churn event): what her remaining lifetime is worth (currency).

    RCLV_i = m_i * sum_{t=1..H} S(a_i + t) / S(a_i) / (1 + d)^t, with a_i her tenure now (`duration`), m_i her own
    margin (or `monthly_margin`), S the Kaplan-Meier curve of all customers with the constant-hazard tail of
    `clv_from_survival` (same timing: margin at each month end survived; same `entry` handling). Tenures are
    rounded to 1/`steps_per_month` month. The CI is a percentile bootstrap over customers re-estimating S, with
    the current portfolio held fixed (its composition is known; the survival curve is what is uncertain).
    `current`: value these customers instead (e.g. those active at an earlier `as_of`), at their `tenure` column
    and own `margin_column`; S is still estimated from `df`.
    Reference: Fader & Hardie (2010) for the residual-value logic ("DERL") in a contractual setting.
    """
    df = df.reset_index(drop=True)
    t = df[duration].to_numpy(float)
    e = df[event].to_numpy(bool)
    a = df[entry].fillna(0.0).to_numpy(float) if entry else np.zeros_like(t)
    if monthly_margin is None and margin_column not in df.columns:
        raise KeyError(f"no {margin_column!r} column: pass monthly_margin")
    if current is None:
        now = df.loc[~e].rename(columns={duration: "_tenure"})
    else:
        now = current.reset_index(drop=True).rename(columns={tenure: "_tenure"})
    if now.empty:
        raise ValueError("no current customers to value")
    ages = now["_tenure"].to_numpy(float)
    margin = (np.full(len(now), float(monthly_margin)) if monthly_margin is not None
              else now[margin_column].to_numpy(float))
    notes = []
    if np.isnan(margin).any():
        notes.append(f"{int(np.isnan(margin).sum())} current customers without margin count as 0")
        margin = np.nan_to_num(margin)
    k = np.rint(ages * steps_per_month).astype(int)
    grid = np.arange(k.max() + steps_per_month * horizon_months + 1) / steps_per_month
    ahead = steps_per_month * np.arange(1, horizon_months + 1)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, horizon_months + 1, dtype=float)
    levels, inverse = np.unique(k, return_inverse=True)
    weight = np.bincount(inverse, weights=margin, minlength=len(levels))

    def conditional(surv: np.ndarray) -> np.ndarray:
        """S(a + t) / S(a) for each distinct tenure level (rows) and month ahead t (columns)."""
        base = surv[levels][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(base > 0, surv[levels[:, None] + ahead[None, :]] / base, 0.0)

    surv, _, _ = _survival_with_tail(t, e, grid, min_at_risk, entry=a)
    cond = conditional(surv)
    values = margin * (cond @ discount)[inverse]
    n_cur = len(values)
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, len(t), len(t))
        s_b, _, _ = _survival_with_tail(t[idx], e[idx], grid, min_at_risk, entry=a[idx])
        boot[b] = weight @ (conditional(s_b) @ discount) / n_cur
    lo, hi = np.percentile(boot, [2.5, 97.5]) if n_boot else (np.nan, np.nan)
    mean = float(values.mean())
    label = f"over the next {horizon_months} months, discounted {monthly_discount_rate:.1%}/month"
    note = "Kaplan-Meier survival conditional on tenure reached, constant-hazard tail; bootstrap over the curve"
    out = pd.DataFrame({"tenure_months": ages, "monthly_margin": margin, "residual_clv": values})
    if "customer_id" in now.columns:
        out.insert(0, "customer_id", now["customer_id"].to_numpy())
    return ResidualCLVResult(
        customers=out,
        mean=Estimate(mean, currency, f"Residual CLV per current customer {label}", float(lo), float(hi),
                      n=n_cur, note=note),
        total=Estimate(mean * n_cur, currency, f"Residual CLV of the current customer base {label}",
                       float(lo) * n_cur, float(hi) * n_cur, n=n_cur, note=note),
        stream=(weight @ cond) / n_cur,
        horizon_months=horizon_months,
        monthly_discount_rate=monthly_discount_rate,
        currency=currency,
        notes=notes,
    )
