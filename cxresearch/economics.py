"""Customer economics: lifetime value from survival curves, and whether retaining customers is cheaper than
acquiring them (the oft-quoted "7x"), with the retention uplift a campaign needs to pay back.

Every money amount is in the data's currency (`currency` labels it); rates are per month unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from scipy import stats

from cxresearch.results import Estimate
from cxresearch.survival import Z95, _at_risk_counts, _split_groups

#: Months of follow-up before the Kaplan-Meier cut-off used to fit the constant tail hazard.
TAIL_WINDOW_MONTHS = 12.0


# --------------------------------------------------------------------------------------------------------------
# CLV from survival
# --------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------
# Retention vs acquisition
# --------------------------------------------------------------------------------------------------------------


@dataclass
class RetentionEconomics:
    """Acquisition vs retention cost, the "Nx cheaper" claim tested, break-even uplift, +5pp retention effect."""

    acquisition_cost: Estimate  # per acquired customer
    acquisition_by_channel: pd.DataFrame  # channel, acquisition_cost, ci_low, ci_high, n
    retention_cost_per_save: Estimate  # per customer saved
    cost_ratio: Estimate  # acquisition cost / retention cost per save
    claim_multiple: float
    claim_verdict: str  # supported | contradicted | inconclusive
    clv: Estimate  # value of a saved customer used for the break-even
    break_even_uplift: Estimate  # % of contacted customers who must be saved
    annual_retention: Estimate  # %, constant-hazard estimate
    retention_uplift_pp: float
    clv_change_pct: Estimate  # % change in CLV per customer from +uplift pp annual retention
    portfolio_clv_change: Estimate  # currency, over the active portfolio
    notes: list[str] = field(default_factory=list)

    def to_estimates(self) -> dict[str, Estimate]:
        """All headline numbers keyed by name."""
        return {
            "acquisition_cost": self.acquisition_cost,
            "retention_cost_per_save": self.retention_cost_per_save,
            "acquisition_to_retention_cost_ratio": self.cost_ratio,
            "clv_per_customer": self.clv,
            "break_even_uplift": self.break_even_uplift,
            "annual_retention": self.annual_retention,
            "clv_change_pct_from_retention_uplift": self.clv_change_pct,
            "portfolio_clv_change_from_retention_uplift": self.portfolio_clv_change,
        }

    def summary(self) -> pd.DataFrame:
        """One row per headline number: value, unit, 95% CI, n, label."""
        rows = [
            {"key": k, "value": v.value, "unit": v.unit, "ci_low": v.ci_low, "ci_high": v.ci_high, "n": v.n,
             "label": v.label}
            for k, v in self.to_estimates().items()
        ]
        return pd.DataFrame(rows).set_index("key")


def retention_vs_acquisition(
    df: pd.DataFrame,
    retention_cost_per_contact: float,
    retention_acceptance_rate: float,
    acquisition_cost: float | None = None,
    retention_contacted: int | None = None,
    clv: Estimate | CLVResult | None = None,
    claim_multiple: float = 7.0,
    retention_uplift_pp: float = 5.0,
    monthly_discount_rate: float = 0.01,
    horizon_months: int = 60,
    duration: str = "duration_months",
    event: str = "event",
    margin_column: str = "monthly_margin",
    n_boot: int = 200,
    seed: int = 0,
    currency: str = "currency",
    entry: str | None = None,
) -> RetentionEconomics:
    """Is retaining a customer `claim_multiple` times cheaper than acquiring one, and what retention pays back?

    Formulas (c = cost per contacted customer, a = save rate, CAC = acquisition cost per customer):

    - CAC: mean of `acquisition_cost` (t-interval), overall and by `acquisition_channel`; else the parameter
      (no CI).
    - Retention cost per saved customer = c / a. `a` should be the *incremental* save rate (customers kept who
      would otherwise have left, measured against a control group); an offer-acceptance rate overstates saves
      and so flatters retention. If `retention_contacted` is given, `a` is treated as estimated from that many
      contacts (Wilson CI); otherwise it is taken as known.
    - Ratio R = CAC / (c / a) = CAC * a / c, CI by the delta method on log R:
      se(log R)^2 = (se(CAC)/CAC)^2 + (1 - a) / (n_contacted * a). The claim "retention is Nx cheaper" is
      supported if the CI's lower limit is >= N, contradicted if its upper limit is < N, inconclusive otherwise.
    - Break-even uplift u* = c / V: a campaign pays back when the share of contacted customers it saves times the
      value V of a saved customer covers the contact cost. V = the CLV of a new customer (`clv`, else
      `clv_from_survival` on `df`), an approximation to the remaining value of a customer at risk.
    - +`retention_uplift_pp` points of annual retention, constant-hazard approximation: lambda = churn events /
      customer-months (exponential MLE, CI exp(log lambda +/- 1.96 / sqrt(events))), annual retention
      r = exp(-12 lambda), monthly q = r^(1/12), CLV(q) = m * sum_{t=1..H} q^t / (1 + d)^t. Effect =
      CLV(q') / CLV(q) - 1 with r' = min(r + uplift, 1); portfolio effect = (CLV(q') - CLV(q)) * active customers
      (the constant hazard is memoryless, so an active customer's remaining value equals a new one's).
    - `entry`: left-truncation times (months since signup); the default CLV uses them (see `clv_from_survival`)
      and the constant hazard's customer-months count only time after entry (duration - entry).
      Reichheld & Sasser (1990, HBR "Zero defections") is the source of the "+5% retention" folklore.
    """
    if not 0 < retention_acceptance_rate <= 1:
        raise ValueError("retention_acceptance_rate must be in (0, 1]")
    if retention_cost_per_contact <= 0:
        raise ValueError("retention_cost_per_contact must be positive")
    notes: list[str] = []
    cac, se_cac, by_channel = _acquisition_cost(df, acquisition_cost, currency, notes)
    c, a = float(retention_cost_per_contact), float(retention_acceptance_rate)

    if retention_contacted:
        a_lo, a_hi = _wilson(a, retention_contacted)
        save_note = f"save rate {a:.1%} from {retention_contacted} contacted (Wilson 95% CI)"
        var_log_a = (1 - a) / (retention_contacted * a)
    else:
        a_lo = a_hi = a
        save_note = f"save rate {a:.1%} taken as known"
        var_log_a = 0.0
    per_save = Estimate(
        value=c / a, unit=currency, label="Retention cost per saved customer",
        ci_low=c / a_hi if retention_contacted else None, ci_high=c / a_lo if retention_contacted else None,
        n=retention_contacted, note=f"{c:,.2f} per contact / {save_note}",
    )

    ratio_value = cac.value * a / c
    se_log_r = np.sqrt((se_cac / cac.value) ** 2 + var_log_a)
    has_ci = se_log_r > 0
    ratio = Estimate(
        value=ratio_value, unit="ratio", label="Acquisition cost / retention cost per saved customer",
        ci_low=ratio_value * np.exp(-Z95 * se_log_r) if has_ci else None,
        ci_high=ratio_value * np.exp(Z95 * se_log_r) if has_ci else None,
        note="delta method on log ratio" if has_ci else "no uncertainty: inputs taken as known",
    )
    lo, hi = (ratio.ci_low, ratio.ci_high) if has_ci else (ratio_value, ratio_value)
    verdict = "supported" if lo >= claim_multiple else "contradicted" if hi < claim_multiple else "inconclusive"
    notes.append(
        f"'retention is {claim_multiple:g}x cheaper than acquisition': {verdict} "
        f"(ratio {ratio.format(1)})"
    )

    value = _clv_estimate(df, clv, monthly_discount_rate, horizon_months, duration, event, margin_column, n_boot,
                          seed, currency, entry)
    break_even = Estimate(
        value=100 * c / value.value, unit="%", label="Break-even retention uplift (share of contacted customers saved)",
        ci_low=100 * c / value.ci_high if value.ci_high is not None else None,
        ci_high=100 * c / value.ci_low if value.ci_low is not None and value.ci_low > 0 else None,
        note=f"contact cost {c:,.2f} / value of a saved customer {value.value:,.2f}",
    )

    annual, change_pct, portfolio = _retention_uplift(
        df, retention_uplift_pp, monthly_discount_rate, horizon_months, duration, event, margin_column, currency,
        notes, entry,
    )
    return RetentionEconomics(
        acquisition_cost=cac, acquisition_by_channel=by_channel, retention_cost_per_save=per_save,
        cost_ratio=ratio, claim_multiple=claim_multiple, claim_verdict=verdict, clv=value,
        break_even_uplift=break_even, annual_retention=annual, retention_uplift_pp=retention_uplift_pp,
        clv_change_pct=change_pct, portfolio_clv_change=portfolio, notes=notes,
    )


def _acquisition_cost(
    df: pd.DataFrame, parameter: float | None, currency: str, notes: list[str]
) -> tuple[Estimate, float, pd.DataFrame]:
    """CAC (currency per customer) with its standard error and t-interval, else the parameter; and by channel."""
    empty = pd.DataFrame(columns=["channel", "acquisition_cost", "ci_low", "ci_high", "n"])
    costs = df["acquisition_cost"].dropna() if "acquisition_cost" in df.columns else pd.Series(dtype=float)
    if costs.empty:
        if parameter is None:
            raise ValueError("no acquisition_cost column in the data: pass acquisition_cost")
        notes.append("acquisition cost per customer from the parameter (no data, no CI)")
        return Estimate(float(parameter), currency, "Acquisition cost per customer", note="given"), 0.0, empty
    if parameter is not None:
        notes.append("acquisition_cost parameter ignored: the data has an acquisition_cost column")
    if len(costs) < len(df):
        notes.append(f"{len(df) - len(costs)} customers without acquisition cost left out of the mean")
    mean, lo, hi = _mean_ci(costs.to_numpy(float))
    cac = Estimate(mean, currency, "Acquisition cost per customer", lo, hi, n=len(costs), note="mean, t-interval")
    se = float(np.std(costs, ddof=1) / np.sqrt(len(costs))) if len(costs) > 1 else 0.0
    if "acquisition_channel" not in df.columns:
        return cac, se, empty
    rows = []
    for channel, sub in df.loc[costs.index].groupby("acquisition_channel"):
        m, l, h = _mean_ci(sub["acquisition_cost"].to_numpy(float))
        rows.append({"channel": str(channel), "acquisition_cost": m, "ci_low": l, "ci_high": h, "n": len(sub)})
    return cac, se, pd.DataFrame(rows)


def _clv_estimate(
    df: pd.DataFrame, clv: Estimate | CLVResult | None, d: float, horizon: int, duration: str, event: str,
    margin_column: str, n_boot: int, seed: int, currency: str, entry: str | None = None,
) -> Estimate:
    """Value of one saved customer (currency): the given CLV, else the overall KM-based CLV of `df`."""
    if isinstance(clv, Estimate):
        return clv
    if clv is None:
        clv = clv_from_survival(df, None, d, horizon, None, n_boot, seed, duration, event, margin_column,
                                currency=currency, entry=entry)
    if len(clv.table) != 1:
        raise ValueError("pass an overall CLVResult (group=None) or an Estimate as clv")
    return next(iter(clv.to_estimates().values()))


def _retention_uplift(
    df: pd.DataFrame, uplift_pp: float, d: float, horizon: int, duration: str, event: str, margin_column: str,
    currency: str, notes: list[str], entry: str | None = None,
) -> tuple[Estimate, Estimate, Estimate]:
    """Annual retention (constant hazard) and the CLV effect of +`uplift_pp` points of it (see the docstring above)."""
    t = df[duration].to_numpy(float)
    exposure = t - df[entry].fillna(0.0).to_numpy(float) if entry else t
    events = int(df[event].astype(bool).sum())
    if events == 0:
        raise ValueError("no churn events: the constant-hazard retention rate is not estimable")
    lam = events / np.clip(exposure, 0.0, None).sum()
    lam_lo, lam_hi = lam * np.exp(-Z95 / np.sqrt(events)), lam * np.exp(Z95 / np.sqrt(events))
    m = float(df[margin_column].mean())
    n_active = int(df["active"].sum()) if "active" in df.columns else int((~df[event].astype(bool)).sum())

    def effect(rate: float) -> tuple[float, float, float]:
        r = np.exp(-12 * rate)
        before = _geometric_clv(r, m, d, horizon)
        after = _geometric_clv(min(r + uplift_pp / 100, 1.0), m, d, horizon)
        return r, 100 * (after / before - 1), (after - before) * n_active

    r, pct, total = effect(lam)
    # the effect need not be monotone in lambda over a finite horizon: scan the hazard's CI instead of its ends
    scan = np.array([effect(x) for x in np.geomspace(lam_lo, lam_hi, 41)])
    notes.append(
        f"+{uplift_pp:g} pp annual retention evaluated under a constant monthly churn hazard "
        f"({lam:.4f}/month, {events} events"
        + ("; customer-months after entry only" if entry else "")
        + "); real hazards usually fall with tenure"
    )
    annual = Estimate(100 * r, "%", "Annual retention (constant-hazard estimate)", 100 * scan[:, 0].min(),
                      100 * scan[:, 0].max(),
                      n=len(df), note="exp(-12 * events / customer-months)"
                      + (" (after entry)" if entry else ""))
    pct_est = Estimate(pct, "%", f"Change in CLV per customer from +{uplift_pp:g} pp annual retention",
                       scan[:, 1].min(), scan[:, 1].max(), n=len(df),
                       note="constant-hazard approximation; CI from the hazard's uncertainty only")
    portfolio = Estimate(total, currency, f"Change in portfolio CLV from +{uplift_pp:g} pp annual retention",
                         scan[:, 2].min(), scan[:, 2].max(), n=n_active,
                         note=f"{n_active} active customers x change per customer; constant-hazard approximation; "
                         "CI from the hazard's uncertainty only")
    return annual, pct_est, portfolio


def _geometric_clv(annual_retention: float, margin: float, d: float, horizon: int) -> float:
    """CLV (currency) under constant monthly retention q = r^(1/12): m * sum_{t=1..H} (q / (1 + d))^t."""
    x = annual_retention ** (1 / 12) / (1 + d)
    t = np.arange(1, horizon + 1)
    return float(margin * np.sum(x**t))


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    """Mean with its 95% t-interval."""
    mean = float(np.mean(x))
    if len(x) < 2:
        return mean, np.nan, np.nan
    half = _t975(len(x)) * float(np.std(x, ddof=1)) / np.sqrt(len(x))
    return mean, mean - half, mean + half


def _t975(n: int | None) -> float:
    """97.5% quantile of Student's t with n - 1 degrees of freedom (normal if n unknown)."""
    return float(stats.t.ppf(0.975, n - 1)) if n and n > 1 else Z95


def _wilson(p: float, n: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion p observed on n trials (Wilson 1927)."""
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / denom
    return centre - half, centre + half

