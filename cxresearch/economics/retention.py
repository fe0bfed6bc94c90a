"""Retention vs acquisition: is retaining a customer really several times cheaper than acquiring one (the
oft-quoted "7x"), what uplift a retention contact needs to pay back, and what +5 points of retention are worth.

Every money amount is in the data's currency (`currency` labels it); rates are per month unless said otherwise.

Formulas (c = cost per contacted customer: contact + incentive; a = save rate; CAC = acquisition cost per
customer):

- CAC: mean of `acquisition_cost` (t-interval), overall and by `acquisition_channel`; else the parameter
  (assumed, no CI).
- Retention cost per saved customer = c / a. `a` should be the *incremental* save rate (customers kept who
  would otherwise have left, measured against a control group); an offer-acceptance rate overstates saves
  and so flatters retention. If `campaign.contacted` is given, `a` is measured on that many contacts (Wilson
  CI); otherwise it is an assumption whose plausible values are `campaign.save_rate_range`. An assumed save rate
  applies to preventable churn only: with `campaign.preventable_share` s < 1 (moves and non-payment excluded,
  `economics.preventable`), a = save rate x s (and its range likewise); a measured one already counts them.
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
- `valuation.entry`: left-truncation times (months since signup); the default CLV uses them (see
  `clv_from_survival`) and the constant hazard's customer-months count only time after entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.economics.clv import CLVResult, clv_from_survival, geometric_clv
from cxresearch.economics.valuation import Valuation
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.intervals import Z95, mean_t_interval, wilson_interval


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


@dataclass(frozen=True)
class RetentionCampaign:
    """A retention contact's inputs: its costs (currency per contacted customer) and the share of contacted at-risk
    customers it saves (the incremental save rate), measured on `contacted` contacts or assumed.

    Parameters
    ----------
    cost_per_contact
        Cost of contacting one customer, without the incentive (currency, > 0).
    save_rate
        Share (0-1] of contacted customers kept who would otherwise have left: measured, or the most likely value.
    incentive_cost
        Incentive per contacted customer (currency, >= 0).
    contacted
        Contacts the save rate was measured on (Wilson CI); None or 0 when it is assumed.
    save_rate_range
        Plausible values of an assumed save rate (shares); default 0.5 to 1.5 times `save_rate`.
    preventable_share
        Share (0-1] of at-risk customers' churn a contact can prevent at all (exits other than moves and
        non-payment, `economics.preventable`); an assumed save rate applies to that part only.
    save_rate_ci
        95% CI of a measured save rate when it comes from a randomised holdout (`experiments.save_rate`); None: a
        Wilson interval on `contacted`.
    """

    cost_per_contact: float
    save_rate: float
    incentive_cost: float = 0.0
    contacted: int | None = None
    save_rate_range: tuple[float, float] | None = None
    preventable_share: float = 1.0
    save_rate_ci: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not 0 < self.save_rate <= 1:
            raise ValueError(f"the save rate must be in (0, 1], not {self.save_rate:g}")
        if not 0 < self.preventable_share <= 1:
            raise ValueError(f"the preventable share must be in (0, 1], not {self.preventable_share:g}")
        if self.cost_per_contact <= 0 or self.incentive_cost < 0:
            raise ValueError("the cost per contact must be positive and the incentive cost not negative")

    @property
    def measured(self) -> bool:
        """Whether the save rate was measured on contacts (else it is assumed)."""
        return bool(self.contacted)

    @property
    def preventable_scale(self) -> float:
        """What the save rate applies to, as a share of at-risk customers' churn: the preventable share for an
        assumed save rate; 1 for a measured one (the control group had the same moves and non-payment)."""
        return 1.0 if self.measured else self.preventable_share

    @property
    def kept_share(self) -> float:
        """Share of contacted at-risk customers a contact keeps: the save rate times `preventable_scale`."""
        return float(self.save_rate) * self.preventable_scale

    @property
    def kept_range(self) -> tuple[float, float] | None:
        """`save_rate_range` on the scale of `kept_share` (None when not given)."""
        if self.save_rate_range is None:
            return None
        return self.save_rate_range[0] * self.preventable_scale, self.save_rate_range[1] * self.preventable_scale

    @property
    def cost(self) -> float:
        """Currency spent per contacted customer: the contact and the incentive."""
        return float(self.cost_per_contact) + float(self.incentive_cost)

    def cost_text(self) -> str:
        """'35.00 per contacted customer (assumed: contact 25.00 + incentive 10.00)'."""
        return (f"{self.cost:,.2f} per contacted customer (assumed: contact {self.cost_per_contact:,.2f}"
                + (f" + incentive {self.incentive_cost:,.2f}" if self.incentive_cost else "") + ")")


@dataclass(frozen=True)
class _SaveRate:
    """The save rate's plausible range (or measured 95% CI), the variance of its log and a description."""

    low: float
    high: float
    var_log: float
    note: str


