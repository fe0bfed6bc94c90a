"""Which tail extends the survival curve beyond the observed horizon, chosen by how well it extrapolates.

A lifetime value counts months beyond the last one the data observes with enough customers at risk (T_c). The
shape assumed there (a constant hazard, a Weibull, log-normal or log-logistic curve) is an extrapolation, and a
good fit to the observed months (AIC) does not make a good extrapolation (Latimer 2013, Med Decis Making
33:743-754). So each candidate is backtested out of time: the data are cut at T_cut (about two thirds of T_c;
churn after T_cut is censored, customers entering after it dropped), each tail is fitted on what was known by
T_cut, and its conditional survival S(t) / S(T_cut) over (T_cut, T_c] is compared with what the full data's
Kaplan-Meier curve (with left truncation) shows there. The error measure is the restricted mean: the expected
months active within (T_cut, T_c] of a customer still active at T_cut, predicted minus observed (months and %),
beside the largest and the mean absolute gap between the curves. The constant hazard, the tail that assumes least
about the shape, is the default; a parametric tail with a smaller restricted-mean error replaces it only when its
error is smaller by more than 1.96 standard errors of the observed months (a bootstrap of the Kaplan-Meier
curve): near T_c few customers are at risk, and a backtest must not pick a shape by noise. The constant hazard
is also kept when the backtest cannot run.

The constant hazard is fitted on the last `TAIL_WINDOW_MONTHS` before the cut-off; the parametric tails on the
whole curve (lifelines AFT fits of `cxresearch.survival.parametric` on the full data, refitted on the cut data and
in bootstrap resamples by `tail_models.fit_tail`) and used conditional on survival to T_c.
AIC is on the full data; the constant hazard's AIC is that of a constant hazard over the whole curve (an
exponential, nested in the Weibull).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.economics.survival_curve import TAIL_WINDOW_MONTHS, SurvivalCases, Tail, resample_counts
from cxresearch.economics.tail_models import (
    FAMILIES,
    LABELS,
    MIN_TAIL_EVENTS,
    constant_hazard,
    fit_tail,
    log_survival,
    theta_from_lifelines,
)
from cxresearch.errors import NotEstimableError
from cxresearch.stats.intervals import Z95
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.parametric import AFTComparison, fit_aft

#: Share of T_c where the backtest cuts the data.
BACKTEST_SHARE = 2 / 3
#: The backtest's columns: restricted mean months in (T_cut, T_c] predicted and observed, their difference
#: (months, %), and the largest and mean absolute gap between the survival curves (fractions).
ERRORS = ["rmst_predicted", "rmst_observed", "error_months", "error_pct", "max_abs_error", "mean_abs_error",
          "observed_se"]
#: Bootstrap resamples of the Kaplan-Meier curve for the observed months' standard error.
SE_RESAMPLES = 100
#: Shortest T_c (months) a backtest runs on: a constant hazard needs its 12-month window before T_cut.
MIN_BACKTEST_MONTHS = 18.0


@dataclass
class TailChoice:
    """The candidate tails' AIC and backtest errors, the tail chosen and why."""

    table: pd.DataFrame  # per candidate: label, aic, delta_aic, rmst_predicted, rmst_observed, error_months,
    # error_pct, max_abs_error, mean_abs_error, chosen
    family: str
    reason: str
    t_c: float  # months
    t_cut: float | None  # months; None when no backtest ran
    start: np.ndarray | None = field(default=None, repr=False)  # full-data theta of a parametric choice
    notes: list[str] = field(default_factory=list)

    @property
    def tail(self) -> Tail:
        """The chosen tail, its refits warm-started at the full data's fit."""
        return Tail(self.family, self.start)

    def summary(self) -> pd.DataFrame:
        """Per candidate tail: AIC (full data) and the backtest's restricted-mean error (months, %) and largest
        and mean absolute survival gap (fractions); which one was chosen."""
        cols = ["label", "aic", "delta_aic", "error_months", "error_pct", "max_abs_error", "mean_abs_error", "chosen"]
        return self.table[cols].rename(columns={"label": "tail"}).set_index("tail")

    def _repr_html_(self) -> str:
        return f"<p>{self.reason}</p>" + self.summary().to_html(float_format=lambda x: f"{x:,.3f}")


