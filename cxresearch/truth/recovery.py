"""Known-truth checks on the demo world: estimated effects side by side with the simulator's truth."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

#: Scales a recovery row can be on; ratio scales are exponentiated log scales.
SCALES = ("odds_ratio", "log_odds", "hazard_ratio", "log_hazard")
#: How a direction that cannot be right or wrong reads: the true effect is exactly "no effect".
NOT_APPLICABLE = "n/a — true effect is zero"


def recovery_table(estimates: pd.DataFrame, true_values: dict[str, float], scale: str,
                   zero_effect: Collection[str] = ()) -> pd.DataFrame:
    """Per driver in both: `name, scale, true, estimate, ci_low, ci_high, truth_in_ci, same_direction`.

    `estimates` is indexed by feature term (`reactive_90d`, `contract[one_year]`; lifelines-style
    `contract=one_year` is accepted) with columns `estimate`, `ci_low`, `ci_high`, all on `scale`;
    `true_values` maps the same terms to the true value on that scale. Like must be compared with like
    (DESIGN.md): a window odds ratio is not a hazard ratio, so the caller supplies truth on the estimate's scale.

    `same_direction` is None ("not applicable", `direction_words`) where the true effect is exactly no effect: its
    value is the null of the scale, or the term is in `zero_effect` (terms whose generating effect is zero while
    their truth on this scale is itself an estimate, such as a window odds ratio from a large simulated world).
    An estimate can have no wrong sign there, only a CI that misses the null (`truth_in_ci`).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale!r}")
    est = estimates.rename(index=_canonical_term)
    null = 1.0 if scale in ("odds_ratio", "hazard_ratio") else 0.0
    rows = []
    for term, true in true_values.items():
        if term not in est.index:
            continue
        row = est.loc[term]
        zero = float(true) == null or term in zero_effect
        rows.append(
            {
                "name": term,
                "scale": scale,
                "true": float(true),
                "estimate": float(row["estimate"]),
                "ci_low": float(row["ci_low"]),
                "ci_high": float(row["ci_high"]),
                "truth_in_ci": bool(row["ci_low"] <= true <= row["ci_high"]),
                "same_direction": None if zero else bool(np.sign(row["estimate"] - null) == np.sign(true - null)),
            }
        )
    table = pd.DataFrame(rows, columns=["name", "scale", "true", "estimate", "ci_low", "ci_high", "truth_in_ci",
                                        "same_direction"])
    table["same_direction"] = table["same_direction"].astype(object)
    return table


def direction_words(same_direction: bool | None) -> str:
    """A `same_direction` cell in words: 'yes', 'no', or `NOT_APPLICABLE` when the true effect is zero."""
    return NOT_APPLICABLE if same_direction is None else ("yes" if same_direction else "no")


def direction_counts(table: pd.DataFrame) -> tuple[int, int]:
    """(right, judged): rows whose direction is right, of the rows where a direction can be right at all."""
    judged = [v for v in table["same_direction"] if v is not None]
    return sum(bool(v) for v in judged), len(judged)


def true_hazard_ratios(truth: dict) -> dict[str, float]:
    """The simulator's true hazard ratios keyed by feature term (from `truth.json`)."""
    return {c["feature"]: float(np.exp(c["value"])) for c in truth.get("coefficients", {}).values()}


def _canonical_term(term: str) -> str:
    """'contract=one_year' (lifelines dummies) -> 'contract[one_year]' (the truth's naming)."""
    name, sep, level = str(term).partition("=")
    return f"{name}[{level}]" if sep else str(term)
