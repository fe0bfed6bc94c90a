"""The executive summary's text: each notebook's leading findings, the tested claims, what the data cannot tell
and what rests on a sample, and where the data came from."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Any

from cxresearch.report.cx_drivers import driver_effects
from cxresearch.report.suite_results import (
    ASSUMPTION_NOTEBOOKS,
    DRIVERS,
    SECTIONS,
    SuiteResults,
    is_finite,
    join_words,
)
from cxresearch.report.wording import assumption_text, clip_to_unit, html_table
from cxresearch.stats.estimate import format_p
from cxresearch.stats.sampling import percent

#: How many of each notebook's findings (most important first) make the brief; the rest stay in the reports.
HEADLINE_LIMITS: dict[str, int] = {
    "01_data_audit": 1, "02_churn_drivers": 2, "03_customer_lifetime": 2, "04_loyalty_metrics": 2,
    "05_retention_economics": 2, "06_churn_reasons": 1, "07_lifetime_models": 1, "08_value_at_stake": 2,
    "09_experiments": 2,
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
    quoted = join_words([f'"{n}"' for n in names])
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
        if notebook == DRIVERS and pooled:
            # One estimate per driver: the pooled model's, shown under "What goes with churn".
            findings = [f for f in findings if "odds ratio" not in f.lower()]
        stated = suite.assumptions(notebook) if notebook in ASSUMPTION_NOTEBOOKS else []
        for i, finding in enumerate(findings[: HEADLINE_LIMITS[notebook]]):
            # Once per section is enough, and not when the finding already says it.
            missing = [a for a in stated if a not in finding] if i == 0 else []
            lines.append(f"{title}: {finding}" + (f" ({assumption_text(missing)})" if missing else ""))
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


def _examples(analyses: list[str], shown: int = 3) -> str:
    """Up to `shown` analysis names and how many more."""
    unique = list(dict.fromkeys(_plain(a) for a in analyses))
    if len(unique) <= shown:
        return join_words(unique)
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
            f"{n_rest} more analyses could not run for lack of {join_words(rest, 'or')}"
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
    """Counts of tested and untestable claims of notebook 04 (its `untestable_claims`, else its evidence table).
    """
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
    tail = (f"; testing them would need {join_words(coverage.needs)}" if coverage.needs
            else "; the loyalty notebook says what each would need")
    verb = "can" if count.startswith("No ") else "cannot"
    return f"{count} {verb} be tested on this data{tail}."


def missing_sections(suite: SuiteResults) -> str:
    """The sections with no results in this run, by title ('' when every notebook wrote its results)."""
    return join_words([SECTIONS[nb] for nb in suite.missing]) if suite.missing else ""


def approximations(suite: SuiteResults) -> list[str]:
    """One line per analysis that rests on a random sample of the customers, saying how large it was."""
    return [
        f"{SECTIONS.get(notebook, notebook)}, {a['analysis']}: {a['n_used']:,} of {a['n_total']:,} "
        f"{a.get('unit', 'customers')} ({percent(a['n_used'] / a['n_total'])})"
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
    """The tested CX claims (claim, estimate with 95% CI, verdict, note) as escaped HTML; one line for the rest.
    """
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
        if is_finite(row.get("estimate")):
            ci = ""
            if is_finite(row.get("ci_low")) and is_finite(row.get("ci_high")):
                ci = f" ({clip_to_unit(row['ci_low'], unit):,.2f} to {clip_to_unit(row['ci_high'], unit):,.2f})"
            estimate = f"{row['estimate']:,.2f}{ci} {unit}".rstrip()
        verdict = _text(row.get("verdict"))
        colour = _VERDICT_COLOURS.get(verdict, "#57606a")
        p_cell = ""
        if adjusted:
            p_cell = f"<td>{html.escape(format_p(row['p_adjusted']) if is_finite(row.get('p_adjusted')) else '–')}</td>"
        rows.append(
            f"<tr><td>{html.escape(_text(row.get('claim')))}</td><td>{html.escape(estimate)}</td>{p_cell}"
            f'<td style="color:{colour};font-weight:600">{html.escape(verdict)}</td>'
            f"<td>{html.escape(_text(row.get('note')))}</td></tr>"
        )
    rule = suite.extra("04_loyalty_metrics", "claims_rule", "")
    rule_html = f"<p>{html.escape(rule)}</p>" if isinstance(rule, str) and rule else ""
    return rule_html + html_table(head, rows) + (f"<p>{html.escape(rest)}</p>" if rest else "")


def provenance_line(suite: SuiteResults) -> str:
    """'Data: <source> (<name>), fingerprint ..., observed until ...', and a warning when notebooks read different
    data; '' when no results file records its source.
    """
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
        text += f" Warning: {join_words(differing)} read different data (another fingerprint)."
    return text
