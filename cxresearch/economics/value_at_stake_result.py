"""The value-at-stake result: per-scenario table, the cost of bad service, and what to fix first."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxresearch.economics.value_at_stake_scenarios import Improvements
from cxresearch.economics.value_at_stake_value import WindowRows
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import Sample

if TYPE_CHECKING:
    from cxresearch.economics.value_at_stake import Scenario
    from cxresearch.economics.value_at_stake_randomised import RandomisedCheck

#: The columns of the results file's `value_at_stake` table.
SUMMARY_COLUMNS = ["lever", "label", "scenario", "kind", "churners_avoided", "churners_avoided_ci_low",
                   "churners_avoided_ci_high", "margin_retained", "margin_retained_ci_low", "margin_retained_ci_high",
                   "margin_retained_annual", "margin_retained_annual_ci_low", "margin_retained_annual_ci_high",
                   "hazard_ratio", "hr_ci_low", "hr_ci_high", "e_value", "e_value_ci"]

#: What the `hazard_ratio` column compares.
HAZARD_RATIO_TEXT = ("hazard ratio: the hazard the levers act on with one more unit of the lever's driver (one more "
                     "contact or event in the 3-month window, one CES point) against as observed, averaged (geometric "
                     "mean) over the window's customer-months, with a bootstrap 95% CI; the E-value reads it as a risk "
                     "ratio")

#: Which churn the levers act on (`ValueAtStakeResult.basis`), in words.
BASIS_TEXT = {
    "service": ("churn modelled: service-related exits only (end_reason 'service'), as the all-cause hazard times "
                "the share of exits that are service-related (a logit on the exits, vertical modelling); leaving "
                "for another reason is a competing risk whose hazard every scenario keeps as estimated"),
    "all": "churn modelled: every exit (all-cause hazard)",
}

#: One line on what the figures are (and are not).
CAVEAT = ("These are model-based counterfactuals from observational data: they assume no unmeasured confounding of "
          "the drivers and churn, and the person-month model's form (proportional hazards with effects linear in the "
          "window counts, and where churn reasons are recorded a logit for the share of exits that are "
          "service-related); the E-value says how strong a confounder would have to be to explain an effect away.")


@dataclass
class ValueAtStakeResult:
    """Churners avoided and margin retained per CX scenario over the valuation window (whole base, currency)."""

    table: pd.DataFrame  # one row per scenario (`value_at_stake._table`)
    factual_churners: float  # model-predicted churners in the window (whole base)
    factual_draws: np.ndarray  # the same per bootstrap draw
    joint_draws: np.ndarray | None  # per draw: joint churners avoided, margin retained, factual churners
    skipped: list[tuple[str, str, str]]  # (analysis, reason, needs) of the levers not valued
    notes: list[str]
    sample: Sample
    window_months: int
    horizon_months: int
    monthly_discount_rate: float
    currency: str
    improvements: Improvements
    n_boot: int
    rows: WindowRows = field(repr=False)
    window: pd.DataFrame = field(repr=False)  # the window's person-months (drivers, tenure, segments)
    scenarios: list[Scenario] = field(default_factory=list, repr=False)
    basis: str = "all"  # the churn the levers act on: "service" (service-related exits) or "all" (every exit)
    service_exits_avoided: float | None = None  # "service" basis: the joint scenario's fall in service exits
    randomised: RandomisedCheck | None = None  # the follow-up lever beside a randomised proactive campaign
    randomised_skip: tuple[str, str] | None = None  # why there is none: reason, needs

    ANALYSIS = "value at stake (person-month model, g-computation)"

    @property
    def basis_words(self) -> str:
        """The churn the levers act on, in a few words."""
        return "service-related churn (other exits competing)" if self.basis == "service" else "all churn"

    def basis_sentence(self) -> str:
        """Which churn the levers act on, in a sentence for the report."""
        if self.basis == "service":
            return ("Churn here is service-related churn (the data records why customers left): the levers act on the "
                    "hazard of leaving for service reasons, and leaving for price, a competitor or another reason is a "
                    "competing risk kept as estimated, so a customer kept from service churn can still leave.")
        return "Churn here is all churn: the levers act on the hazard of every exit."

    @property
    def annual_factor(self) -> float:
        """12 / window months: from the window's figures to a year's."""
        return 12.0 / self.window_months

    def summary(self) -> pd.DataFrame:
        """Per scenario: churners avoided, margin retained over the window and a year (95% CIs), E-values."""
        out = self.table.copy()
        for suffix in ("", "_ci_low", "_ci_high"):
            out[f"margin_retained_annual{suffix}"] = out[f"margin_retained{suffix}"] * self.annual_factor
        return out[SUMMARY_COLUMNS]

    def ranking(self) -> pd.DataFrame:
        """What to fix first: the realistic scenarios by annual margin retained, largest first."""
        realistic = self.summary().query("kind == 'realistic'")
        return realistic.sort_values("margin_retained_annual", ascending=False).reset_index(drop=True)

    def ranking_sentence(self) -> str:
        """'Fix first: A (...), then B (...)' and, where neighbouring intervals overlap, that the order is open."""
        ranked = self.ranking()
        if ranked.empty or ranked["margin_retained_annual"].isna().all():
            return "No lever could be ranked (no margins or no lever in the data)."
        parts = [f"{r.label} ({r.scenario}: {_money(r.margin_retained_annual)} a year, 95% CI "
                 f"{_money(r.margin_retained_annual_ci_low)} to {_money(r.margin_retained_annual_ci_high)})"
                 for r in ranked.itertuples()]
        text = "What to fix first, by margin retained a year under a realistic improvement: " + ", then ".join(parts)
        open_pairs = [f"{a.label} and {b.label}" for a, b in zip(ranked.iloc[:-1].itertuples(),
                                                                   ranked.iloc[1:].itertuples())
                      if not a.margin_retained_annual_ci_low > b.margin_retained_annual_ci_high]
        if len(open_pairs) > 1 and len(open_pairs) == len(ranked) - 1:
            text += ". The order is not established: each lever's 95% interval overlaps the next one's"
        elif open_pairs:
            text += (f". The order of {'; '.join(open_pairs)} is not established: their 95% intervals overlap")
        return text + "."

    def to_estimates(self) -> dict[str, Estimate]:
        """`bad_service_cost_annual` (currency a year), `bad_service_churn_share_pct` (%) and
        `bad_service_churners_annual` (customers a year), from the joint scenario."""
        joint = self.table.query("kind == 'joint'")
        labels = ("Margin lost to bad service in a year", "Share of churn attributable to bad service",
                  "Churners lost to bad service in a year")
        if joint.empty or self.joint_draws is None:
            reason = "no service lever of the joint scenario varies in this data"
            return {k: Estimate.not_estimable(u, lab, reason) for k, u, lab in zip(
                ("bad_service_cost_annual", "bad_service_churn_share_pct", "bad_service_churners_annual"),
                (self.currency, "%", "customers"), labels)}
        row, draws, f = joint.iloc[0], self.joint_draws, self.annual_factor
        share_draws = 100.0 * draws[:, 0] / draws[:, 2]
        return {
            "bad_service_cost_annual": self._estimate(row["margin_retained"] * f, draws[:, 1] * f, self.currency,
                                                      labels[0]),
            "bad_service_churn_share_pct": self._estimate(100.0 * row["churners_avoided"] / self.factual_churners,
                                                          share_draws, "%", labels[1]),
            "bad_service_churners_annual": self._estimate(row["churners_avoided"] * f, draws[:, 0] * f, "customers",
                                                          labels[2]),
        }

    def _estimate(self, value: float, draws: np.ndarray, unit: str, label: str) -> Estimate:
        """An estimate with the percentile 95% CI of its bootstrap draws and the method in its note."""
        if not np.isfinite(value):
            return Estimate.not_estimable(unit, label, "the data has no monthly margins")
        low, high = np.percentile(draws, [2.5, 97.5]) if len(draws) else (None, None)
        return Estimate(
            value=float(value), unit=unit, label=label, ci_low=None if low is None else float(low),
            ci_high=None if high is None else float(high), n=self.sample.n_total,
            note=(f"joint scenario (all service failures removed) over the last {self.window_months} months, "
                  f"annualised; margin to {self.horizon_months} months, discounted {self.monthly_discount_rate:.1%}"
                  f"/month; person-month cloglog g-computation on {self.basis_words}, {self.n_boot} bootstrap "
                  "refits"),
        )

    def _repr_html_(self) -> str:
        table = self.summary().drop(columns=["kind"]).round(2).to_html(escape=True, na_rep="–", index=False)
        sampled = [self.sample.describe(self.ANALYSIS)] if self.sample.sampled else []
        notes = [self.basis_sentence(), CAVEAT, self.ranking_sentence(), HAZARD_RATIO_TEXT, *self.notes, *sampled]
        return (f"<p><b>{html.escape(self.ANALYSIS)} on {self.basis_words}: last {self.window_months} months, "
                f"margin to {self.horizon_months} months ({html.escape(self.currency)})</b></p>" + table
                + "".join(f"<p><i>{html.escape(n)}</i></p>" for n in notes))


def _money(value: Any) -> str:
    """A currency amount rounded to whole units, with thousands separators."""
    return f"{float(value):,.0f}" if np.isfinite(value) else "n/a"
