"""The executive summary's building blocks, made only from the analysis notebooks' results files."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxresearch.results import Estimate, Results, read_results

#: The analysis notebooks the summary draws on, in reading order, with a plain-words title.
SECTIONS: dict[str, str] = {
    "01_data_audit": "The data",
    "02_churn_drivers": "What drives churn",
    "03_customer_lifetime": "How long customers stay",
    "04_loyalty_metrics": "Satisfaction, loyalty and effort",
    "05_retention_economics": "What retention is worth",
}

#: KPI tiles: (notebook, estimate key or keys in order of preference, digits).
KPI_TILES: list[tuple[str, str | tuple[str, ...], int]] = [
    ("02_churn_drivers", "churn_rate_window", 1),
    ("03_customer_lifetime", "median_lifetime_months", 1),
    ("04_loyalty_metrics", "nps_score", 1),
    ("04_loyalty_metrics", "ces_high_effort_pct", 1),
    # Contractual data gives CLV from survival curves; purchase logs only from BG/NBD x Gamma-Gamma.
    ("05_retention_economics", ("clv_per_customer", "btyd_clv_per_customer"), 0),
    ("05_retention_economics", "acquisition_to_retention_cost_ratio", 2),
]


@dataclass
class SuiteResults:
    """Every results file found in a run's results directory, and which expected ones are missing."""

    results: dict[str, Results]
    missing: list[str]

    def estimate(self, notebook: str, key: str) -> Estimate | None:
        """The estimate `key` of `notebook`, or None when that notebook or figure is absent."""
        res = self.results.get(notebook)
        return None if res is None else res.estimates.get(key)

    def table(self, notebook: str, key: str, min_cell_size: int = 0) -> pd.DataFrame | None:
        """A results table as a DataFrame (rows with `n` below `min_cell_size` dropped), or None when absent."""
        res = self.results.get(notebook)
        if res is None or key not in res.tables:
            return None
        table = pd.DataFrame(res.tables[key])
        if min_cell_size and "n" in table:
            table = table[table["n"] >= min_cell_size].reset_index(drop=True)
        return table


def load_suite_results(results_dir: str | Path) -> SuiteResults:
    """Read every `<notebook>.json` in `results_dir`; list the expected notebooks that wrote nothing."""
    directory = Path(results_dir)
    found = {p.stem: read_results(p) for p in sorted(directory.glob("*.json")) if p.stem in SECTIONS}
    return SuiteResults(results=found, missing=[nb for nb in SECTIONS if nb not in found])


def kpi_tiles_html(suite: SuiteResults) -> str:
    """A row of KPI tiles (self-contained HTML, every text escaped); absent figures are shown as 'not available'."""
    tiles = []
    for notebook, keys, digits in KPI_TILES:
        keys = (keys,) if isinstance(keys, str) else keys
        key = next((k for k in keys if suite.estimate(notebook, k) is not None), keys[0])
        est = suite.estimate(notebook, key)
        if est is None:
            value, label, ci = "n/a", key.replace("_", " "), "not available in this run"
        else:
            unit = est.unit if est.unit in ("%",) else f" {est.unit}" if est.unit not in ("", "ratio", "count") else ""
            value = f"{est.value:,.{digits}f}{unit}"
            label = est.label
            ci = (
                f"95% CI {est.ci_low:,.{digits}f} to {est.ci_high:,.{digits}f}"
                if est.ci_low is not None and est.ci_high is not None
                else "no interval"
            )
        tiles.append(
            '<div style="flex:1 1 180px;border:1px solid #d0d7de;border-radius:8px;padding:12px 14px;'
            'background:#f8fafc">'
            f'<div style="font-size:26px;font-weight:700;color:#0b3d91">{html.escape(value)}</div>'
            f'<div style="font-size:14px;margin-top:4px">{html.escape(label)}</div>'
            f'<div style="font-size:12px;color:#57606a;margin-top:2px">{html.escape(ci)}</div></div>'
        )
    return '<div style="display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px">' + "".join(tiles) + "</div>"


#: How many of each notebook's findings (most important first) make the brief; the rest stay in the reports.
HEADLINE_LIMITS: dict[str, int] = {
    "01_data_audit": 1, "02_churn_drivers": 2, "03_customer_lifetime": 2, "04_loyalty_metrics": 2,
    "05_retention_economics": 2,
}


def headlines(suite: SuiteResults) -> list[str]:
    """The leading findings of each notebook, in section order, prefixed by the section title."""
    lines = []
    for notebook, title in SECTIONS.items():
        res = suite.results.get(notebook)
        if res is None:
            lines.append(f"{title}: no results (the analysis did not complete in this run).")
            continue
        lines.extend(f"{title}: {finding}" for finding in res.findings[: HEADLINE_LIMITS[notebook]])
    return lines


def not_estimated(suite: SuiteResults) -> list[str]:
    """One line per analysis the data could not support, with the reason."""
    return [
        f"{SECTIONS[notebook]}: {s['analysis']} ({s['reason']})"
        for notebook, res in suite.results.items() for s in res.skipped
    ]


def approximations(suite: SuiteResults) -> list[str]:
    """One line per analysis that rests on a random sample of the customers, saying how large it was."""
    return [
        f"{SECTIONS.get(notebook, notebook)}, {a['analysis']}: {a['n_used']:,} of {a['n_total']:,} "
        f"{a.get('unit', 'customers')} ({a['n_used'] / a['n_total']:.0%})"
        for notebook, res in suite.results.items() for a in res.approximations
    ]


