"""Cause-specific Cox models: one Cox model per churn reason, customers who left for another reason censored at
that time; hazard ratios per unit of each covariate, time in months, left truncation by risk sets from entry.

A cause-specific hazard ratio says how a covariate changes the rate of leaving for that reason among customers
still active (the question "does effort drive service churn?"); it is not the effect on how many leave for
it, which also depends on the other reasons (that is the Fine-Gray model's subdistribution hazard ratio).

References: Prentice, R. L. et al. (1978). The analysis of failure times in the presence of competing risks.
Biometrics 34:541-554; Putter, Fiocco & Geskus (2007). Tutorial in biostatistics: competing risks and
multi-state models. Stat Med 26:2389-2430.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from scipy import stats

from cxresearch.stats.intervals import Z95
from cxresearch.stats.sampling import Sample
from cxresearch.survival.causes import cause_data
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.display import summary_html


@dataclass
class CauseSpecificHazards:
    """Cause-specific hazard ratios, one model per reason: `table` has cause, term, coef, se, hr, ci_low, ci_high,
    p. `time_varying`: drivers as they stood each month (person-month cloglog); else customer columns (Cox)."""

    method: str
    table: pd.DataFrame
    events: dict[str, int]
    time_varying: bool = False
    sample: Sample | None = None
    reference_levels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per reason and term: hazard ratio per unit (or vs the reference level), 95% CI, p-value."""
        return self.table[["cause", "term", "hr", "ci_low", "ci_high", "p"]]

    def contrast(self, of: str, against: str) -> pd.DataFrame:
        """Per term in both models: the `of` and `against` hazard ratios and their ratio with a 95% CI (the reasons'
        likelihoods are separate, so the two estimates are independent); empty when either reason is missing."""
        s, o = (self.table[self.table["cause"] == c].set_index("term") for c in (of, against))
        terms = [t for t in s.index if t in o.index]
        diff = s.loc[terms, "coef"] - o.loc[terms, "coef"]
        se = np.sqrt(s.loc[terms, "se"] ** 2 + o.loc[terms, "se"] ** 2)
        return pd.DataFrame({f"hr_{of}": s.loc[terms, "hr"], f"hr_{against}": o.loc[terms, "hr"],
                             "ratio": np.exp(diff), "ci_low": np.exp(diff - Z95 * se),
                             "ci_high": np.exp(diff + Z95 * se), "p": 2 * stats.norm.sf(np.abs(diff / se))},
                            index=pd.Index(terms, name="term"))

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.events.items())
        sampled = [self.sample.describe("These models")] if self.sample is not None and self.sample.sampled else []
        return summary_html(self.summary(), f"{self.method}; departures by reason: {counts}", self.notes + sampled)


def cause_specific_cox(
    df: pd.DataFrame,
    covariates: Sequence[str],
    causes: Sequence[str] | None = None,
    columns: LifetimeColumns = LIFETIMES,
) -> CauseSpecificHazards:
    """Fit one Cox model (Efron ties) per reason with the other reasons censored.

    Parameters
    ----------
    df : one row per customer.
    covariates : columns entered (numeric per unit; others one-hot coded, most common level as reference).
    causes : reasons to model; default every reason in the data.
    columns : the lifetime's columns (`LifetimeColumns`): `cause` holds the reason of an observed end (missing =
        censored; see `causes.lifetimes_by_cause`), `entry` the start of observation (left truncation) or None.

    Returns
    -------
    CauseSpecificHazards
        Hazard ratios with 95% Wald CIs per cause and term.

    References
    ----------
    Prentice, R. L. et al. (1978). The analysis of failure times in the presence of competing risks.
    Biometrics 34:541-554.
    """
    wanted = list(causes) if causes is not None else sorted(df[columns.cause].dropna().astype(str).unique())
    tables, events, notes = [], {}, []
    for name in wanted:
        data = cause_data(df, name, covariates, columns)
        frame = pd.DataFrame(data.z, columns=data.terms).assign(_time=data.time, _event=data.status == 1)
        if data.truncated:
            frame["_entry"] = data.entry
        fitter = CoxPHFitter().fit(frame, "_time", "_event", entry_col="_entry" if data.truncated else None)
        s = fitter.summary
        tables.append(pd.DataFrame({
            "cause": name, "term": s.index, "coef": s["coef"].to_numpy(), "se": s["se(coef)"].to_numpy(),
            "hr": s["exp(coef)"].to_numpy(), "ci_low": s["exp(coef) lower 95%"].to_numpy(),
            "ci_high": s["exp(coef) upper 95%"].to_numpy(), "p": s["p"].to_numpy()}))
        events[name] = int((data.status == 1).sum())
        notes += [n for n in data.notes if n not in notes]
    method = "Cause-specific Cox models" + ("; risk sets from entry (left truncation)" if data.truncated else "")
    return CauseSpecificHazards(method, pd.concat(tables, ignore_index=True), events,
                                reference_levels=data.reference_levels, notes=notes)
