"""Retention vs acquisition: is retaining a customer really several times cheaper than acquiring one (the
oft-quoted "7x"), what uplift a retention contact needs to pay back, and what +5 points of retention are worth.

Every money amount is in the data's currency (`currency` labels it); rates are per month unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from cxresearch.economics.clv import CLVResult, clv_from_survival, geometric_clv
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, wilson_interval


@dataclass
class RetentionEconomics:
    """Acquisition vs retention cost, the "Nx cheaper" claim, break-even save rates and uplift, +5pp retention.

    What rests on assumptions is kept apart from what was measured: `cost_ratio` is the ratio at the assumed
    (most likely) inputs, with a 95% CI only when the save rate was measured; `cost_ratio_range` in
    `cxresearch.economics.sensitivity` spans the assumed inputs' plausible values.
    """

    acquisition_cost: Estimate  # per acquired customer
    acquisition_by_channel: pd.DataFrame  # channel, acquisition_cost, ci_low, ci_high, n
    retention_cost_per_save: Estimate  # per customer saved
    cost_ratio: Estimate  # acquisition cost / retention cost per save
    claim_multiple: float
    claim_verdict: str  # supported | contradicted | inconclusive (measured save rate) | ASSUMED | IMPOSSIBLE
    clv: Estimate  # value of a saved customer used for the break-even
    break_even_uplift: Estimate  # % of contacted customers who must be saved for a contact to pay back
    annual_retention: Estimate  # %, constant-hazard estimate
    retention_uplift_pp: float
    clv_change_pct: Estimate  # % change in CLV per customer from +uplift pp annual retention
    portfolio_clv_change: Estimate  # currency, over the active portfolio
    break_even_save_rate: Estimate  # %: save rate at which saving a customer costs what acquiring one does
    claim_save_rate: Estimate  # %: save rate at which acquiring costs `claim_multiple` times saving
    save_rate: float  # share: measured, or the most likely assumed value
    save_rate_range: tuple[float, float] | None  # plausible values of an assumed save rate, or its measured 95% CI
    save_rate_measured: bool
    contact_cost: float  # currency per contacted customer, without the incentive
    incentive_cost: float  # currency per contacted customer
    acquisition_ci: tuple[float, float] | None  # 95% CI of a measured acquisition cost; None when given
    notes: list[str] = field(default_factory=list)

    @property
    def cost_per_contact(self) -> float:
        """Currency spent per contacted customer: the contact and the incentive."""
        return self.contact_cost + self.incentive_cost

    def to_estimates(self) -> dict[str, Estimate]:
        """All headline numbers keyed by name."""
        return {
            "acquisition_cost": self.acquisition_cost,
            "retention_cost_per_save": self.retention_cost_per_save,
            "acquisition_to_retention_cost_ratio": self.cost_ratio,
            "clv_per_customer": self.clv,
            "break_even_uplift": self.break_even_uplift,
            "break_even_save_rate": self.break_even_save_rate,
            "claim_save_rate": self.claim_save_rate,
            "annual_retention": self.annual_retention,
            "clv_change_pct_from_retention_uplift": self.clv_change_pct,
            "portfolio_clv_change_from_retention_uplift": self.portfolio_clv_change,
        }

    def summary(self) -> pd.DataFrame:
        """One row per headline number: value, unit, 95% CI (only where data gave one), n, label."""
        rows = [
            {"key": k, "value": v.value, "unit": v.unit, "ci_low": v.ci_low, "ci_high": v.ci_high, "n": v.n,
             "label": v.label}
            for k, v in self.to_estimates().items()
        ]
        return pd.DataFrame(rows).set_index("key")


#: Verdicts on the "Nx cheaper" claim that no data decided: the save rate was assumed, or no save rate is enough.
ASSUMED = "rests on the assumed save rate"
IMPOSSIBLE = "not possible at these costs"


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
    incentive_cost: float = 0.0,
    save_rate_range: tuple[float, float] | None = None,
) -> RetentionEconomics:
    """Is retaining a customer `claim_multiple` times cheaper than acquiring one, and what retention pays back?

    Formulas (c = cost per contacted customer: `retention_cost_per_contact` + `incentive_cost`; a = save rate;
    CAC = acquisition cost per customer):

    - CAC: mean of `acquisition_cost` (t-interval), overall and by `acquisition_channel`; else the parameter
      (assumed, no CI).
    - Retention cost per saved customer = c / a. `a` should be the *incremental* save rate (customers kept who
      would otherwise have left, measured against a control group); an offer-acceptance rate overstates saves
      and so flatters retention. If `retention_contacted` is given, `a` is measured on that many contacts (Wilson
      CI); otherwise it is an assumption whose plausible values are `save_rate_range` (default 0.5a to 1.5a).
    - Ratio R = CAC / (c / a) = CAC * a / c. With a measured save rate, a 95% CI by the delta method on log R,
      se(log R)^2 = (se(CAC)/CAC)^2 + (1 - a) / (n_contacted * a), and the claim "retention is Nx cheaper" is
      supported if the CI's lower limit is >= N, contradicted if its upper limit is < N, inconclusive otherwise.
      With an assumed save rate R has no CI (its spread over the assumptions is `sensitivity.cost_ratio_range`)
      and the claim gets no verdict: it rests on the save rate (`ASSUMED`).
    - Break-even save rates, solved from R(a) = 1 and R(a) = N: a_1 = c / CAC (saving a customer costs what
      acquiring one does) and a_N = N c / CAC (the claim holds). If a_N > 100% no save rate makes the claim true
      at these costs (`IMPOSSIBLE`).
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
    if retention_cost_per_contact <= 0 or incentive_cost < 0:
        raise ValueError("retention_cost_per_contact must be positive and incentive_cost not negative")
    notes: list[str] = []
    cac, se_cac, by_channel = _acquisition_cost(df, acquisition_cost, currency, notes)
    measured_cac = cac.ci_low is not None
    a = float(retention_acceptance_rate)
    c = float(retention_cost_per_contact) + float(incentive_cost)
    cost_text = (f"{c:,.2f} per contacted customer (assumed: contact {retention_cost_per_contact:,.2f}"
                 + (f" + incentive {incentive_cost:,.2f}" if incentive_cost else "") + ")")

    measured = bool(retention_contacted)
    if measured:
        a_lo, a_hi = wilson_interval(a, retention_contacted)
        save_note = f"save rate {a:.1%} measured on {retention_contacted} contacts (Wilson 95% CI)"
        var_log_a = (1 - a) / (retention_contacted * a)
    else:
        a_lo, a_hi = save_rate_range or (0.5 * a, min(1.5 * a, 1.0))
        if not a_lo <= a <= a_hi:
            raise ValueError(f"save_rate_range {a_lo:g}-{a_hi:g} must contain the save rate {a:g}")
        save_note = f"save rate {a:.0%} assumed (plausible {a_lo:.0%}-{a_hi:.0%})"
        notes.append(f"The {save_note}: no campaign with a control group has measured it in this data, so every "
                     "figure that divides by it rests on that assumption.")
    per_save = Estimate(
        value=c / a, unit=currency, label="Retention cost per saved customer",
        ci_low=c / a_hi if measured else None, ci_high=c / a_lo if measured else None,
        n=retention_contacted, note=f"{cost_text} / {save_note}",
    )

    ratio_value = cac.value * a / c
    se_log_r = np.sqrt((se_cac / cac.value) ** 2 + var_log_a) if measured else 0.0
    ratio = Estimate(
        value=ratio_value, unit="ratio", label="Acquisition cost / retention cost per saved customer",
        ci_low=ratio_value * np.exp(-Z95 * se_log_r) if measured else None,
        ci_high=ratio_value * np.exp(Z95 * se_log_r) if measured else None,
        note=("delta method on log ratio; contact cost assumed" if measured else
              f"rests on assumptions, not a measurement: at the {save_note} and {cost_text}; its "
              "range over the assumptions is recorded as acquisition_to_retention_cost_ratio_assumed_low/_high"),
    )
    cac_text = f"acquisition cost {cac.value:,.2f} ({'measured' if measured_cac else 'assumed'})"
    break_even, claim_rate = _save_rate_estimate(c / cac.value, 1.0, cost_text, cac_text), _save_rate_estimate(
        claim_multiple * c / cac.value, claim_multiple, cost_text, cac_text)
    verdict = _claim_verdict(ratio, claim_multiple, claim_rate.value / 100, measured)
    notes.append(_break_even_note(break_even.value, cost_text, cac_text))
    notes.append(_claim_note(claim_multiple, claim_rate.value, verdict, ratio, (a_lo, a_hi)))

    value = _clv_estimate(df, clv, monthly_discount_rate, horizon_months, duration, event, margin_column, n_boot,
                          seed, currency, entry)
    uplift = Estimate(
        value=100 * c / value.value, unit="%", label="Break-even retention uplift (share of contacted customers saved)",
        ci_low=100 * c / value.ci_high if value.ci_high is not None else None,
        ci_high=100 * c / value.ci_low if value.ci_low is not None and value.ci_low > 0 else None,
        note=f"{cost_text} / value of a saved customer {value.value:,.2f}; the CI is the value's only",
    )

    annual, change_pct, portfolio = _retention_uplift(
        df, retention_uplift_pp, monthly_discount_rate, horizon_months, duration, event, margin_column, currency,
        notes, entry,
    )
    return RetentionEconomics(
        acquisition_cost=cac, acquisition_by_channel=by_channel, retention_cost_per_save=per_save,
        cost_ratio=ratio, claim_multiple=claim_multiple, claim_verdict=verdict, clv=value,
        break_even_uplift=uplift, annual_retention=annual, retention_uplift_pp=retention_uplift_pp,
        clv_change_pct=change_pct, portfolio_clv_change=portfolio, break_even_save_rate=break_even,
        claim_save_rate=claim_rate, save_rate=a, save_rate_range=(a_lo, a_hi), save_rate_measured=measured,
        contact_cost=float(retention_cost_per_contact), incentive_cost=float(incentive_cost),
        acquisition_ci=(cac.ci_low, cac.ci_high) if measured_cac else None, notes=notes,
    )