def choose_tail(
    df: pd.DataFrame, tail: str = "auto", columns: LifetimeColumns = LIFETIMES, min_at_risk: int = 10
) -> TailChoice:
    """Backtest the candidate tails of the survival curve and choose one (see the module docstring).

    Parameters
    ----------
    df
        One row per customer (`features.lifetimes`).
    tail
        "auto" (the smallest backtest error), or one of `tail_models.FAMILIES` to use regardless (still backtested).
    columns
        The lifetime's columns: tenure (months), churn flag and delayed entry (months since signup).
    min_at_risk
        Customers still at risk where the Kaplan-Meier curve gives way to the tail (T_c).

    Returns
    -------
    TailChoice
        The comparison table, the chosen family and a one-sentence reason.
    """
    if tail != "auto" and tail not in FAMILIES:
        raise ValueError(f"unknown tail {tail!r}; use 'auto' or one of {FAMILIES}")
    duration, event, entry = columns.duration, columns.event, columns.entry
    t, e = df[duration].to_numpy(float), df[event].to_numpy(bool)
    a = df[entry].fillna(0.0).to_numpy(float) if entry else np.zeros_like(t)
    cases = SurvivalCases(t, e, a)
    t_c = cases.cut_off(np.ones(len(t)), min_at_risk)
    notes: list[str] = []
    fits = _aft_fits(df, columns, notes)
    table = pd.DataFrame({"label": [LABELS[f] for f in FAMILIES]}, index=pd.Index(FAMILIES, name="candidate"))
    followed = a < t if entry else np.ones(len(t), bool)  # the rows `fit_aft` keeps, so that the AICs compare
    table["aic"] = [_exponential_aic(t[followed], e[followed], a[followed]) if f == "constant" else
                    (float(fits.comparison.loc[f, "aic"]) if fits is not None and f in fits.fitters else np.nan)
                    for f in FAMILIES]
    table["delta_aic"] = table["aic"] - table["aic"].min()
    t_cut, why_not = _backtest_cut(t, e, a, t_c)
    starts = {f: theta_from_lifelines(f, fit) for f, fit in (fits.fitters.items() if fits is not None else ())}
    errors = _backtest(df, cases, t_cut, t_c, duration, event, entry, starts) if not why_not else None
    if errors is not None and errors["error_months"].isna().all():
        why_not = f"no tail could be fitted on the data cut at month {t_cut:.0f}"
    table = table.join(errors if errors is not None else pd.DataFrame(np.nan, index=table.index, columns=ERRORS))
    fitted = [f for f in FAMILIES if f == "constant" or f in starts]
    family = tail if tail != "auto" else ("constant" if why_not else _most_accurate(table.loc[fitted]))
    if family not in fitted:
        notes.append(f"a {LABELS[family]} tail could not be fitted on this data: constant hazard used instead")
        family = "constant"
    table["chosen"] = table.index == family
    start = starts.get(family)
    reason = _reason(table, family, t_c, t_cut, why_not, tail != "auto")
    return TailChoice(table.reset_index(), family, reason, t_c, None if why_not else t_cut, start, notes)


def _most_accurate(table: pd.DataFrame) -> str:
    """The parametric tail with the smallest backtest error if it beats the constant hazard's by more than 1.96
    standard errors of the observed months, else the constant hazard."""
    errors = table["error_months"].abs()
    best = str(errors.idxmin())
    noise = Z95 * float(table.loc["constant", "observed_se"])
    return best if errors["constant"] - errors[best] > noise else "constant"


def _aft_fits(df: pd.DataFrame, columns: LifetimeColumns, notes: list[str]) -> AFTComparison | None:
    """lifelines AFT fits of the parametric families (None, with a note, when none can be fitted)."""
    try:
        fits = fit_aft(df, columns=columns)
    except (NotEstimableError, ValueError) as err:
        notes.append(f"no parametric tail: {err}")
        return None
    notes.extend(fits.notes)
    return fits


def _exponential_aic(t: np.ndarray, e: np.ndarray, entry: np.ndarray) -> float:
    """AIC of one constant hazard over the whole curve: 2 - 2 (D log lambda - lambda E), lambda = D / E."""
    d, exposure = float(e.sum()), float(np.clip(t - entry, 0.0, None).sum())
    if d == 0 or exposure <= 0:
        return np.nan
    lam = d / exposure
    return 2.0 - 2.0 * (d * np.log(lam) - lam * exposure)


def _backtest_cut(t: np.ndarray, e: np.ndarray, entry: np.ndarray, t_c: float) -> tuple[float, str]:
    """T_cut (months) and, when the backtest cannot run, why (empty otherwise)."""
    t_cut = float(np.floor(BACKTEST_SHARE * t_c))
    if t_c < MIN_BACKTEST_MONTHS:
        return t_cut, (f"the survival curve is observed for only {t_c:.0f} months, too little history to hold "
                       f"some back and test how a tail extrapolates (a backtest needs {MIN_BACKTEST_MONTHS:.0f})")
    events = int((e & (t <= t_cut) & (entry < t_cut)).sum())
    if events < MIN_TAIL_EVENTS:
        return t_cut, (f"only {events} customers churned before month {t_cut:.0f}, too few to fit a tail on and "
                       f"test it against the months after (at least {MIN_TAIL_EVENTS} needed)")
    return t_cut, ""


