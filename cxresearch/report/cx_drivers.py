"""The CX drivers of churn on the executive page: one odds ratio per driver from one model, and the actions the
evidence supports."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

from cxresearch.report.suite_results import (
    DRIVERS,
    ECONOMICS,
    LOYALTY,
    NO_CURRENCY,
    SuiteResults,
    has_figure,
    is_finite,
    save_rate_input,
)
from cxresearch.report.wording import pct_text
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.multiplicity import holm_adjusted


@dataclass(frozen=True)
class CXDriver:
    """A CX driver as the executive page names it, where each notebook records it, and the action it points to.

    `claim` is its row id in notebook 04's claims table (pooled model), `terms` its terms in notebook 02's model
    (snapshot, then flat-data names); `helps` is the direction ("less" or "more" churn per unit) in which `action`
    is the sensible response ('' when the driver suggests no action).
    """

    key: str
    claim: str
    terms: tuple[str, ...]
    label: str
    per: str
    who: str
    action: str = ""
    helps: str = ""


#: The CX drivers in display order (controls such as tenure, contract and plan are not drivers).
CX_DRIVERS: tuple[CXDriver, ...] = (
    CXDriver("ces", "3a", ("ces_mean_90d", "ces_last"), "Effort (CES), 90-day mean (per point)",
             "per point of effort (CES 1-7)", "customers reporting more effort", "Make help easier to get", "more"),
    CXDriver("csat", "1b", ("csat_last",), "CSAT, latest (per point)", "per point of CSAT (1-5)",
             "customers with higher satisfaction (CSAT)", "Follow up on low satisfaction scores (CSAT)", "less"),
    CXDriver("nps", "1a", ("nps_last",), "NPS score, latest (per point)", "per point of the NPS question (0-10)",
             "customers with higher recommend scores", "Follow up on low recommend scores (NPS)", "less"),
    CXDriver("reactive", "", ("reactive_90d", "reactive_contacts"), "Reactive contacts, 90 days (per contact)",
             "per service contact in 90 days", "customers with more service contacts",
             "Reduce the need to contact service", "more"),
    CXDriver("unresolved", "4b", ("unresolved_90d", "unresolved_contacts"),
             "Unresolved contacts, 90 days (per contact)", "per contact not resolved at first contact in 90 days",
             "customers with more unresolved contacts", "Resolve more contacts at the first contact", "more"),
    CXDriver("resolved", "4c", (), "Resolved contacts, 90 days (per contact)",
             "per contact resolved at first contact in 90 days", "customers with more resolved contacts"),
    CXDriver("proactive", "4a", ("proactive_90d", "proactive_contacts"), "Proactive contacts, 90 days (per contact)",
             "per proactive contact in 90 days", "customers who received more proactive contacts",
             "Reach out proactively", "less"),
    CXDriver("inconsistency", "5", ("inconsistency_90d",), "Channel inconsistencies, 90 days (per event)",
             "per channel inconsistency in 90 days", "customers who met more channel inconsistencies",
             "Remove inconsistencies between channels", "more"),
)


#: The level at which a window-model odds ratio counts as found, after Holm's adjustment over the CX drivers.
DRIVER_ALPHA = 0.05


@dataclass
class DriverEffect:
    """One CX driver's odds ratio of churn (per unit, 95% CI) and whether the evidence supports it."""

    driver: CXDriver
    label: str
    odds_ratio: float
    ci_low: float
    ci_high: float
    supported: bool

    @property
    def z(self) -> float:
        """Distance of the estimate from 'no effect' in standard errors (log scale, SE read from the 95% CI)."""
        se = (math.log(self.ci_high) - math.log(self.ci_low)) / (2 * 1.959964)
        return abs(math.log(self.odds_ratio)) / se if se > 0 else 0.0

    def direction(self) -> str:
        """'more' when the driver goes with more churn, 'less' with less."""
        return "more" if self.odds_ratio > 1 else "less"

    def words(self) -> str:
        """'customers with more unresolved contacts churn more: 1.64 times the odds per ... (95% CI 1.53 to 1.77)'."""
        return (f"{self.driver.who} churn {self.direction()}: {self.odds_ratio:.2f} times the odds {self.driver.per} "
                f"(95% CI {self.ci_low:.2f} to {self.ci_high:.2f})")