def _save_rate_estimate(share: float, multiple: float, cost_text: str, cac_text: str) -> Estimate:
    """The save rate (%) at which acquiring a customer costs `multiple` times saving one (no CI: it is a threshold
    computed from an assumed contact cost)."""
    label = ("Break-even save rate: retention cheaper than acquisition above it" if multiple == 1 else
             f"Save rate at which retention is {multiple:g}x cheaper than acquisition")
    return Estimate(100 * share, "%", label, note=f"{multiple:g} x {cost_text} / {cac_text}")


def _break_even_note(pct: float, cost_text: str, cac_text: str) -> str:
    """'Retention is cheaper than acquisition if more than X% of contacted at-risk customers stay ...'."""
    if pct > 100:
        return (f"Saving a customer costs more than acquiring one whatever the save rate ({cost_text}, {cac_text}): "
                f"it would take {pct:.0f}% of contacted customers staying.")
    return (f"Retention is cheaper than acquisition if more than {pct:.1f}% of contacted at-risk customers stay "
            f"because of the contact ({cost_text}, {cac_text}).")


def _claim_verdict(ratio: Estimate, multiple: float, claim_rate: float, measured: bool) -> str:
    """The "Nx cheaper" verdict: from the CI only when the save rate was measured (see the docstring above)."""
    if claim_rate > 1:
        return IMPOSSIBLE
    if not measured:
        return ASSUMED
    if ratio.ci_low >= multiple:
        return "supported"
    return "contradicted" if ratio.ci_high < multiple else "inconclusive"


