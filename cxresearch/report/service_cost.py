"""What bad service costs (notebook 08) in words that only claim the sign its 95% interval supports.

A cost whose interval includes zero is "not distinguishable from zero", never a signed figure; one whose interval
lies below zero means the model says removing the service failures would not have kept customers, which is no cost
to act on. Only an interval above zero reads as a cost. The same rule words the "what to fix first" levers.
"""

from __future__ import annotations

import pandas as pd

from cxresearch.report.suite_results import is_finite, join_words
from cxresearch.stats.estimate import Estimate

#: Where a 95% interval lies against zero.
ABOVE, INCLUDES, BELOW = "above zero", "includes zero", "below zero"


def interval_side(low: float | None, high: float | None) -> str:
    """`ABOVE`, `BELOW` or `INCLUDES` zero; a figure without both interval ends cannot establish a sign."""
    if is_finite(low) and is_finite(high):
        if low > 0:
            return ABOVE
        if high < 0:
            return BELOW
    return INCLUDES


def _money_text(estimate: Estimate, unit: str) -> str:
    """'-2,905 EUR (95% CI -13,113 to 6,361)', whole currency units."""
    text = f"{estimate.value:,.0f} {unit}"
    if is_finite(estimate.ci_low) and is_finite(estimate.ci_high):
        text += f" (95% CI {estimate.ci_low:,.0f} to {estimate.ci_high:,.0f})"
    return text


def _share_text(share: Estimate | None) -> str:
    """'14.1% of the year's churn (12.9% to 15.2%)', or '' without a share."""
    if share is None or not share.exact:
        return ""
    text = f"{share.value:.1f}% of the year's churn"
    if is_finite(share.ci_low) and is_finite(share.ci_high):
        text += f" ({share.ci_low:.1f}% to {share.ci_high:.1f}%)"
    return text


def cost_tile(cost: Estimate, unit: str) -> tuple[str, str, str]:
    """The KPI tile's (figure, label, small print) for the annual cost of bad service (`unit`: its currency)."""
    side = interval_side(cost.ci_low, cost.ci_high)
    if side == ABOVE:
        return f"{cost.value:,.0f} {unit}", "Margin lost to bad service in a year", \
            f"95% CI {cost.ci_low:,.0f} to {cost.ci_high:,.0f}"
    if side == BELOW:
        return "No cost found", "Bad service cost in the last year, on this data", \
            f"the model says removing the failures would not have kept customers: estimate {_money_text(cost, unit)}"
    return "Not distinguishable from zero", "Bad service cost in the last year, on this data", \
        f"estimate {_money_text(cost, unit)}"


def cost_sentence(cost: Estimate, share: Estimate | None, unit: str) -> tuple[str, str]:
    """The executive page's sentence on the cost of bad service as (bold lead, rest), plain text to escape."""
    side, money, churn = interval_side(cost.ci_low, cost.ci_high), _money_text(cost, unit), _share_text(share)
    if side == ABOVE:
        lead = f"Bad service cost us {cost.value:,.0f} {unit} of margin in the last year"
        rest = f"(95% CI {cost.ci_low:,.0f} to {cost.ci_high:,.0f})"
        return lead, rest + (f": {churn} is attributable to it." if churn else ".")
    if side == BELOW:
        return ("On this data the model finds no cost of bad service.",
                f"Removing the service failures would not have kept customers, according to the model: the margin "
                f"it would have kept in the last year is {money}, below zero"
                + (f", with {churn} attributed to the failures" if churn else "")
                + ". Read this as no evidence of a cost, not as a gain from failing customers: an observational model "
                "can find it when something it does not measure drives both service failures and loyalty.")
    return ("This data cannot establish a cost of bad service.",
            f"The estimated margin lost to it in the last year, {money}, is not distinguishable from zero"
            + (f", nor is the share of churn attributable to it, {churn}" if churn else "") + ".")


def cost_finding_lead(cost: Estimate, share: Estimate | None, horizon_months: int) -> str:
    """Notebook 08's finding on the cost of bad service, up to its basis and caveat sentences."""
    side, money, churn = interval_side(cost.ci_low, cost.ci_high), cost.format(0), _share_text(share)
    scenario = "every contact resolved at first contact, no effort above 4 and no channel inconsistency"
    if side == ABOVE:
        return (f"Bad service cost an estimated {money} of margin in the last year: the margin, up to "
                f"{horizon_months} months on, of the customers who would have stayed with {scenario}"
                + (f" ({churn})." if churn else "."))
    if side == BELOW:
        return (f"The model finds no cost of bad service in the last year: with {scenario}, it says fewer customers "
                f"would have stayed, not more (margin {money}, below zero). This is no evidence of a cost, not a "
                "gain from failing customers.")
    return (f"The data cannot establish that bad service cost margin in the last year: the margin, up to "
            f"{horizon_months} months on, of the customers who would have stayed with {scenario} is {money}, not "
            "distinguishable from zero.")


def ranking_caveat(ranking: pd.DataFrame) -> str:
    """What the levers' 95% intervals of margin retained a year (`value_at_stake_ranking`) do not establish, or ''.
    """
    sides = {row.label: interval_side(row.margin_retained_annual_ci_low, row.margin_retained_annual_ci_high)
             for row in ranking.itertuples() if is_finite(row.margin_retained_annual)}
    spanning = [label for label, side in sides.items() if side == INCLUDES]
    below = [label for label, side in sides.items() if side == BELOW]
    parts = []
    if sides and ABOVE not in sides.values():
        which = "no 95% interval lies above zero" if below else "every lever's 95% interval includes zero"
        parts.append(f"No lever is shown to retain margin on this data ({which}), so the ranking does not say what "
                     "to fix first.")
    elif spanning:
        many = len(spanning) > 1
        parts.append(f"The 95% interval{'s' if many else ''} of {join_words(spanning)} include{'' if many else 's'} "
                     f"zero: the data cannot establish that improving {'them' if many else 'it'} retains margin.")
    if below:
        parts.append(f"For {join_words(below)} the interval lies below zero: according to the model that improvement "
                     "would not keep customers.")
    return " ".join(parts)
