"""Campaigns in the value-at-stake hazard model: each campaign's treated customers get a log hazard shift of their
own while its effect may last, varying with what the treatments table recorded about them at assignment.

Why: a campaign changes the hazard of the customers it treats, and its effect often depends on the same CX state
the levers move (a retention discount does little for a customer whose problem is unresolved). A model without
the campaign reads that pattern as a steeper effect of the drivers: on simulated worlds with a retention offer the
effort lever read 10-30% high. With these terms the campaign's own effect is estimated beside the drivers', and
the scenarios keep every campaign as it happened (a lever changes the drivers, not who was treated).

Per campaign (`data.treatments`), for the person-months of its customers in a non-control arm from the calendar
month of assignment for `EFFECT_MONTHS` months: an indicator `campaign[<name>]`, and its products with each
covariate recorded at assignment (`covariate_*`): numbers centred on the treated customers' mean (a missing value
counts as the mean), labels as one indicator per level beside the most common. A campaign, or a label level, with
fewer than `MIN_EVENTS` exits in those months is left out (too few to estimate an effect), as are covariates that
do not vary among the treated; with fewer than `EVENTS_PER_TERM` exits per term, a campaign gets one shift for all
its treated customers. The terms enter the all-cause hazard only: the campaigns are taken to move every
exit alike, not the mix of reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxresearch.data.schema import CONTROL_ARM, COVARIATE_PREFIX, CXData

#: Months from the month of assignment in which a campaign's effect is modelled (the horizon its own
#: measurement uses, `economics.value_at_stake_randomised.HORIZON_MONTHS`).
EFFECT_MONTHS = 12
#: Fewest exits among a term's treated person-months for the term to be estimated.
MIN_EVENTS = 10
#: Fewest exits among a campaign's treated person-months per term (its shift and each trait's) for the shift to
#: vary with the traits; with fewer, one shift for all its treated customers (the usual events-per-variable rule:
#: on a 600-customer world the traits' terms left bootstrap refits without a finite optimum).
EVENTS_PER_TERM = 10
#: Prefix of the terms' columns.
PREFIX = "campaign["


def is_campaign_term(column: str) -> bool:
    """Whether a design column is one of the campaign terms."""
    return column.startswith(PREFIX)


def campaign_terms(data: CXData, long: pd.DataFrame, origin: pd.Timestamp, notes: list[str]) -> pd.DataFrame:
    """The campaign terms of the person-months `long` (`customer_id`, `month` = calendar month from `origin`,
    `event`), indexed like it; no columns without treatments. What was modelled and left out is added to `notes`."""
    treatments = data.treatments
    out = pd.DataFrame(index=long.index)
    if treatments is None or treatments.empty:
        return out
    modelled, left_out = [], []
    for name, assigned in treatments.groupby("campaign", sort=True):
        treated = assigned[assigned["arm"] != CONTROL_ARM].drop_duplicates("customer_id").set_index("customer_id")
        on = _effect_months(treated["assigned_at"], long, origin)
        events = long["event"].to_numpy(bool) & on
        if events.sum() < MIN_EVENTS:
            left_out.append(f"{name} ({int(events.sum())} exits among its treated customers' months)")
            continue
        traits = _covariate_terms(name, treated, long["customer_id"], on, events)
        if events.sum() < EVENTS_PER_TERM * (1 + len(traits)):
            modelled.append(f"{name} (one shift for all: {int(events.sum())} exits are too few for its {len(traits)} "
                            f"traits at {EVENTS_PER_TERM} exits per term)")
            traits = {}
        else:
            modelled.append(f"{name} ({len(traits)} traits)")
        out = out.assign(**{f"{PREFIX}{name}]": on.astype(float)}, **traits)
    if modelled:
        notes.append(f"campaigns in the model: each campaign's treated customers have a hazard shift of their own for "
                     f"{EFFECT_MONTHS} months from assignment, varying with the traits recorded at assignment "
                     f"({'; '.join(modelled)}), so that a campaign's effect is not read as the drivers'; the scenarios "
                     "keep the campaigns as they happened")
    if left_out:
        notes.append(f"campaigns not modelled, fewer than {MIN_EVENTS} exits while their effect may last: "
                     + "; ".join(left_out))
    return out


def _effect_months(assigned_at: pd.Series, long: pd.DataFrame, origin: pd.Timestamp) -> np.ndarray:
    """Per person-month: whether it is one of its customer's `EFFECT_MONTHS` months from a treated assignment
    (`assigned_at` indexed by customer_id)."""
    first = (assigned_at.dt.year - origin.year) * 12 + assigned_at.dt.month - origin.month
    after = long["month"].to_numpy(float) - long["customer_id"].map(first).to_numpy(float)
    return (after >= 0) & (after < EFFECT_MONTHS)


def _covariate_terms(name: str, treated: pd.DataFrame, customer_id: pd.Series, on: np.ndarray, events: np.ndarray
                     ) -> dict[str, np.ndarray]:
    """The products of the campaign indicator `on` with each covariate recorded at assignment (`treated`, indexed
    by customer_id); levels with fewer than `MIN_EVENTS` exits (`events`) and constant covariates left out."""
    terms = {}
    for column in (c for c in treated.columns if c.startswith(COVARIATE_PREFIX)):
        values = treated[column]
        trait = column.removeprefix(COVARIATE_PREFIX)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            centred = values.astype(float) - values.astype(float).mean()
            per_row = customer_id.map(centred).fillna(0.0).to_numpy(float) * on
            if np.ptp(per_row[on]) > 0:
                terms[f"{PREFIX}{name}]:{trait}"] = per_row
            continue
        values = values.astype(object).where(values.notna(), "unknown").astype(str)
        labels = customer_id.map(values).to_numpy(object)
        for level in values.value_counts().index[1:]:
            is_level = on & (labels == level)
            if events[is_level].sum() >= MIN_EVENTS:
                terms[f"{PREFIX}{name}]:{trait}={level}"] = is_level.astype(float)
    return terms