_VERDICT_COLOURS = {
    "supported": "#1a7f37", "not supported": "#cf222e", "inconclusive": "#9a6700", "cannot test": "#6e7781",
}


def evidence_html(suite: SuiteResults) -> str:
    """The CX-claims evidence table (claim, estimate with 95% CI, verdict, note) as escaped HTML."""
    table = suite.table("04_loyalty_metrics", "evidence")
    if table is None or table.empty:
        return "<p>The claims could not be tested in this run.</p>"
    head = "<tr><th>Claim</th><th>Estimate (95% CI)</th><th>Verdict</th><th>Note</th></tr>"
    rows = []
    for row in table.itertuples():
        if pd.notna(row.estimate):
            ci = f" ({row.ci_low:,.2f} to {row.ci_high:,.2f})" if pd.notna(row.ci_low) else ""
            estimate = f"{row.estimate:,.2f}{ci} {row.unit}"
        else:
            estimate = "–"
        colour = _VERDICT_COLOURS.get(row.verdict, "#57606a")
        rows.append(
            f"<tr><td>{html.escape(str(row.claim))}</td><td>{html.escape(estimate)}</td>"
            f'<td style="color:{colour};font-weight:600">{html.escape(str(row.verdict))}</td>'
            f"<td>{html.escape(str(row.note or ''))}</td></tr>"
        )
    return _table(head, rows)


def retention_verdict(suite: SuiteResults) -> str:
    """Plain-words verdict on retention vs acquisition spend, with its uncertainty, or why there is none."""
    ratio = suite.estimate("05_retention_economics", "acquisition_to_retention_cost_ratio")
    p_win = suite.estimate("05_retention_economics", "p_retention_beats_acquisition")
    if ratio is None:
        return "Retention vs acquisition could not be assessed in this run."
    text = (
        f"Acquiring a customer costs {ratio.format(2)} times what it costs to keep one at risk "
        f"(the often-quoted figure is 7)."
    )
    if p_win is not None:
        text += (
            f" Across the plausible range of the inputs, retention spend buys more lifetime value than acquisition "
            f"spend in {p_win.format(0)} of scenarios."
        )
    return text


def bullets_html(lines: list[str]) -> str:
    """An escaped HTML bullet list."""
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


#: Figures compared with the previous run: (notebook, estimate key).
KEY_FIGURES: list[tuple[str, str]] = [
    ("02_churn_drivers", "churn_rate_window"),
    ("04_loyalty_metrics", "nps_score"),
    ("03_customer_lifetime", "median_lifetime_months"),
    ("05_retention_economics", "clv_per_customer"),
    ("05_retention_economics", "acquisition_to_retention_cost_ratio"),
]


def compare_runs(current: SuiteResults, previous: SuiteResults) -> pd.DataFrame:
    """Key figures now vs the previous run: change, and whether it exceeds the two estimates' uncertainty.

    Standard errors are read back from the 95% intervals (width / 3.92) and the change is called real when
    |z| = |change| / sqrt(se_now^2 + se_before^2) > 1.96. Successive runs share most customers, so their
    estimates are positively correlated and this test is conservative: it misses some real changes rather than
    flagging noise.
    """
    rows = []
    for notebook, key in KEY_FIGURES:
        now, before = current.estimate(notebook, key), previous.estimate(notebook, key)
        if now is None or before is None:
            continue
        change = now.value - before.value
        se = np.hypot(_se(now), _se(before))
        z = change / se if se > 0 else np.nan
        beyond = bool(abs(z) > 1.96) if np.isfinite(z) else None
        rows.append(
            {
                "figure": now.label,
                "unit": now.unit,
                "previous": before.value,
                "current": now.value,
                "change": change,
                "direction": "▲" if change > 0 else "▼" if change < 0 else "=",
                "beyond_uncertainty": beyond,
            }
        )
    return pd.DataFrame(
        rows, columns=["figure", "unit", "previous", "current", "change", "direction", "beyond_uncertainty"]
    )


def _se(estimate: Estimate) -> float:
    """Standard error implied by a 95% interval (0 when the estimate has none)."""
    if estimate.ci_low is None or estimate.ci_high is None:
        return 0.0
    return (estimate.ci_high - estimate.ci_low) / (2 * 1.959964)


def changes_html(changes: pd.DataFrame) -> str:
    """The comparison as an escaped HTML table with plain-words verdicts."""
    if changes.empty:
        return "<p>No earlier run on this data source to compare with.</p>"
    head = "<tr><th>Figure</th><th>Before</th><th>Now</th><th>Change</th><th>Beyond its uncertainty?</th></tr>"
    body = []
    for row in changes.itertuples():
        verdict = {True: "yes: a real change", False: "no: within noise", None: "no interval"}[row.beyond_uncertainty]
        body.append(
            f"<tr><td>{html.escape(row.figure)}</td><td>{row.previous:,.1f}</td><td>{row.current:,.1f}</td>"
            f"<td>{row.direction} {row.change:+,.1f} {html.escape(row.unit)}</td><td>{verdict}</td></tr>"
        )
    return _table(head, body)


_CELL = "text-align:left;vertical-align:top;padding:4px 10px;border-bottom:1px solid #d0d7de"


def _table(head: str, rows: list[str]) -> str:
    """A left-aligned, ruled HTML table (inline styles, so the page needs no stylesheet)."""
    body = (head + "".join(rows)).replace("<th>", f'<th style="{_CELL}">').replace("<td>", f'<td style="{_CELL}">')
    body = body.replace('<td style="color:', f'<td style="{_CELL};color:')
    return f'<table style="border-collapse:collapse;font-size:14px;margin:8px 0">{body}</table>'
