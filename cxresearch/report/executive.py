"""The executive summary's building blocks, made only from the analysis notebooks' results files.

Every figure on the page goes through `value_text` or `Estimate.format`, so a median not reached reads as a lower
bound in words and a figure the data cannot give is left out (the reason is in "What this data cannot tell us"):
the page never says nan, None or n/a.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxresearch.report.results import Provenance, Results, read_results
from cxresearch.stats.estimate import Estimate, format_p
from cxresearch.stats.multiplicity import holm_adjusted

#: The analysis notebooks the summary draws on, in reading order, with a plain-words title.
SECTIONS: dict[str, str] = {
    "01_data_audit": "The data",
    "02_churn_drivers": "Churn",
    "03_customer_lifetime": "How long customers stay",
    "04_loyalty_metrics": "Satisfaction, loyalty and effort",
    "05_retention_economics": "What retention is worth",
}

#: The one glossary of the page: estimate key -> plain label. `{name}` fields are filled from the parameters of
#: the notebook that recorded the figure; `GLOSSARY_FALLBACK` holds the label when they cannot be.
GLOSSARY: dict[str, str] = {
    "churn_rate_window": "Churned {window}",
    "median_lifetime_months": "Median customer lifetime",
    "nps_score": "Net Promoter Score",
    "ces_high_effort_pct": "Customers reporting high effort",
    "clv_per_customer": "Lifetime value of a new customer",
    "btyd_clv_per_customer": "Remaining value of a current customer (purchase model)",
    "residual_clv_per_customer": "Remaining value of a current customer",
    "acquisition_to_retention_cost_ratio": ("Acquisition cost / cost to save a customer, at an assumed save rate of "
                                            "{retention_save_rate:.0%}"),
    "p_retention_beats_acquisition": "Scenarios in which retention beats acquisition",
}
GLOSSARY_FALLBACK: dict[str, str] = {
    "churn_rate_window": "Churn within the prediction window",
    "acquisition_to_retention_cost_ratio": "Acquisition cost / cost to save a customer, at an assumed save rate",
}

#: Figures in money: shown in the data's currency, whatever unit the notebook's parameter default gave them.
MONEY_KEYS: frozenset[str] = frozenset({"clv_per_customer", "btyd_clv_per_customer", "residual_clv_per_customer"})
#: Figures that rest on what the churn flag covers: the data's stated assumptions are printed next to them.
ASSUMPTION_KEYS: frozenset[str] = frozenset({"median_lifetime_months"} | MONEY_KEYS)
#: Notebooks whose findings are lifetime or lifetime-value figures (their headlines carry the assumptions too).
ASSUMPTION_NOTEBOOKS: tuple[str, ...] = ("03_customer_lifetime", "05_retention_economics")
#: What money is called when neither the data nor the figure names a currency.
NO_CURRENCY = "currency units"

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
]

#: Where each unit's values can lie: an interval end outside is clipped for display (the notebooks fix the source).
UNIT_RANGES: dict[str, tuple[float, float]] = {
    "%": (0.0, 100.0), "points": (-100.0, 100.0), "months": (0.0, math.inf), "count": (0.0, math.inf),
    "ratio": (0.0, math.inf),
}


@dataclass
class ChurnWindow:
    """The period a churn rate covers: `months` after the snapshot `date`, or on flat data the `months` up to
    `date` (the data's churn flag looks back from the end of observation)."""

    months: float | None
    date: str = ""
    flat: bool = False

    def words(self) -> str:
        """'within 3 months of 2025-10-01', 'in the 24 months up to 2024-01-31', 'within 3 months' (no date known)."""
        if self.months is None:
            return "in the period the data's churn flag covers" + (f", up to {self.date}" if self.date else "")
        span = f"{self.months:g} month{'' if self.months == 1 else 's'}"
        if self.flat:
            return f"in the {span} up to {self.date}" if self.date else f"in the {span} the data's churn flag covers"
        return f"within {span} of {self.date}" if self.date else f"within {span}"


def default_snapshot_date(observed_until: str, horizon_months: float) -> str:
    """The snapshot date a notebook uses when `as_of` is empty (ISO date): the latest with a fully observed
    horizon, by the same rule as `features.snapshot_dates`."""
    from cxresearch.features.snapshot import snapshot_dates

    as_of = snapshot_dates(None, observed_until, 1, int(horizon_months))[0]
    return pd.Timestamp(as_of).date().isoformat()


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

    def extra(self, notebook: str, key: str, default: Any = None) -> Any:
        """`results.extra[key]` of `notebook`, or `default` when the notebook or the key is absent."""
        res = self.results.get(notebook)
        return default if res is None else res.extra.get(key, default)

    def currency(self, override: str = "") -> str:
        """The data's currency: `override` if given, else what the notebooks recorded (05 first), else ''."""
        if override:
            return override
        for notebook in ("05_retention_economics", *SECTIONS):
            recorded = self.extra(notebook, "currency")
            if isinstance(recorded, str) and recorded:
                return recorded
        return ""

    def assumptions(self, notebook: str) -> list[str]:
        """The stated data assumptions (plain sentences) a notebook's figures rest on."""
        recorded = self.extra(notebook, "assumptions", [])
        return [str(a) for a in recorded if str(a).strip()] if isinstance(recorded, list) else []

    def provenance(self, notebook: str) -> Provenance | None:
        """The data source `notebook` recorded (None for the notebook absent or a file older than the record)."""
        res = self.results.get(notebook)
        return None if res is None else res.provenance

    def churn_window(self, notebook: str = "02_churn_drivers") -> ChurnWindow | None:
        """The window of `notebook`'s churn rates: its fitted horizon and snapshot date, or None when absent.

        The date is the one the notebook recorded (`extra["windows"]["as_of"]`), else its `as_of` parameter, else
        (an empty `as_of`: the default snapshot) derived from the recorded end of observation; flat data describes
        the end of observation itself.
        """
        res = self.results.get(notebook)
        if res is None:
            return None
        windows = res.extra.get("windows") if isinstance(res.extra.get("windows"), dict) else {}
        months = windows.get("horizon_months", res.parameters.get("horizon_months"))
        months = float(months) if _finite(months) and months > 0 else None
        until = res.provenance.observed_until if res.provenance is not None else ""
        if res.extra.get("data_shape") == "flat":
            return ChurnWindow(months, until, flat=True)
        date = str(windows.get("as_of") or res.parameters.get("as_of") or "")[:10]
        if not date and until and months:
            date = default_snapshot_date(until, months)
        return ChurnWindow(months, date)

    def label(self, notebook: str, key: str) -> str:
        """The glossary's plain label for `key`, with the recording notebook's parameters filled in."""
        template = GLOSSARY.get(key)
        if template is None:
            est = self.estimate(notebook, key)
            return est.label if est is not None else key.replace("_", " ")
        res = self.results.get(notebook)
        # Windows a notebook fitted to the data (`extra["windows"]`) override the parameters it was given.
        fields = {**res.parameters, **(res.extra.get("windows") or {})} if res is not None else {}
        window = self.churn_window(notebook)
        if window is not None and (window.months is not None or window.flat):
            fields["window"] = window.words()
        try:
            return re.sub(r"\b1 months\b", "1 month", template.format(**fields))
        except (KeyError, ValueError, TypeError, IndexError):
            return GLOSSARY_FALLBACK.get(key, template)


def load_suite_results(results_dir: str | Path) -> SuiteResults:
    """Read every `<notebook>.json` in `results_dir`; list the expected notebooks that wrote nothing."""
    directory = Path(results_dir)
    found = {p.stem: read_results(p) for p in sorted(directory.glob("*.json")) if p.stem in SECTIONS}
    return SuiteResults(results=found, missing=[nb for nb in SECTIONS if nb not in found])


def money_unit(suite: SuiteResults, estimate: Estimate, override: str = "") -> str:
    """The currency of a money figure: the override, the data's, the figure's own unit, or 'currency units'."""
    own = estimate.unit if estimate.unit not in ("", "currency") else ""
    return suite.currency(override) or own or NO_CURRENCY


def clip_to_unit(value: float, unit: str) -> float:
    """`value` moved into the range its unit allows (percentages 0-100, NPS points -100 to 100, months >= 0)."""
    low, high = UNIT_RANGES.get(unit, (-math.inf, math.inf))
    return min(max(value, low), high)


def _finite(value: Any) -> bool:
    """Whether `value` is a real, finite number (not None, NaN or text)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)


def _unit_suffix(unit: str) -> str:
    """How a unit follows a number: '%' directly, nothing for counts and ratios, otherwise after a space."""
    return "" if unit in ("", "count", "ratio") else unit if unit == "%" else f" {unit}"


def value_text(estimate: Estimate, digits: int = 1, unit: str | None = None) -> str:
    """The figure alone, in words when it is a bound: '12.3%', 'more than 36.0 months', 'not estimable'."""
    unit = estimate.unit if unit is None else unit
    if not estimate.estimable:
        return "not estimable"
    text = f"{estimate.value:,.{digits}f}{_unit_suffix(unit)}"
    return {"lower": f"more than {text}", "upper": f"less than {text}"}.get(estimate.bound, text)


def interval_text(estimate: Estimate, digits: int = 1) -> str:
    """'95% CI low to high' with both ends inside the unit's range, or '' when the figure has no interval."""
    if not estimate.exact or not (_finite(estimate.ci_low) and _finite(estimate.ci_high)):
        return ""
    low, high = clip_to_unit(estimate.ci_low, estimate.unit), clip_to_unit(estimate.ci_high, estimate.unit)
    return f"95% CI {low:,.{digits}f} to {high:,.{digits}f}"


def _bound_note(estimate: Estimate) -> str:
    """Why a figure is a bound, in words (the notebook's reason, or the usual one for a median not reached)."""
    if estimate.reason:
        return estimate.reason
    return "not reached within the follow-up" if estimate.bound == "lower" else "an upper limit only"


def _assumption_text(sentences: list[str]) -> str:
    """The stated assumptions as one line: 'Assumption: ...'."""
    if not sentences:
        return ""
    return "Assumption: " + " ".join(s if s.rstrip().endswith(".") else f"{s}." for s in sentences)


def lifetime_assumptions(suite: SuiteResults) -> str:
    """'Assumption: ...' for the lifetime and value figures (the data's stated assumptions), or ''."""
    sentences = [a for nb in ASSUMPTION_NOTEBOOKS for a in suite.assumptions(nb)]
    return _assumption_text(list(dict.fromkeys(sentences)))


def kpi_tiles_html(suite: SuiteResults, currency: str = "") -> str:
    """A row of KPI tiles (self-contained HTML, every text escaped), one per figure this run could estimate.

    A bound shows as 'more than ...' with its reason; money is in the data's currency (or `currency`); lifetime
    and value figures carry the data's stated assumptions in a small line underneath.
    """
    tiles = []
    for notebook, keys, digits in KPI_TILES:
        keys = (keys,) if isinstance(keys, str) else keys
        key = next((k for k in keys if _has_figure(suite.estimate(notebook, k))), None)
        if key is None:
            continue
        est = suite.estimate(notebook, key)
        unit = money_unit(suite, est, currency) if key in MONEY_KEYS else est.unit
        spread = assumed_spread(suite, notebook, key)
        if spread is not None:
            # An assumed input has no confidence interval: show its range over the assumptions instead.
            caption = f"{spread.low:,.{digits}f} to {spread.high:,.{digits}f} over the assumed inputs"
        else:
            caption = interval_text(est, digits) if est.exact else _bound_note(est)
        assumption = _assumption_text(suite.assumptions(notebook)) if key in ASSUMPTION_KEYS else ""
        tiles.append(
            '<div style="flex:1 1 180px;border:1px solid #d0d7de;border-radius:8px;padding:12px 14px;'
            'background:#f8fafc">'
            f'<div style="font-size:26px;font-weight:700;color:#0b3d91">'
            f"{html.escape(value_text(est, digits, unit))}</div>"
            f'<div style="font-size:14px;margin-top:4px">{html.escape(suite.label(notebook, key))}</div>'
            + (f'<div style="font-size:12px;color:#57606a;margin-top:2px">{html.escape(caption)}</div>' if caption
               else "")
            + (f'<div style="font-size:11px;color:#57606a;margin-top:4px;font-style:italic">'
               f"{html.escape(assumption)}</div>" if assumption else "")
            + "</div>"
        )
    if not tiles:
        return "<p>No key figure could be estimated from this data; what it lacks is listed below.</p>"
    return '<div style="display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px">' + "".join(tiles) + "</div>"


def _has_figure(estimate: Estimate | None) -> bool:
    """Whether there is a number to show (exact or a bound)."""
    return estimate is not None and estimate.estimable


#: How many of each notebook's findings (most important first) make the brief; the rest stay in the reports.
HEADLINE_LIMITS: dict[str, int] = {
    "01_data_audit": 1, "02_churn_drivers": 2, "03_customer_lifetime": 2, "04_loyalty_metrics": 2,
    "05_retention_economics": 2,
}

#: Words that mean a number went missing on the way to a sentence; such a finding stays in its notebook only.
_BROKEN = re.compile(r"\b(nan|NaN|n/a|inf)\b|\bNone\b(?! of)")


def leaking_columns(suite: SuiteResults) -> list[str]:
    """Names of the columns notebook 02 found recorded after the churn decision (excluded from its models)."""
    recorded = suite.extra("02_churn_drivers", "leaking_columns", [])
    if not isinstance(recorded, list):
        return []
    names = [str(c.get("column")) if isinstance(c, dict) else str(c) for c in recorded]
    return [n for n in names if n and n != "None"]


def leakage_headline(suite: SuiteResults) -> str:
    """The leakage finding in plain words, or '' when no column leaked."""
    names = leaking_columns(suite)
    if not names:
        return ""
    quoted = _join([f'"{n}"' for n in names])
    if len(names) == 1:
        return (f"The column {quoted} is recorded after customers decide to leave, so it cannot predict churn; "
                "it was left out of the churn analyses.")
    return (f"The columns {quoted} are recorded after customers decide to leave, so they cannot predict churn; "
            "they were left out of the churn analyses.")


def headlines(suite: SuiteResults) -> list[str]:
    """The leading findings of each notebook, in section order, prefixed by the section title.

    A leakage finding comes first; lifetime and value findings carry the data's stated assumptions. When the
    page shows the drivers from the pooled claims model, the churn-drivers model's odds-ratio findings are left
    out (one estimate per driver).
    """
    lead = leakage_headline(suite)
    leaked = [n.lower() for n in leaking_columns(suite)]
    lines = [lead] if lead else []
    effects = driver_effects(suite)
    pooled = effects is not None and effects.model == "pooled"
    for notebook, title in SECTIONS.items():
        res = suite.results.get(notebook)
        if res is None:
            lines.append(f"{title}: no results (the analysis did not complete in this run).")
            continue
        findings = [f for f in res.findings if _readable(f) and not any(name in f.lower() for name in leaked)]
        if notebook == _DRIVERS and pooled:
            # One estimate per driver: the pooled model's, shown under "What goes with churn".
            findings = [f for f in findings if "odds ratio" not in f.lower()]
        stated = suite.assumptions(notebook) if notebook in ASSUMPTION_NOTEBOOKS else []
        for i, finding in enumerate(findings[: HEADLINE_LIMITS[notebook]]):
            # Once per section is enough, and not when the finding already says it.
            missing = [a for a in stated if a not in finding] if i == 0 else []
            lines.append(f"{title}: {finding}" + (f" ({_assumption_text(missing)})" if missing else ""))
    return lines


def _readable(finding: str) -> bool:
    """Whether a finding is a sentence without a lost number ('nan', 'None', 'n/a')."""
    return bool(finding.strip()) and not _BROKEN.search(finding)


#: Skips that check the method itself (only the demo world has a known truth), not questions about the customers.
_METHOD_CHECKS: frozenset[str] = frozenset({"known-truth check"})
#: Most lines "What this data cannot tell us" may have; the full list stays in the research notebooks.
MAX_GAP_LINES = 5


def _is_claim(skip: dict[str, str]) -> bool:
    """Whether a skipped analysis is one of the CX claims (they collapse into one line)."""
    return str(skip.get("analysis", "")).lower().startswith("claim ")


def _plain(name: str) -> str:
    """An analysis name as prose (column names lose their underscores)."""
    return str(name).replace("_", " ")


def _join(items: list[str], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _examples(analyses: list[str], shown: int = 3) -> str:
    """Up to `shown` analysis names and how many more."""
    unique = list(dict.fromkeys(_plain(a) for a in analyses))
    if len(unique) <= shown:
        return _join(unique)
    return f"{', '.join(unique[:shown])} and {len(unique) - shown} more"


def not_estimated(suite: SuiteResults) -> list[str]:
    """What this data cannot tell us, in at most `MAX_GAP_LINES` plain lines grouped by the missing input.

    Groups with the most analyses come first; the rest, and skips that name no missing input, share the last
    line. The untestable CX claims are one line naming the data that would test them.
    """
    groups: dict[str, list[str]] = {}
    for res in suite.results.values():
        for skip in res.skipped:
            if skip.get("analysis") in _METHOD_CHECKS or _is_claim(skip):
                continue
            groups.setdefault(str(skip.get("needs") or ""), []).append(str(skip.get("analysis", "")))
    claims = untestable_claims_line(suite)
    other = groups.pop("", [])
    named = sorted(groups, key=lambda needs: -len(groups[needs]))
    room = MAX_GAP_LINES - bool(claims)
    if len(named) + bool(other) <= room:
        lines = [f"Not possible without {needs}: {_examples(groups[needs])}." for needs in named]
        if other:
            lines.append(f"Not possible for other reasons, given in the research notebooks: {_examples(other)}.")
    else:
        kept, rest = named[: room - 1], named[room - 1:]
        lines = [f"Not possible without {needs}: {_examples(groups[needs])}." for needs in kept]
        n_rest = sum(len(groups[needs]) for needs in rest) + len(other)
        lines.append(
            f"{n_rest} more analyses could not run for lack of {_join(rest, 'or')}"
            + (", and for other reasons" if other else "") + "; the research notebooks list them."
        )
    return lines + ([claims] if claims else [])


@dataclass
class ClaimCoverage:
    """How many of the CX claims this data could test, and what would test the rest."""

    n_claims: int
    n_untestable: int
    needs: list[str]


def claim_coverage(suite: SuiteResults) -> ClaimCoverage | None:
    """Counts of tested and untestable claims of notebook 04 (its `untestable_claims`, else its evidence table)."""
    res = suite.results.get("04_loyalty_metrics")
    if res is None:
        return None
    evidence = res.tables.get("evidence", [])
    recorded = res.extra.get("untestable_claims")
    if isinstance(recorded, dict):
        untestable = len(recorded.get("claims") or [])
        needs = [str(n) for n in recorded.get("needs") or [] if n]
    else:
        untestable = sum(row.get("verdict") == "cannot test" for row in evidence)
        needs = list(dict.fromkeys(str(s["needs"]) for s in res.skipped if _is_claim(s) and s.get("needs")))
    return ClaimCoverage(n_claims=max(len(evidence), untestable), n_untestable=untestable, needs=needs)


def untestable_claims_line(suite: SuiteResults) -> str:
    """One line for the claims this data cannot test and the data that would test them ('' when none)."""
    coverage = claim_coverage(suite)
    if coverage is None or coverage.n_untestable == 0:
        return ""
    if coverage.n_untestable >= coverage.n_claims:
        count = f"No CX claim ({coverage.n_claims} in all)"
    else:
        count = f"{coverage.n_untestable} of the {coverage.n_claims} CX claims"
    tail = (f"; testing them would need {_join(coverage.needs)}" if coverage.needs
            else "; the loyalty notebook says what each would need")
    verb = "can" if count.startswith("No ") else "cannot"
    return f"{count} {verb} be tested on this data{tail}."


def missing_sections(suite: SuiteResults) -> str:
    """The sections with no results in this run, by title ('' when every notebook wrote its results)."""
    return _join([SECTIONS[nb] for nb in suite.missing]) if suite.missing else ""


def approximations(suite: SuiteResults) -> list[str]:
    """One line per analysis that rests on a random sample of the customers, saying how large it was."""
    return [
        f"{SECTIONS.get(notebook, notebook)}, {a['analysis']}: {a['n_used']:,} of {a['n_total']:,} "
        f"{a.get('unit', 'customers')} ({a['n_used'] / a['n_total']:.0%})"
        for notebook, res in suite.results.items() for a in res.approximations if a.get("n_total")
    ]


_VERDICT_COLOURS = {
    "supported": "#1a7f37", "not supported": "#cf222e", "inconclusive": "#9a6700", "cannot test": "#6e7781",
}


def _text(value: Any) -> str:
    """A table cell as text: '' for missing values (never 'nan' or 'None')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def evidence_html(suite: SuiteResults) -> str:
    """The tested CX claims (claim, estimate with 95% CI, verdict, note) as escaped HTML; one line for the rest."""
    table = suite.table("04_loyalty_metrics", "evidence")
    if table is None or table.empty:
        return "<p>The claims could not be tested in this run.</p>"
    tested = table[table["verdict"] != "cannot test"] if "verdict" in table else table
    coverage = claim_coverage(suite)
    untestable = coverage.n_untestable if coverage is not None else 0
    if tested.empty:
        return f"<p>{html.escape(untestable_claims_line(suite) or 'No claim could be tested on this data.')}</p>"
    rest = (f"The other {untestable} claim{'s' if untestable > 1 else ''} cannot be tested on this data; what "
            "would test them is under \"What this data cannot tell us\"." if untestable else "")
    adjusted = "p_adjusted" in tested and tested["p_adjusted"].notna().any()
    head = ("<tr><th>Claim</th><th>Estimate (95% CI)</th>" + ("<th>Adjusted p</th>" if adjusted else "")
            + "<th>Verdict</th><th>Note</th></tr>")
    rows = []
    for row in tested.to_dict(orient="records"):
        unit = _text(row.get("unit"))
        estimate = "–"
        if _finite(row.get("estimate")):
            ci = ""
            if _finite(row.get("ci_low")) and _finite(row.get("ci_high")):
                ci = f" ({clip_to_unit(row['ci_low'], unit):,.2f} to {clip_to_unit(row['ci_high'], unit):,.2f})"
            estimate = f"{row['estimate']:,.2f}{ci} {unit}".rstrip()
        verdict = _text(row.get("verdict"))
        colour = _VERDICT_COLOURS.get(verdict, "#57606a")
        p_cell = ""
        if adjusted:
            p_cell = f"<td>{html.escape(format_p(row['p_adjusted']) if _finite(row.get('p_adjusted')) else '–')}</td>"
        rows.append(
            f"<tr><td>{html.escape(_text(row.get('claim')))}</td><td>{html.escape(estimate)}</td>{p_cell}"
            f'<td style="color:{colour};font-weight:600">{html.escape(verdict)}</td>'
            f"<td>{html.escape(_text(row.get('note')))}</td></tr>"
        )
    rule = suite.extra("04_loyalty_metrics", "claims_rule", "")
    rule_html = f"<p>{html.escape(rule)}</p>" if isinstance(rule, str) and rule else ""
    return rule_html + _table(head, rows) + (f"<p>{html.escape(rest)}</p>" if rest else "")


#: Figures that rest on inputs nobody measured: notebook 05 records their spread over the assumptions as
#: `<key>_assumed_low` and `<key>_assumed_high` (never as a confidence interval).
ASSUMED_KEYS: frozenset[str] = frozenset({"acquisition_to_retention_cost_ratio"})
_ECONOMICS = "05_retention_economics"


@dataclass
class AssumedSpread:
    """A figure's range over its assumed inputs (the percentiles notebook 05 recorded), for words, not a CI."""

    low: float
    high: float

    def overlaps(self, other: AssumedSpread) -> bool:
        """Whether the two ranges share any value."""
        return self.low <= other.high and other.low <= self.high


def assumed_spread(suite: SuiteResults, notebook: str, key: str) -> AssumedSpread | None:
    """The recorded range of `key` over its assumed inputs, or None when the run recorded none."""
    low, high = (suite.estimate(notebook, f"{key}_assumed_{end}") for end in ("low", "high"))
    if not (_has_figure(low) and _has_figure(high)):
        return None
    return AssumedSpread(float(low.value), float(high.value))


def _save_rate_input(suite: SuiteResults) -> dict[str, Any] | None:
    """The save-rate row of notebook 05's `retention_inputs` table (low, base, high as shares; source)."""
    table = suite.table(_ECONOMICS, "retention_inputs")
    if table is None or "input" not in table:
        return None
    rows = table[table["input"] == "save_rate"].to_dict(orient="records")
    return rows[0] if rows else None


def _pct(value: float) -> str:
    """A percentage for the page: one decimal below 10%, none above."""
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def retention_verdict(suite: SuiteResults) -> str:
    """Plain-words verdict on retention vs acquisition, or why there is none.

    A figure resting on an assumed save rate is given as its range over the assumed inputs, with the break-even
    save rate and the save rate the "7x" claim needs; only a measured save rate earns a 95% CI and a verdict.
    """
    ratio = suite.estimate(_ECONOMICS, "acquisition_to_retention_cost_ratio")
    p_win = suite.estimate(_ECONOMICS, "p_retention_beats_acquisition")
    if ratio is None or not ratio.estimable:
        return f"Retention vs acquisition could not be assessed in this run{_why_not(suite, ratio)}."
    save = _save_rate_input(suite)
    measured = save is not None and save.get("source") == "measured"
    spread = assumed_spread(suite, _ECONOMICS, "acquisition_to_retention_cost_ratio")
    if measured:
        interval = interval_text(ratio, 2)
        text = (f"Acquiring a customer costs {value_text(ratio, 2)}{f' ({interval})' if interval else ''} times "
                "what it costs to keep one at risk, with the save rate measured on a campaign.")
    elif spread is not None and save is not None:
        text = (f"Acquiring a customer costs between {spread.low:,.2f} and {spread.high:,.2f} times what it costs to "
                f"keep one at risk, depending on the save rate (assumed {100 * save['low']:.0f}-"
                f"{100 * save['high']:.0f}%: no campaign with a control group has measured it). This is a range over "
                "the assumed inputs, not a confidence interval.")
    else:
        text = (f"Acquiring a customer costs {value_text(ratio, 2)} times what it costs to keep one at risk at an "
                "assumed save rate that nothing in the data measured.")
    return text + _break_even_text(suite, measured) + _scenario_text(p_win, suite)


def _break_even_text(suite: SuiteResults, measured: bool) -> str:
    """' Retention is cheaper ... if more than X% ... stay. The often-quoted "7 times cheaper" ...' or ''."""
    even = suite.estimate(_ECONOMICS, "break_even_save_rate")
    need = suite.estimate(_ECONOMICS, "claim_save_rate")
    multiple = (suite.results[_ECONOMICS].parameters.get("claim_multiple") or 7) if _ECONOMICS in suite.results else 7
    claim = f'The often-quoted "{multiple:g} times cheaper"'
    text = ""
    if _has_figure(even):
        text += (f" Retention is cheaper than acquisition if more than {_pct(even.value)} of contacted at-risk "
                 "customers stay because of the contact." if even.value <= 100 else
                 " At these contact costs saving a customer costs more than acquiring one, whatever the save rate.")
    if not _has_figure(need):
        return text
    if need.value > 100:
        return text + f" {claim} would need {need.value:.0f}% of them to stay: not possible at these costs."
    if measured:
        return text + f" {claim} needs more than {_pct(need.value)}."
    return (text + f" {claim} holds only if more than {_pct(need.value)} stay; until a campaign with a control group "
            "measures the save rate, the data can neither support nor contradict it.")


def _scenario_text(p_win: Estimate | None, suite: SuiteResults) -> str:
    """' Counting what each customer is worth, retention spend buys more ... in P% of scenarios ...' or ''."""
    if not _has_figure(p_win):
        return ""
    value_even = suite.estimate(_ECONOMICS, "break_even_save_rate_value")
    when = (f" (it does whenever more than {_pct(value_even.value)} stay)"
            if _has_figure(value_even) and value_even.value <= 100 else "")
    return (f" Counting what each customer is worth, retention spend buys more lifetime value than acquisition "
            f"spend in {value_text(p_win, 0)} of scenarios over the assumed inputs{when}.")


def _why_not(suite: SuiteResults, ratio: Estimate | None) -> str:
    """': it needs <input>' (or the recorded reason) for the missing retention-vs-acquisition figure, else ''."""
    res = suite.results.get("05_retention_economics")
    skip = next((s for s in res.skipped if s.get("analysis") == "retention vs acquisition"), {}) if res else {}
    if skip.get("needs"):
        return f": it needs {skip['needs']}"
    reason = (ratio.reason if ratio is not None else "") or skip.get("reason", "")
    return f" ({reason})" if reason else ""


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
        if now is None or before is None or not (_has_figure(now) or _has_figure(before)):
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
    if not (_finite(estimate.ci_low) and _finite(estimate.ci_high)):
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
    assumptions without a range named, not compared)."""
    if changes.empty:
        return "<p>No earlier run on this data source to compare with.</p>"
    head = "<tr><th>Figure</th><th>Before</th><th>Now</th><th>Change</th><th>Beyond its uncertainty?</th></tr>"
    body = []
    for row in changes.to_dict(orient="records"):
        basis = row.get("basis") or SAMPLING
        if _finite(row["change"]):
            before, now = f"{row['previous']:,.1f}", f"{row['current']:,.1f}"
            change = f"{row['direction']} {row['change']:+,.1f}{_unit_suffix(row['unit'])}"
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
    return _table(head, body)


_CELL = "text-align:left;vertical-align:top;padding:4px 10px;border-bottom:1px solid #d0d7de"


def _table(head: str, rows: list[str]) -> str:
    """A left-aligned, ruled HTML table (inline styles, so the page needs no stylesheet)."""
    body = (head + "".join(rows)).replace("<th>", f'<th style="{_CELL}">').replace("<td>", f'<td style="{_CELL}">')
    body = body.replace('<td style="color:', f'<td style="{_CELL};color:')
    return f'<table style="border-collapse:collapse;font-size:14px;margin:8px 0">{body}</table>'


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
_CLAIMS = "04_loyalty_metrics"
_DRIVERS = "02_churn_drivers"
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
    design = suite.extra(_CLAIMS, "claims_design", "")
    churn_window = suite.churn_window(_DRIVERS)
    within = churn_window.words() if churn_window is not None else "in the prediction window"
    n = suite.estimate(_DRIVERS, "churn_n")
    at_one = f"one snapshot of {n.value:,.0f} customers" if _has_figure(n) else "one snapshot"
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
    table = suite.table(_CLAIMS, "evidence")
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
    table = suite.table(_DRIVERS, "odds_ratios")
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
    return all(_finite(row.get(k)) and row[k] > 0 for k in ("estimate", "ci_low", "ci_high"))


def _p_below(recorded: Any, fallback: float) -> bool:
    """Whether the recorded adjusted p-value (else `fallback`) is below `DRIVER_ALPHA`."""
    p = recorded if _finite(recorded) else fallback
    return _finite(p) and p < DRIVER_ALPHA


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
    an action (the driver's odds ratio in the direction the action needs)."""
    effects = driver_effects(suite)
    actions = [
        Action(e.driver.action, e.words(), e.z)
        for e in (effects.effects if effects is not None else [])
        if e.supported and e.driver.action and e.direction() == e.driver.helps
    ]
    return sorted(actions, key=lambda a: -a.z)[:limit]


def campaign_note(suite: SuiteResults) -> str:
    """What the evidence says about a retention campaign when its value rests on assumed inputs ('' otherwise)."""
    save = _save_rate_input(suite)
    if save is not None and save.get("source") == "measured":
        return ""
    even = suite.estimate(_ECONOMICS, "break_even_save_rate")
    # The model whose campaign is worth more, as notebook 02's own finding reports it.
    model = max(("logit", "boosting"), key=lambda m: _value_or(suite.estimate(_DRIVERS, f"empc_{m}")))
    empc, share = (suite.estimate(_DRIVERS, f"empc_{model}{suffix}") for suffix in ("", "_fraction"))
    parts = []
    if _has_figure(empc) and _has_figure(share) and empc.value > 0:
        parts.append(f"targeting the riskiest {_pct(share.value)} of customers by the churn model is worth an "
                     f"expected {empc.value:,.2f} {suite.currency() or NO_CURRENCY} per customer at the assumed "
                     "offer cost and acceptance")
    if _has_figure(even) and even.value <= 100:
        parts.append(f"retention is cheaper than acquisition only if more than {_pct(even.value)} of contacted "
                     "at-risk customers stay because of the contact")
    if not parts:
        return ""
    return ("Not on this list: a retention campaign. Its value rests on inputs nobody measured: "
            + "; ".join(parts) + ". A campaign with a randomly held-out control group would measure the save rate "
            "and turn this into evidence.")


def _value_or(estimate: Estimate | None, default: float = -math.inf) -> float:
    """An estimate's value, or `default` when there is none."""
    return float(estimate.value) if _has_figure(estimate) else default


def actions_html(suite: SuiteResults) -> str:
    """The 'What to do' section: the ranked actions with their figures, or a plain sentence that there are none."""
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


def provenance_line(suite: SuiteResults) -> str:
    """'Data: <source> (<name>), fingerprint ..., observed until ...', and a warning when notebooks read different
    data; '' when no results file records its source."""
    recorded = {nb: suite.provenance(nb) for nb in suite.results}
    recorded = {nb: p for nb, p in recorded.items() if p is not None}
    if not recorded:
        return ""
    first = next(iter(recorded.values()))
    text = f"Data: {first.resolved or first.source}"
    text += f" ({first.name})" if first.name and first.name not in (first.source, first.resolved) else ""
    text += f", fingerprint {first.fingerprint}" if first.fingerprint else ""
    text += f", observed until {first.observed_until}." if first.observed_until else "."
    differing = [SECTIONS.get(nb, nb) for nb, p in recorded.items() if p.fingerprint != first.fingerprint]
    if differing:
        text += f" Warning: {_join(differing)} read different data (another fingerprint)."
    return text
