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

import pandas as pd
from lifelines import CoxPHFitter

from cxresearch.survival.causes import cause_data
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns


@dataclass
class CauseSpecificResult:
    """Cause-specific hazard ratios: `table` has cause, covariate, coef, se, hr, ci_low, ci_high, p."""

    table: pd.DataFrame
    events: dict[str, int]
    n: int
    truncated: bool
    reference_levels: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """One row per cause and covariate: hazard ratio per unit with 95% CI and Wald p-value."""
        return self.table[["cause", "covariate", "hr", "ci_low", "ci_high", "p"]]

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in self.events.items())
        head = (f"<p><b>Cause-specific Cox models</b>: {self.n} customers; departures by reason {counts}"
                f"{'; risk sets from entry (left truncation)' if self.truncated else ''}.</p>")
        return head + self.summary().round(4).to_html(index=False) + "".join(f"<p>{n}</p>" for n in self.notes)


def cause_specific_cox(
    df: pd.DataFrame,
    covariates: Sequence[str],
    causes: Sequence[str] | None = None,
    columns: LifetimeColumns = LIFETIMES,
) -> CauseSpecificResult:
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
    CauseSpecificResult
        Hazard ratios with 95% Wald CIs per cause and covariate.

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
            "cause": name, "covariate": s.index, "coef": s["coef"].to_numpy(), "se": s["se(coef)"].to_numpy(),
            "hr": s["exp(coef)"].to_numpy(), "ci_low": s["exp(coef) lower 95%"].to_numpy(),
            "ci_high": s["exp(coef) upper 95%"].to_numpy(), "p": s["p"].to_numpy()}))
        events[name] = int((data.status == 1).sum())
        notes += [n for n in data.notes if n not in notes]
    return CauseSpecificResult(table=pd.concat(tables, ignore_index=True), events=events, n=len(data.time),
                               truncated=data.truncated, reference_levels=data.reference_levels, notes=notes)