def _backtest(
    df: pd.DataFrame, cases: SurvivalCases, t_cut: float, t_c: float, duration: str, event: str,
    entry: str | None, starts: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Per candidate: restricted mean months in (T_cut, T_c] predicted from the data cut at T_cut and observed in
    the full data, their difference (months, %), and the largest and mean absolute survival gap. The parametric
    families in `starts` are refitted on the cut data as a bootstrap resample refits them (`tail_models.fit_tail`,
    started from the full data's theta)."""
    kept = df[df[entry].fillna(0.0) < t_cut] if entry else df
    cut = kept.assign(**{duration: kept[duration].clip(upper=t_cut),
                         event: kept[event].astype(bool) & (kept[duration] <= t_cut)})
    grid = np.linspace(t_cut, t_c, 241)
    observed = cases.survival_at(np.ones(len(cases.t)), grid)
    observed = observed / observed[0]
    c = cut[duration].to_numpy(float)
    ce, ca = cut[event].to_numpy(bool), cut[entry].fillna(0.0).to_numpy(float) if entry else np.zeros(len(cut))
    lam = constant_hazard(c, ce, ca, np.ones(len(c)), t_cut - TAIL_WINDOW_MONTHS, t_cut)
    curves = {"constant": np.exp(-lam * (grid - t_cut))}
    counts = SurvivalCases(c, ce, ca).tail_counts(np.ones(len(c)))
    for family, theta_full in starts.items():
        theta = fit_tail(family, counts, theta_full)
        if theta is not None:
            curves[family] = np.exp(log_survival(family, theta, grid) - log_survival(family, theta, t_cut))
    rmst_observed = _conditional_rmst(cases, np.ones(len(cases.t)), t_cut, t_c)
    rng = np.random.default_rng(0)
    boot = [_conditional_rmst(cases, resample_counts(rng, len(cases.t)), t_cut, t_c) for _ in range(SE_RESAMPLES)]
    se = float(np.nanstd(boot, ddof=1))
    rows = {}
    for family, curve in curves.items():
        predicted = float(np.trapezoid(curve, grid))
        gap = np.abs(curve - observed)
        error = predicted - rmst_observed
        rows[family] = dict(zip(ERRORS, [predicted, rmst_observed, error, 100 * error / rmst_observed,
                                         float(gap.max()), float(gap.mean()), se]))
    return pd.DataFrame.from_dict(rows, orient="index").reindex(FAMILIES)


def _conditional_rmst(cases: SurvivalCases, w: np.ndarray, t_cut: float, t_c: float) -> float:
    """Months active within (t_cut, t_c] of a customer active at t_cut: the exact area under the Kaplan-Meier step
    function (case weights `w`) divided by S(t_cut)."""
    inside = cases.times[(cases.times > t_cut) & (cases.times < t_c)]
    knots = np.r_[t_cut, inside, t_c]
    s = cases.survival_at(w, knots[:-1])
    return float(np.sum(s * np.diff(knots)) / s[0]) if s[0] > 0 else np.nan


def _reason(table: pd.DataFrame, family: str, t_c: float, t_cut: float, why_not: str, requested: bool) -> str:
    """One sentence: which tail extends the curve beyond T_c, and the backtest (or its absence) behind it."""
    head = f"Beyond month {t_c:.0f} the CLV extends survival with a {LABELS[family]}" + (
        "" if family == "constant" else " tail")
    if why_not:
        window = f"the last {TAIL_WINDOW_MONTHS:g} months" if t_c > TAIL_WINDOW_MONTHS else "all observed months"
        return f"{head} (the churn rate of {window}): no backtest, as {why_not}."
    chosen = table.loc[family]
    parametric = table["error_months"].drop(index="constant").dropna()
    rival = "constant" if family != "constant" else (str(parametric.abs().idxmin()) if len(parametric) else "")
    against = ""
    if rival:
        against = f", against {_miss(table.loc[rival])} for a {LABELS[rival]}" + ("" if rival == "constant" else " tail")
        gain = abs(chosen["error_months"]) - abs(table.loc[rival, "error_months"])
        if family == "constant" and 0 < gain <= Z95 * chosen["observed_se"]:
            against += (f", a difference within the sampling error of the observed months "
                        f"(+/-{Z95 * chosen['observed_se']:.1f})")
    aic_best = str(table["aic"].idxmin())
    aic = "AIC agrees" if aic_best == family else f"AIC alone would have chosen the {LABELS[aic_best]}"
    how = " (as requested)" if requested else ""
    return (f"{head}{how}: in a backtest from month {t_cut:.0f} it missed the observed "
            f"{chosen['rmst_observed']:.1f} months to month {t_c:.0f} by {_miss(chosen)}{against}; {aic}.")


def _miss(row: pd.Series) -> str:
    """'0.3 (1%)': absolute restricted-mean error (months) and its share of the observed months."""
    months = abs(row["error_months"])
    return f"{months:.{1 if months >= 0.1 else 2}f} ({abs(row['error_pct']):.0f}%)"