@dataclass
class DriverEffects:
    """The one estimate per CX driver the executive page shows, from one model, and what that model measures.

    `model` is "pooled" (notebook 04's claims: churn in the next month, pooled over monthly snapshots) when that
    model estimated any driver, else "window" (notebook 02: churn within its horizon after one snapshot).
    `measures` says what the odds ratios are; `other` what the model not shown measures and why it is not shown.
    """

    effects: list[DriverEffect]
    model: str
    measures: str
    other: str = ""


def driver_effects(suite: SuiteResults) -> DriverEffects | None:
    """One odds ratio per CX driver: the pooled claims model's when it has any, else the window model's."""
    pooled = _pooled_effects(suite)
    window = _window_effects(suite)
    design = suite.extra(LOYALTY, "claims_design", "")
    churn_window = suite.churn_window(DRIVERS)
    within = churn_window.words() if churn_window is not None else "in the prediction window"
    n = suite.estimate(DRIVERS, "churn_n")
    at_one = f"one snapshot of {n.value:,.0f} customers" if has_figure(n) else "one snapshot"
    if pooled:
        over = "pooled over " + (_parenthesise(design) if isinstance(design, str) and design else "monthly snapshots")
        other = ""
        if window:
            other = (f"The churn-drivers report's model of churn {within} rests on {at_one}: it estimates the same "
                     "associations from one snapshot instead of several, so its intervals are wider and its numbers "
                     "differ; it serves prediction and is not repeated here.")
        return DriverEffects(pooled, "pooled", f"Odds ratios of churn in the next month, {over}: the figures the "
                             "claims above are judged on.", other)
    if window:
        return DriverEffects(window, "window", f"Odds ratios of churn {within}, from {at_one}, adjusted for the "
                             "other drivers, tenure, contract and plan; found when Holm-adjusted p < "
                             f"{DRIVER_ALPHA:g} across the CX drivers.")
    return None


def _parenthesise(design: str) -> str:
    """'8 snapshots ...: 89,577 customer-months' as '8 snapshots ... (89,577 customer-months)'."""
    head, sep, tail = design.partition(": ")
    return f"{head} ({tail})" if sep else design


def _pooled_effects(suite: SuiteResults) -> list[DriverEffect]:
    """Driver odds ratios from notebook 04's claims table (rows judged on an odds ratio), in display order."""
    table = suite.table(LOYALTY, "evidence")
    if table is None or not {"id", "estimate", "ci_low", "ci_high"} <= set(table.columns):
        return []
    rows = {str(r["id"]): r for r in table.to_dict(orient="records")}
    effects = []
    for driver in CX_DRIVERS:
        row = rows.get(driver.claim) if driver.claim else None
        if row is None or not str(row.get("unit", "")).startswith("odds ratio") or not _ratio_row(row):
            continue
        effects.append(DriverEffect(driver, driver.label, float(row["estimate"]), float(row["ci_low"]),
                                    float(row["ci_high"]), row.get("verdict") == "supported"))
    return effects


def _window_effects(suite: SuiteResults) -> list[DriverEffect]:
    """Driver odds ratios from notebook 02's model; found when Holm-adjusted p < `DRIVER_ALPHA` (its own
    `p_adjusted` when recorded, else adjusted here over the drivers shown)."""
    table = suite.table(DRIVERS, "odds_ratios")
    if table is None or table.empty:
        return []
    table = table.rename(columns={"or_ci_low": "ci_low", "or_ci_high": "ci_high", "odds_ratio": "estimate"})
    if not {"estimate", "ci_low", "ci_high"} <= set(table.columns):
        return []
    rows = {str(r[table.columns[0]]): r for r in table.to_dict(orient="records")}
    found = [(driver, rows[term]) for driver in CX_DRIVERS for term in driver.terms[:1] + driver.terms[1:]
             if term in rows and _ratio_row(rows[term])]
    found = list({driver.key: (driver, row) for driver, row in reversed(found)}.values())[::-1]
    adjusted = holm_adjusted([row.get("p_value") for _, row in found])
    return [
        DriverEffect(driver, str(row.get("label") or driver.label), float(row["estimate"]), float(row["ci_low"]),
                     float(row["ci_high"]), _p_below(row.get("p_adjusted"), fallback))
        for (driver, row), fallback in zip(found, adjusted, strict=True)
    ]