def retention_vs_acquisition(
    df: pd.DataFrame,
    campaign: RetentionCampaign,
    *,
    acquisition_cost: float | None = None,
    clv: Estimate | CLVResult | None = None,
    claim_multiple: float = 7.0,
    retention_uplift_pp: float = 5.0,
    valuation: Valuation = Valuation(),
) -> RetentionEconomics:
    """Is retaining a customer `claim_multiple` times cheaper than acquiring one, and what retention pays back?

    The formulas are in the module docstring.

    Parameters
    ----------
    df
        One row per customer (`features.lifetimes`): tenure, churn flag, monthly margin, optionally
        `acquisition_cost`, `acquisition_channel` and `active`.
    campaign
        The retention contact's costs and save rate.
    acquisition_cost
        Acquisition cost per customer (currency), used only when the data has no `acquisition_cost` column.
    clv
        Value of a saved customer: an Estimate (currency) or an overall `CLVResult`; None computes it from `df`.
    claim_multiple
        N of the claim "retention is N times cheaper than acquisition".
    retention_uplift_pp
        Points of annual retention whose value is computed.
    valuation
        Discounting, horizon, bootstrap and columns for the customer values.

    Returns
    -------
    RetentionEconomics
        Costs, the cost ratio and the claim's verdict, break-even save rates and uplift, the retention uplift's
        value, with notes on what was assumed.

    References
    ----------
    Reichheld & Sasser (1990), "Zero defections", Harvard Business Review: the source of the "+5% retention"
    folklore.
    """
    notes: list[str] = []
    cac, se_cac, by_channel = _acquisition_cost(df, acquisition_cost, valuation.currency, notes)
    measured_cac = cac.ci_low is not None
    save = _save_rate(campaign, notes)
    ratio = _cost_ratio(cac, se_cac, campaign, save)
    cac_text = f"acquisition cost {cac.value:,.2f} ({'measured' if measured_cac else 'assumed'})"
    c, cost_text = campaign.cost, campaign.cost_text()
    break_even, claim_rate = _save_rate_estimate(c / cac.value, 1.0, cost_text, cac_text), _save_rate_estimate(
        claim_multiple * c / cac.value, claim_multiple, cost_text, cac_text)
    verdict = _claim_verdict(ratio, claim_multiple, claim_rate.value / 100, campaign.measured)
    notes.append(_break_even_note(break_even.value, cost_text, cac_text))
    notes.append(_claim_note(claim_multiple, claim_rate.value, verdict, ratio, (save.low, save.high)))
    value = _clv_estimate(df, clv, valuation)
    annual, change_pct, portfolio = _retention_uplift(df, retention_uplift_pp, valuation, notes)
    return RetentionEconomics(
        acquisition_cost=cac, acquisition_by_channel=by_channel, retention_cost_per_save=_cost_per_save(campaign, save,
                                                                                         valuation.currency),
        cost_ratio=ratio, claim_multiple=claim_multiple, claim_verdict=verdict, clv=value,
        break_even_uplift=_break_even_uplift(campaign, value), annual_retention=annual,
        retention_uplift_pp=retention_uplift_pp, clv_change_pct=change_pct, portfolio_clv_change=portfolio,
        break_even_save_rate=break_even, claim_save_rate=claim_rate, save_rate=campaign.kept_share,
        save_rate_range=(save.low, save.high), save_rate_measured=campaign.measured,
        contact_cost=float(campaign.cost_per_contact), incentive_cost=float(campaign.incentive_cost),
        acquisition_ci=(cac.ci_low, cac.ci_high) if measured_cac else None, notes=notes,
    )


def _save_rate(campaign: RetentionCampaign, notes: list[str]) -> _SaveRate:
    """The save rate's Wilson 95% CI when measured, else its plausible range (a note says it is assumed)."""
    a = float(campaign.save_rate)
    if campaign.measured and campaign.save_rate_ci is not None:
        low, high = campaign.save_rate_ci
        # delta method: se(log a) = se(a) / a, se(a) read off the interval
        return _SaveRate(low, high, ((high - low) / (2 * Z95) / a) ** 2,
                         f"save rate {a:.1%} measured against a randomised holdout of {campaign.contacted:,} "
                         f"contacts (95% CI {low:.1%}-{high:.1%})")
    if campaign.measured:
        low, high = wilson_interval(a, campaign.contacted)
        return _SaveRate(low, high, (1 - a) / (campaign.contacted * a),
                         f"save rate {a:.1%} measured on {campaign.contacted} contacts (Wilson 95% CI)")
    low, high = campaign.save_rate_range or (0.5 * a, min(1.5 * a, 1.0))
    if not low <= a <= high:
        raise ValueError(f"save_rate_range {low:g}-{high:g} must contain the save rate {a:g}")
    note = f"save rate {a:.0%} assumed (plausible {low:.0%}-{high:.0%})"
    notes.append(f"The {note}: no campaign with a control group has measured it in this data, so every "
                 "figure that divides by it rests on that assumption.")
    s = campaign.preventable_share
    if s < 1:
        note += f" of preventable churn, {s:.0%} of it: {a * s:.1%} of contacted at-risk customers kept"
    return _SaveRate(low * s, high * s, 0.0, note)


