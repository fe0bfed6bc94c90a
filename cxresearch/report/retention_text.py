"""Retention vs acquisition in plain words for the executive page, from notebook 05's recorded figures."""

from __future__ import annotations

from cxresearch.report.suite_results import (
    ECONOMICS,
    SuiteResults,
    assumed_spread,
    has_figure,
    save_rate_input,
)
from cxresearch.report.wording import interval_text, pct_text, value_text
from cxresearch.stats.estimate import Estimate


def retention_vs_acquisition_text(suite: SuiteResults) -> str:
    """Plain-words verdict on retention vs acquisition, or why there is none.

    A figure resting on an assumed save rate is given as its range over the assumed inputs, with the break-even
    save rate and the save rate the "7x" claim needs; only a measured save rate earns a 95% CI and a verdict.
    """
    ratio = suite.estimate(ECONOMICS, "acquisition_to_retention_cost_ratio")
    p_win = suite.estimate(ECONOMICS, "p_retention_beats_acquisition")
    if ratio is None or not ratio.estimable:
        return f"Retention vs acquisition could not be assessed in this run{_why_not(suite, ratio)}."
    save = save_rate_input(suite)
    measured = save is not None and save.get("source") == "measured"
    spread = assumed_spread(suite, ECONOMICS, "acquisition_to_retention_cost_ratio")
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
    even = suite.estimate(ECONOMICS, "break_even_save_rate")
    need = suite.estimate(ECONOMICS, "claim_save_rate")
    multiple = (suite.results[ECONOMICS].parameters.get("claim_multiple") or 7) if ECONOMICS in suite.results else 7
    claim = f'The often-quoted "{multiple:g} times cheaper"'
    text = ""
    if has_figure(even):
        text += (f" Retention is cheaper than acquisition if more than {pct_text(even.value)} of contacted at-risk "
                 "customers stay because of the contact." if even.value <= 100 else
                 " At these contact costs saving a customer costs more than acquiring one, whatever the save rate.")
    if not has_figure(need):
        return text
    if need.value > 100:
        return text + f" {claim} would need {need.value:.0f}% of them to stay: not possible at these costs."
    if measured:
        return text + f" {claim} needs more than {pct_text(need.value)}."
    return (text + f" {claim} holds only if more than {pct_text(need.value)} stay; until a campaign with a control group "
            "measures the save rate, the data can neither support nor contradict it.")


def _scenario_text(p_win: Estimate | None, suite: SuiteResults) -> str:
    """' Counting what each customer is worth, retention spend buys more ... in P% of scenarios ...' or ''."""
    if not has_figure(p_win):
        return ""
    value_even = suite.estimate(ECONOMICS, "break_even_save_rate_value")
    when = (f" (it does whenever more than {pct_text(value_even.value)} stay)"
            if has_figure(value_even) and value_even.value <= 100 else "")
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
