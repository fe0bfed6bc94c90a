"""How a figure of the executive summary reads: values and intervals in words, units, and small HTML pieces.

Every figure on the page goes through `value_text` or `Estimate.format`, so a median not reached reads as a lower
bound in words and a figure the data cannot give is left out: the page never says nan, None or n/a.
"""

from __future__ import annotations

import html
import math

from cxresearch.report.suite_results import ASSUMPTION_NOTEBOOKS, NO_CURRENCY, SuiteResults, is_finite
from cxresearch.stats.estimate import Estimate

#: Where each unit's values can lie: an interval end outside is clipped for display (the notebooks fix the source).
UNIT_RANGES: dict[str, tuple[float, float]] = {
    "%": (0.0, 100.0), "points": (-100.0, 100.0), "months": (0.0, math.inf), "count": (0.0, math.inf),
    "ratio": (0.0, math.inf),
}


def money_unit(suite: SuiteResults, estimate: Estimate, override: str = "") -> str:
    """The currency of a money figure: the override, the data's, the figure's own unit, or 'currency units'.
    """
    own = estimate.unit if estimate.unit not in ("", "currency") else ""
    return suite.currency(override) or own or NO_CURRENCY


def clip_to_unit(value: float, unit: str) -> float:
    """`value` moved into the range its unit allows (percentages 0-100, NPS points -100 to 100, months >= 0).
    """
    low, high = UNIT_RANGES.get(unit, (-math.inf, math.inf))
    return min(max(value, low), high)


def unit_suffix(unit: str) -> str:
    """How a unit follows a number: '%' directly, nothing for counts and ratios, otherwise after a space."""
    return "" if unit in ("", "count", "ratio") else unit if unit == "%" else f" {unit}"


def value_text(estimate: Estimate, digits: int = 1, unit: str | None = None) -> str:
    """The figure alone, in words when it is a bound: '12.3%', 'more than 36.0 months', 'not estimable'."""
    unit = estimate.unit if unit is None else unit
    if not estimate.estimable:
        return "not estimable"
    text = f"{estimate.value:,.{digits}f}{unit_suffix(unit)}"
    return {"lower": f"more than {text}", "upper": f"less than {text}"}.get(estimate.bound, text)


def interval_text(estimate: Estimate, digits: int = 1) -> str:
    """'95% CI low to high' with both ends inside the unit's range, or '' when the figure has no interval."""
    if not estimate.exact or not (is_finite(estimate.ci_low) and is_finite(estimate.ci_high)):
        return ""
    low, high = clip_to_unit(estimate.ci_low, estimate.unit), clip_to_unit(estimate.ci_high, estimate.unit)
    return f"95% CI {low:,.{digits}f} to {high:,.{digits}f}"


def bound_note(estimate: Estimate) -> str:
    """Why a figure is a bound, in words (the notebook's reason, or the usual one for a median not reached).
    """
    if estimate.reason:
        return estimate.reason
    return "not reached within the follow-up" if estimate.bound == "lower" else "an upper limit only"


def assumption_text(sentences: list[str]) -> str:
    """The stated assumptions as one line: 'Assumption: ...'."""
    if not sentences:
        return ""
    return "Assumption: " + " ".join(s if s.rstrip().endswith(".") else f"{s}." for s in sentences)


def lifetime_assumptions(suite: SuiteResults) -> str:
    """'Assumption: ...' for the lifetime and value figures (the data's stated assumptions), or ''."""
    sentences = [a for nb in ASSUMPTION_NOTEBOOKS for a in suite.assumptions(nb)]
    return assumption_text(list(dict.fromkeys(sentences)))


def pct_text(value: float) -> str:
    """A percentage for the page: one decimal below 10%, none above."""
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def bullets_html(lines: list[str]) -> str:
    """An escaped HTML bullet list."""
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


_CELL = "text-align:left;vertical-align:top;padding:4px 10px;border-bottom:1px solid #d0d7de"


def html_table(head: str, rows: list[str]) -> str:
    """A left-aligned, ruled HTML table (inline styles, so the page needs no stylesheet)."""
    body = (head + "".join(rows)).replace("<th>", f'<th style="{_CELL}">').replace("<td>", f'<td style="{_CELL}">')
    body = body.replace('<td style="color:', f'<td style="{_CELL};color:')
    return f'<table style="border-collapse:collapse;font-size:14px;margin:8px 0">{body}</table>'