def _cost_per_save(campaign: RetentionCampaign, save: _SaveRate, currency: str) -> Estimate:
    """Retention cost per saved customer (currency): cost per contact / save rate, a CI only when measured."""
    c, measured = campaign.cost, campaign.measured
    return Estimate(
        value=c / campaign.kept_share, unit=currency, label="Retention cost per saved customer",
        ci_low=c / save.high if measured else None, ci_high=c / save.low if measured else None,
        n=campaign.contacted, note=f"{campaign.cost_text()} / {save.note}",
    )


def _cost_ratio(cac: Estimate, se_cac: float, campaign: RetentionCampaign, save: _SaveRate) -> Estimate:
    """Acquisition cost / retention cost per save, with a delta-method 95% CI on its log when the save rate was
    measured (see `retention_vs_acquisition`)."""
    measured = campaign.measured
    value = cac.value * campaign.kept_share / campaign.cost
    se_log_r = np.sqrt((se_cac / cac.value) ** 2 + save.var_log) if measured else 0.0
    return Estimate(
        value=value, unit="ratio", label="Acquisition cost / retention cost per saved customer",
        ci_low=value * np.exp(-Z95 * se_log_r) if measured else None,
        ci_high=value * np.exp(Z95 * se_log_r) if measured else None,
        note=("delta method on log ratio; contact cost assumed" if measured else
              f"rests on assumptions, not a measurement: at the {save.note} and {campaign.cost_text()}; its "
              "range over the assumptions is recorded as acquisition_to_retention_cost_ratio_assumed_low/_high"),
    )


def _break_even_uplift(campaign: RetentionCampaign, value: Estimate) -> Estimate:
    """Share of contacted customers (%) a contact must save to pay back: cost per contact / value of a save."""
    c = campaign.cost
    return Estimate(
        value=100 * c / value.value, unit="%", label="Break-even retention uplift (share of contacted customers saved)",
        ci_low=100 * c / value.ci_high if value.ci_high is not None else None,
        ci_high=100 * c / value.ci_low if value.ci_low is not None and value.ci_low > 0 else None,
        note=f"{campaign.cost_text()} / value of a saved customer {value.value:,.2f}; the CI is the value's only",
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
    mean, lo, hi = mean_t_interval(costs.to_numpy(float))
    lo, hi = (lo, hi) if np.isfinite(lo) else (None, None)
    cac = Estimate(mean, currency, "Acquisition cost per customer", lo, hi, n=len(costs), note="mean, t-interval")
    se = float(np.std(costs, ddof=1) / np.sqrt(len(costs))) if len(costs) > 1 else 0.0
    if "acquisition_channel" not in df.columns:
        return cac, se, empty
    rows = []
    for channel, sub in df.loc[costs.index].groupby("acquisition_channel"):
        m, l, h = mean_t_interval(sub["acquisition_cost"].to_numpy(float))
        rows.append({"channel": str(channel), "acquisition_cost": m, "ci_low": l, "ci_high": h, "n": len(sub)})
    return cac, se, pd.DataFrame(rows)


def _clv_estimate(df: pd.DataFrame, clv: Estimate | CLVResult | None, valuation: Valuation) -> Estimate:
    """Value of one saved customer (currency): the given CLV, else the overall KM-based CLV of `df`."""
    if isinstance(clv, Estimate):
        return clv
    if clv is None:
        clv = clv_from_survival(df, valuation)
    if len(clv.table) != 1:
        raise ValueError("pass an overall CLVResult (group=None) or an Estimate as clv")
    return next(iter(clv.to_estimates().values()))


def _retention_uplift(
    df: pd.DataFrame, uplift_pp: float, valuation: Valuation, notes: list[str]
) -> tuple[Estimate, Estimate, Estimate]:
    """Annual retention (constant hazard) and the CLV effect of +`uplift_pp` points of it (see
    `retention_vs_acquisition`)."""
    duration, event, margin_column, entry = valuation.duration, valuation.event, valuation.margin_column, valuation.entry
    d, horizon, currency = valuation.monthly_discount_rate, valuation.horizon_months, valuation.currency
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