def _claim_note(multiple: float, claim_pct: float, verdict: str, ratio: Estimate, plausible: tuple[float, float]
                ) -> str:
    """The claim's verdict as a sentence that names the save rate it needs."""
    claim = f"'retention is {multiple:g}x cheaper than acquisition'"
    if verdict == IMPOSSIBLE:
        return (f"{claim} would need a save rate of {claim_pct:.0f}%, more than every contacted customer: "
                f"{verdict}.")
    if verdict == ASSUMED:
        where = ("inside" if plausible[0] <= claim_pct / 100 <= plausible[1] else
                 "above" if claim_pct / 100 > plausible[1] else "below")
        return (f"{claim} holds if more than {claim_pct:.1f}% of contacted at-risk customers stay because of the "
                f"contact ({where} the assumed {plausible[0]:.0%}-{plausible[1]:.0%}); with the save rate assumed, "
                "the data neither supports nor contradicts it.")
    return f"{claim}: {verdict} (ratio {ratio.format(1)}; it needs a save rate of {claim_pct:.1f}%)."


def _acquisition_cost(
    df: pd.DataFrame, parameter: float | None, currency: str, notes: list[str]
) -> tuple[Estimate, float, pd.DataFrame]:
    """CAC (currency per customer) with its standard error and t-interval, else the parameter; and by channel."""
    empty = pd.DataFrame(columns=["channel", "acquisition_cost", "ci_low", "ci_high", "n"])
    costs = df["acquisition_cost"].dropna() if "acquisition_cost" in df.columns else pd.Series(dtype=float)
    if costs.empty:
        if parameter is None:
            raise ValueError("no acquisition_cost column in the data: pass acquisition_cost")
        notes.append("acquisition cost per customer from the parameter (assumed: no data, no CI)")
        return Estimate(float(parameter), currency, "Acquisition cost per customer",
                        note="assumed (the acquisition_cost parameter): the data has none"), 0.0, empty
    if parameter is not None:
        notes.append("acquisition_cost parameter ignored: the data has an acquisition_cost column")
    if len(costs) < len(df):
        notes.append(f"{len(df) - len(costs)} customers without acquisition cost left out of the mean")
    mean, lo, hi = _mean_ci(costs.to_numpy(float))
    lo, hi = (lo, hi) if np.isfinite(lo) else (None, None)
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
        before = geometric_clv(r ** (1 / 12), m, d, horizon)
        after = geometric_clv(min(r + uplift_pp / 100, 1.0) ** (1 / 12), m, d, horizon)
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


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    """Mean with its 95% t-interval (NaN ends for fewer than two values); the lower end of a mean of non-negative
    values (costs) is cut at 0, the smallest such a mean can be."""
    mean = float(np.mean(x))
    if len(x) < 2:
        return mean, np.nan, np.nan
    half = _t975(len(x)) * float(np.std(x, ddof=1)) / np.sqrt(len(x))
    low = max(mean - half, 0.0) if np.min(x) >= 0 else mean - half
    return mean, low, mean + half


def _t975(n: int | None) -> float:
    """97.5% quantile of Student's t with n - 1 degrees of freedom (normal if n unknown)."""
    return float(stats.t.ppf(0.975, n - 1)) if n and n > 1 else Z95


