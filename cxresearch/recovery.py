"""Known-truth checks on the demo world: estimated effects side by side with the simulator's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd


def recovery_table(estimates: pd.DataFrame, truth: dict, estimate_kind: str) -> pd.DataFrame:
    """Per driver in both `estimates` and `truth`: true hazard ratio, estimate with 95% CI, and agreement.

    `estimates` is indexed by feature term (`reactive_90d`, `contract[one_year]`; lifelines-style `contract=one_year`
    is accepted) with columns `estimate`, `ci_low`, `ci_high` on the ratio scale. `estimate_kind` names what was
    estimated (e.g. "window odds ratio", "hazard ratio"), because a window odds ratio only approximates a hazard
    ratio when churn in the window is rare (DESIGN.md, "compare like with like").
    """
    est = estimates.rename(index=_canonical_term)
    rows = []
    for name, coef in truth.get("coefficients", {}).items():
        term = coef["feature"]
        if term not in est.index:
            continue
        row = est.loc[term]
        true_ratio = float(np.exp(coef["value"]))
        rows.append(
            {
                "driver": name,
                "feature": term,
                "per": coef.get("per", ""),
                "true_hazard_ratio": true_ratio,
                "estimate": float(row["estimate"]),
                "ci_low": float(row["ci_low"]),
                "ci_high": float(row["ci_high"]),
                "estimate_kind": estimate_kind,
                "truth_in_ci": bool(row["ci_low"] <= true_ratio <= row["ci_high"]),
                "same_direction": bool(np.sign(np.log(row["estimate"])) == np.sign(coef["value"])),
            }
        )
    return pd.DataFrame(rows)


def _canonical_term(term: str) -> str:
    """'contract=one_year' (lifelines dummies) -> 'contract[one_year]' (the truth's naming)."""
    name, sep, level = str(term).partition("=")
    return f"{name}[{level}]" if sep else str(term)