def _ratio_row(row: dict[str, Any]) -> bool:
    """Whether a row has a positive, finite ratio and 95% CI."""
    return all(is_finite(row.get(k)) and row[k] > 0 for k in ("estimate", "ci_low", "ci_high"))


def _p_below(recorded: Any, fallback: float) -> bool:
    """Whether the recorded adjusted p-value (else `fallback`) is below `DRIVER_ALPHA`."""
    p = recorded if is_finite(recorded) else fallback
    return is_finite(p) and p < DRIVER_ALPHA


@dataclass
class Action:
    """One thing the evidence supports doing, with the figure behind it in words and its rank's basis."""

    action: str
    evidence: str
    z: float


#: How the actions are ranked, said on the page.
ACTION_RULE = ("Ranked by the strength of the evidence: how many standard errors each association lies from "
               "\"no effect\" (only drivers whose test passed the multiplicity-adjusted rule count).")


def what_to_do(suite: SuiteResults, limit: int = 3) -> list[Action]:
    """At most `limit` actions, strongest evidence first: one per CX driver whose supported association points to
    an action (the driver's odds ratio in the direction the action needs).
    """
    effects = driver_effects(suite)
    actions = [
        Action(e.driver.action, e.words(), e.z)
        for e in (effects.effects if effects is not None else [])
        if e.supported and e.driver.action and e.direction() == e.driver.helps
    ]
    return sorted(actions, key=lambda a: -a.z)[:limit]


def campaign_note(suite: SuiteResults) -> str:
    """What the evidence says about a retention campaign when its value rests on assumed inputs ('' otherwise).
    """
    save = save_rate_input(suite)
    if save is not None and save.get("source") == "measured":
        return ""
    even = suite.estimate(ECONOMICS, "break_even_save_rate")
    # The model whose campaign is worth more, as notebook 02's own finding reports it.
    model = max(("logit", "boosting"), key=lambda m: _value_or(suite.estimate(DRIVERS, f"empc_{m}")))
    empc, share = (suite.estimate(DRIVERS, f"empc_{model}{suffix}") for suffix in ("", "_fraction"))
    parts = []
    if has_figure(empc) and has_figure(share) and empc.value > 0:
        parts.append(f"targeting the riskiest {pct_text(share.value)} of customers by the churn model is worth an "
                     f"expected {empc.value:,.2f} {suite.currency() or NO_CURRENCY} per customer at the assumed "
                     "offer cost and acceptance")
    if has_figure(even) and even.value <= 100:
        parts.append(f"retention is cheaper than acquisition only if more than {pct_text(even.value)} of contacted "
                     "at-risk customers stay because of the contact")
    if not parts:
        return ""
    return ("Not on this list: a retention campaign. Its value rests on inputs nobody measured: "
            + "; ".join(parts) + ". A campaign with a randomly held-out control group would measure the save rate "
            "and turn this into evidence.")


def _value_or(estimate: Estimate | None, default: float = -math.inf) -> float:
    """An estimate's value, or `default` when there is none."""
    return float(estimate.value) if has_figure(estimate) else default


def actions_html(suite: SuiteResults) -> str:
    """The 'What to do' section: the ranked actions with their figures, or a plain sentence that there are none.
    """
    actions = what_to_do(suite)
    note = campaign_note(suite)
    if not actions:
        body = ("<p>The evidence in this run supports no action: no CX driver goes with churn clearly enough "
                "(after the multiplicity adjustment) to point to one.</p>")
    else:
        items = "".join(f"<li><b>{html.escape(a.action)}</b>: {html.escape(a.evidence)}.</li>" for a in actions)
        body = (f"<ol>{items}</ol><p>{html.escape(ACTION_RULE)} These are associations in observational data: "
                "each is where a controlled test is most likely to pay off, not a proven cause.</p>")
    return body + (f"<p>{html.escape(note)}</p>" if note else "")
