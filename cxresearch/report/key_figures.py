"""The executive summary's key figures: the KPI tiles, and each key figure against the previous run."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from cxresearch.report.service_cost import cost_tile
from cxresearch.report.suite_results import (
    ASSUMED_KEYS,
    ASSUMPTION_KEYS,
    MONEY_KEYS,
    SuiteResults,
    assumed_spread,
    has_figure,
    is_finite,
)
from cxresearch.report.wording import (
    assumption_text,
    bound_note,
    html_table,
    interval_text,
    money_unit,
    unit_suffix,
    value_text,
)
from cxresearch.stats.estimate import Estimate

#: KPI tiles: (notebook, estimate key or keys in order of preference, digits).
KPI_TILES: list[tuple[str, str | tuple[str, ...], int]] = [
    ("02_churn_drivers", "churn_rate_window", 1),
    ("03_customer_lifetime", "median_lifetime_months", 1),
    ("04_loyalty_metrics", "nps_score", 1),
    ("04_loyalty_metrics", "ces_high_effort_pct", 1),
    # Contractual data gives CLV from survival curves; purchase logs only from BG/NBD x Gamma-Gamma; flat data
    # without acquisition costs only the remaining value of today's customers.
    ("05_retention_economics", ("clv_per_customer", "btyd_clv_per_customer", "residual_clv_per_customer"), 0),
    ("05_retention_economics", "acquisition_to_retention_cost_ratio", 2),
    ("06_churn_reasons", "service_churn_share_pct", 0),
    ("08_value_at_stake", "bad_service_cost_annual", 0),
]
#: The tile that reads as a cost only when its interval lies above zero (`report.service_cost`).
SERVICE_COST = "bad_service_cost_annual"


def kpi_tiles_html(suite: SuiteResults, currency: str = "") -> str:
    """A row of KPI tiles (self-contained HTML, every text escaped), one per figure this run could estimate.

    A bound shows as 'more than ...' with its reason; money is in the data's currency (or `currency`); lifetime
    and value figures carry the data's stated assumptions in a small line underneath. The cost of bad service
    shows as a cost only when its 95% interval lies above zero, else in words with the estimate in small print.
    """
    tiles = []
    for notebook, keys, digits in KPI_TILES:
        keys = (keys,) if isinstance(keys, str) else keys
        key = next((k for k in keys if has_figure(suite.estimate(notebook, k))), None)
        if key is None:
            continue
        est = suite.estimate(notebook, key)
        unit = money_unit(suite, est, currency) if key in MONEY_KEYS else est.unit
        spread = assumed_spread(suite, notebook, key)
        if spread is not None:
            # An assumed input has no confidence interval: show its range over the assumptions instead.
            caption = f"{spread.low:,.{digits}f} to {spread.high:,.{digits}f} over the assumed inputs"
        else:
            caption = interval_text(est, digits) if est.exact else bound_note(est)
        assumption = assumption_text(suite.assumptions(notebook)) if key in ASSUMPTION_KEYS else ""
        figure, label = value_text(est, digits, unit), suite.label(notebook, key)
        if key == SERVICE_COST and est.exact:
            figure, label, caption = cost_tile(est, unit)
        tiles.append(
            '<div style="flex:1 1 180px;border:1px solid #d0d7de;border-radius:8px;padding:12px 14px;'
            'background:#f8fafc">'
            f'<div style="font-size:26px;font-weight:700;color:#0b3d91">{html.escape(figure)}</div>'
            f'<div style="font-size:14px;margin-top:4px">{html.escape(label)}</div>'
            + (f'<div style="font-size:12px;color:#57606a;margin-top:2px">{html.escape(caption)}</div>' if caption
               else "")
            + (f'<div style="font-size:11px;color:#57606a;margin-top:4px;font-style:italic">'
               f"{html.escape(assumption)}</div>" if assumption else "")
            + "</div>"
        )
    if not tiles:
        return "<p>No key figure could be estimated from this data; what it lacks is listed below.</p>"
    return '<div style="display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px">' + "".join(tiles) + "</div>"


#: Figures compared with the previous run: (notebook, estimate key).
KEY_FIGURES: list[tuple[str, str]] = [
    ("02_churn_drivers", "churn_rate_window"),
    ("04_loyalty_metrics", "nps_score"),
    ("03_customer_lifetime", "median_lifetime_months"),
    ("05_retention_economics", "clv_per_customer"),
    ("05_retention_economics", "acquisition_to_retention_cost_ratio"),
]

_CHANGE_COLUMNS = ["figure", "unit", "previous", "current", "change", "direction", "beyond_uncertainty",
                   "previous_text", "current_text", "basis"]

#: How a change was judged (`basis` of `compare_runs`).
SAMPLING, ASSUMED_RANGE, NOT_COMPARED_ASSUMED = "sampling", "assumed range", "rests on assumptions: not compared"


def compare_runs(current: SuiteResults, previous: SuiteResults, currency: str = "") -> pd.DataFrame:
    """Key figures now vs the previous run: change, and whether it exceeds the figures' full uncertainty.

    Measured figures (`basis` "sampling"): standard errors are read back from the 95% intervals (width / 3.92) and
    the change is called real when |z| = |change| / sqrt(se_now^2 + se_before^2) > 1.96. Successive runs share
    most customers, so their estimates are positively correlated and this test is conservative: it misses some
    real changes rather than flagging noise.

    Figures resting on assumed inputs (`ASSUMED_KEYS`, basis "assumed range") are never judged on sampling error:
    their largest uncertainty is what was assumed, so a change is called real only when the two runs' ranges over
    the assumptions do not overlap. Without a recorded range in both runs they are not compared (basis
    `NOT_COMPARED_ASSUMED`). A bound or a figure not estimable in either run is not compared either: its row has
    the two figures in words (`previous_text`, `current_text`) and no change. Money is in `currency`, else the
    current data's.
    """
    rows = []
    for notebook, key in KEY_FIGURES:
        now, before = current.estimate(notebook, key), previous.estimate(notebook, key)
        if now is None or before is None or not (has_figure(now) or has_figure(before)):
            continue
        unit = money_unit(current, now, currency) if key in MONEY_KEYS else now.unit
        row = {"figure": current.label(notebook, key), "unit": unit, "previous": np.nan, "current": np.nan,
               "change": np.nan, "direction": "", "beyond_uncertainty": None,
               "previous_text": value_text(before, 1, unit), "current_text": value_text(now, 1, unit), "basis": ""}
        if now.exact and before.exact:
            row.update(_judge_change(current, previous, notebook, key, now, before))
        rows.append(row)
    return pd.DataFrame(rows, columns=_CHANGE_COLUMNS)


def _judge_change(current: SuiteResults, previous: SuiteResults, notebook: str, key: str, now: Estimate,
                  before: Estimate) -> dict[str, Any]:
    """The comparison columns of one figure present in both runs (see `compare_runs` for the rules)."""
    change = now.value - before.value
    judged = {"previous": before.value, "current": now.value, "change": change,
              "direction": "▲" if change > 0 else "▼" if change < 0 else "="}
    if key in ASSUMED_KEYS:
        spreads = assumed_spread(current, notebook, key), assumed_spread(previous, notebook, key)
        if None in spreads:
            return {**judged, "change": np.nan, "direction": "", "basis": NOT_COMPARED_ASSUMED}
        return {**judged, "beyond_uncertainty": not spreads[0].overlaps(spreads[1]), "basis": ASSUMED_RANGE}
    se = np.hypot(_se(now), _se(before))
    z = change / se if se > 0 else np.nan
    return {**judged, "beyond_uncertainty": bool(abs(z) > 1.96) if np.isfinite(z) else None, "basis": SAMPLING}


def _se(estimate: Estimate) -> float:
    """Standard error implied by a 95% interval (0 when the estimate has none)."""
    if not (is_finite(estimate.ci_low) and is_finite(estimate.ci_high)):
        return 0.0
    return (estimate.ci_high - estimate.ci_low) / (2 * 1.959964)


_VERDICTS: dict[tuple[str, bool | None], str] = {
    (SAMPLING, True): "yes: a real change",
    (SAMPLING, False): "no: within noise",
    (ASSUMED_RANGE, True): "yes: beyond the range over its assumptions",
    (ASSUMED_RANGE, False): "no: within the range over its assumptions",
}


def changes_html(changes: pd.DataFrame) -> str:
    """The comparison as an escaped HTML table with plain-words verdicts (bounds, gaps and figures resting on
    assumptions without a range named, not compared).
    """
    if changes.empty:
        return "<p>No earlier run on this data source to compare with.</p>"
    head = "<tr><th>Figure</th><th>Before</th><th>Now</th><th>Change</th><th>Beyond its uncertainty?</th></tr>"
    body = []
    for row in changes.to_dict(orient="records"):
        basis = row.get("basis") or SAMPLING
        if is_finite(row["change"]):
            before, now = f"{row['previous']:,.1f}", f"{row['current']:,.1f}"
            change = f"{row['direction']} {row['change']:+,.1f}{unit_suffix(row['unit'])}"
            verdict = _VERDICTS.get((basis, row["beyond_uncertainty"]), "no interval to judge by")
        else:
            before, now = row["previous_text"], row["current_text"]
            change = "not compared"
            verdict = (f"{NOT_COMPARED_ASSUMED} (one run has no range over them)" if basis == NOT_COMPARED_ASSUMED
                       else "a bound or a missing figure cannot be compared")
        body.append(
            f"<tr><td>{html.escape(row['figure'])}</td><td>{html.escape(before)}</td><td>{html.escape(now)}</td>"
            f"<td>{html.escape(change)}</td><td>{html.escape(verdict)}</td></tr>"
        )
    return html_table(head, body)
