"""The executive summary's input: every analysis notebook's results file of a run, read as one `SuiteResults`.

The glossary of plain labels, the churn window a rate covers and the range of a figure over its assumed inputs are
read here; how the figures then read in words is `report.wording`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxresearch.report.results import Provenance, Results, read_results
from cxresearch.stats.estimate import Estimate

#: The notebooks whose figures the summary's sections quote by name.
DRIVERS, LOYALTY, ECONOMICS = "02_churn_drivers", "04_loyalty_metrics", "05_retention_economics"


#: The analysis notebooks the summary draws on, in reading order, with a plain-words title.
SECTIONS: dict[str, str] = {
    "01_data_audit": "The data",
    "02_churn_drivers": "Churn",
    "03_customer_lifetime": "How long customers stay",
    "04_loyalty_metrics": "Satisfaction, loyalty and effort",
    "05_retention_economics": "What retention is worth",
    "06_churn_reasons": "Why customers leave",
    "07_lifetime_models": "How good the lifetime models are",
    "08_value_at_stake": "What bad service costs",
    "09_experiments": "Experiments",
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
    "acquisition_to_retention_cost_ratio": ("Acquisition cost / cost to save a customer, at {save_rate_basis} save "
                                            "rate of {retention_save_rate:.0%}"),
    "p_retention_beats_acquisition": "Scenarios in which retention beats acquisition",
    "service_churn_share_pct": "Share of churn that is service-related",
    "bad_service_cost_annual": "Margin lost to bad service in a year",
}
#: Glossary fields a notebook may override in `extra["label_fields"]` (notebook 05: a save rate measured on a
#: campaign replaces the assumed one).
GLOSSARY_DEFAULTS: dict[str, str] = {"save_rate_basis": "an assumed"}
GLOSSARY_FALLBACK: dict[str, str] = {
    "churn_rate_window": "Churn within the prediction window",
    "acquisition_to_retention_cost_ratio": "Acquisition cost / cost to save a customer, at an assumed save rate",
}

#: Figures in money: shown in the data's currency, whatever unit the notebook's parameter default gave them.
MONEY_KEYS: frozenset[str] = frozenset({"clv_per_customer", "btyd_clv_per_customer", "residual_clv_per_customer",
                                        "bad_service_cost_annual"})
#: Figures that rest on what the churn flag covers: the data's stated assumptions are printed next to them.
ASSUMPTION_KEYS: frozenset[str] = frozenset({"median_lifetime_months"} | MONEY_KEYS)
#: Notebooks whose findings are lifetime or lifetime-value figures (their headlines carry the assumptions too).
ASSUMPTION_NOTEBOOKS: tuple[str, ...] = ("03_customer_lifetime", "05_retention_economics")
#: What money is called when neither the data nor the figure names a currency.
NO_CURRENCY = "currency units"


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
    horizon, by the same rule as `features.snapshot_dates`.
    """
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
        months = float(months) if is_finite(months) and months > 0 else None
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
        # Windows a notebook fitted to the data (`extra["windows"]`) and what it measured in place of an assumed
        # input (`extra["label_fields"]`) override the parameters it was given.
        fields = ({**GLOSSARY_DEFAULTS, **res.parameters, **(res.extra.get("windows") or {}),
                   **(res.extra.get("label_fields") or {})} if res is not None else {})
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


def is_finite(value: Any) -> bool:
    """Whether `value` is a real, finite number (not None, NaN or text)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(value)


def skip_reason(suite: SuiteResults, notebook: str) -> str:
    """The reason of `notebook`'s first recorded skip ('' when it skipped nothing or is absent)."""
    res = suite.results.get(notebook)
    return str(res.skipped[0]["reason"]) if res is not None and res.skipped else ""


def has_figure(estimate: Estimate | None) -> bool:
    """Whether there is a number to show (exact or a bound)."""
    return estimate is not None and estimate.estimable


def join_words(items: list[str], word: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


#: `<key>_assumed_low` and `<key>_assumed_high` (never as a confidence interval).
ASSUMED_KEYS: frozenset[str] = frozenset({"acquisition_to_retention_cost_ratio"})
ECONOMICS = "05_retention_economics"


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
    if not (has_figure(low) and has_figure(high)):
        return None
    return AssumedSpread(float(low.value), float(high.value))


def save_rate_input(suite: SuiteResults) -> dict[str, Any] | None:
    """The save-rate row of notebook 05's `retention_inputs` table (low, base, high as shares; source)."""
    table = suite.table(ECONOMICS, "retention_inputs")
    if table is None or "input" not in table:
        return None
    rows = table[table["input"] == "save_rate"].to_dict(orient="records")
    return rows[0] if rows else None
