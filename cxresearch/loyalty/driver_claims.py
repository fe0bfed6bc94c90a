"""Claims 3 to 5 (effort, proactive / unresolved / resolved contacts, channel inconsistency) from one pooled churn
model, claims 3b/3c: effort ranks churners better than CSAT and NPS, and claim 4a tested causally on a randomised
proactive campaign (row `4a_rct`) when the data has one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from cxresearch.churn.logit import ChurnLogitResult, fit_churn_logit
from cxresearch.data.schema import CXData
from cxresearch.errors import NotEstimableError
from cxresearch.experiments.campaigns import churn_by_arm, known_campaign_data, proactive_campaign
from cxresearch.experiments.effects import log_ratio
from cxresearch.loyalty.evidence import (
    MIN_EVENTS,
    RANDOMISED_SUFFIX,
    BootstrapInterval,
    Evidence,
    LogNormalInterval,
    VerdictRule,
    ratio_rule,
)
from cxresearch.loyalty.panels import (
    INSTRUMENTS,
    LEAKING_NEEDS,
    LEAKING_SCORE,
    dropped_reason,
    leaks,
    log_interval,
    varying_columns,
)
from cxresearch.loyalty.validity import compare_predictive_validity


def driver_model(panel: pd.DataFrame, leaking: Sequence[str] = ()) -> ChurnLogitResult:
    """Pooled logit of churn on resolved/unresolved/proactive/inconsistency counts, CES, tenure, contract, plan
    (less the `leaking` columns).

    Parameters
    ----------
    panel, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.

    Returns
    -------
    ChurnLogitResult
        The pooled logit of churn on the CX drivers and controls.
    """
    features = varying_columns(panel, ("resolved_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d",
                                "ces_mean_90d", "tenure_months"))
    features = [c for c in features if not leaks(c, leaking)]
    return fit_churn_logit(panel, features=features, categorical=varying_columns(panel, ("contract", "plan")),
                           exclude=leaking)


_DRIVER_CLAIMS: tuple[tuple[str, str, str, str, Callable[[float], VerdictRule], str, str], ...] = (
    ("3a", "ces_mean_90d", "'Effort kills loyalty' (tested as: higher effort, CES, goes with more churn)",
     "odds ratio per CES point (90-day mean), adjusted for contact counts, resolution, tenure, contract, plan",
     lambda m: ratio_rule("greater", m), "no effort scores (CES) in the feature windows", "effort scores (CES)"),
    ("4a", "proactive_90d", "'Proactive touches lower churn' (tested as: proactive contacts go with less churn)",
     "odds ratio per proactive (company-initiated) contact in the last 90 days, adjusted",
     lambda m: ratio_rule("less", m), "no proactive contacts in the data", "proactive contacts"),
    ("4b", "unresolved_90d", ("'Unresolved contacts raise churn' (tested as: reactive contacts not resolved at first "
     "contact go with more churn)"),
     "odds ratio per unresolved reactive contact in the last 90 days, adjusted",
     lambda m: ratio_rule("greater", m), "no reactive contacts with first-contact resolution recorded",
     "contact resolution"),
    ("4c", "resolved_90d", ("'Resolved contacts do no harm' (tested as: reactive contacts resolved at first contact go "
     "with no sizeable rise in churn)"),
     "odds ratio per resolved reactive contact in the last 90 days, adjusted (claim: at most the margin)",
     lambda m: VerdictRule(1.0, "greater", (round(1 / m, 3), m), equivalence=True),
     "no reactive contacts with first-contact resolution recorded", "contact resolution"),
    ("5", "inconsistency_90d", ("'Inconsistency across channels drives churn' (tested as: channel-inconsistency contacts "
     "go with more churn)"),
     "odds ratio per channel_inconsistency contact in the last 90 days, adjusted",
     lambda m: ratio_rule("greater", m), "no contact has reason 'channel_inconsistency'",
     "channel-inconsistency records"),
)


#: Per driver claim's term: the flat-data column holding what it counts (one undated value per customer), and
#: what flat data lacks when that column is absent.
_FLAT_EQUIVALENT: dict[str, tuple[str, str]] = {
    "ces_mean_90d": ("ces_last", "the data has no effort scores (CES) per customer"),
    "proactive_90d": ("proactive_contacts", "the data has no proactive contact counts"),
    "unresolved_90d": ("unresolved_contacts", "the data has no counts of contacts unresolved at first contact"),
    "resolved_90d": ("unresolved_contacts", "the data has no counts of contacts resolved at first contact"),
    "inconsistency_90d": ("", "the data has no channel-inconsistency records"),
}


def _no_panel_reason(flat: pd.DataFrame | None, term: str, reason: str, needs: str,
                     panel_problem: str) -> tuple[str, str]:
    """(reason, needs) for a driver claim when there is no dated panel. Flat data (`flat` given) either lacks
    the input altogether (`reason`, `needs`) or has it undated, so it cannot be placed before the churn month;
    event data too short for one snapshot needs more history."""
    if flat is None:
        return f"no monthly snapshot could be built ({panel_problem})", "more history"
    column, missing = _FLAT_EQUIVALENT.get(term, ("", reason))
    if column and column in flat and flat[column].notna().any():
        return ((f"flat data: {column.replace('_', ' ')} are recorded with the churn flag, undated, so they cannot "
                "be placed before the month a customer left"), "event dates")
    return missing, needs


def claim_drivers(panel: pd.DataFrame, margin: float = 1.05, leaking: Sequence[str] = (),
                  flat: pd.DataFrame | None = None, panel_problem: str = "") -> list[Evidence]:
    """Claims 3a (effort), 4 (proactive, unresolved, resolved contacts) and 5 (inconsistency) from one model.

    `leaking` columns stay out of the model (their rows say so). With no panel (`panel` empty) each row names the
    input it lacks: on flat data (its snapshot `flat`) the input or its dates, otherwise `panel_problem` (too
    short a history).

    Parameters
    ----------
    panel, margin, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.
    flat
        The flat snapshot on flat data (says which inputs exist undated); None otherwise.
    panel_problem
        Why no panel could be built, when none was.

    Returns
    -------
    list of Evidence
        Rows 3a, 4a, 4b, 4c and 5.
    """
    events = int(panel["churned"].sum()) if len(panel) else 0
    enough = min(events, len(panel) - events) >= MIN_EVENTS
    fit = driver_model(panel, leaking) if enough else None
    rows = []
    for id, term, claim, test, rule, reason, needs in _DRIVER_CLAIMS:
        if fit is None or term not in fit.coefficients.index:
            if not len(panel):
                why, needs = _no_panel_reason(flat, term, reason, needs, panel_problem)
            elif fit is None:
                why, needs = (f"only {events} churners and {len(panel) - events} stayers in the pooled snapshots "
                              f"(needs {MIN_EVENTS} of each)"), "churners"
            else:
                why = dropped_reason(fit, term, reason)
            rows.append(Evidence.untestable(id, claim, test, why, needs))
            continue
        rows.append(Evidence.judged(id, claim, test, fit.odds_ratio(term).value, log_interval(fit, term),
                                    "odds ratio per unit", rule(margin), fit.n,
                                    "Firth penalised fit" if "Firth" in fit.method else ""))
    return rows


def claim_effort_predicts_better(panel: pd.DataFrame, n_boot: int = 300, seed: int = 0,
                                 margin: float = 0.01, leaking: Sequence[str] = (),
                                 flat: pd.DataFrame | None = None) -> list[Evidence]:
    """Claim 3b/3c: CES ranks churners better than CSAT / NPS (AUC difference, paired cluster bootstrap).

    A comparison involving a `leaking` score cannot be made (the leaking score would win by construction).

    Parameters
    ----------
    panel, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.
    n_boot
        Bootstrap draws of the AUC difference.
    seed
        Seed of the bootstrap.
    margin
        AUC differences within +/- margin count as no difference.
    flat
        The flat snapshot on flat data; None otherwise.

    Returns
    -------
    list of Evidence
        Rows 3b (vs CSAT) and 3c (vs NPS).
    """
    rows = []
    for id, other, column in (("3b", "CSAT", "csat_mean_90d"), ("3c", "NPS", "nps_last")):
        claim = f"Effort predicts churn better than {other}"
        test = (f"ROC-AUC of CES (90-day mean) minus AUC of {other} for churn in the next month, same "
                "customer-months; paired bootstrap over customers")
        leaked = [n for c, n in (("ces_mean_90d", "CES"), (column, other)) if leaks(c, leaking)]
        if leaked:
            rows.append(Evidence.untestable(id, claim, test, LEAKING_SCORE.format(name=" and ".join(leaked)),
                                            LEAKING_NEEDS))
            continue
        needed = [c for c in ("ces_mean_90d", column) if c not in panel or not panel[c].notna().any()]
        both = panel.dropna(subset=["ces_mean_90d", column]) if not needed else panel.iloc[:0]
        events = int(both["churned"].sum())
        if min(events, len(both) - events) < MIN_EVENTS:
            rows.append(Evidence.untestable(id, claim, test, *_effort_shortage(panel, flat, needed, other, events,
                                                                              len(both))))
            continue
        result = compare_predictive_validity(
            both["churned"], {"CES": both["ces_mean_90d"], other: -both[column]}, "CES",
            clusters=both["customer_id"], n_boot=n_boot, seed=seed,
        )
        diff = result.differences.iloc[0]
        aucs = result.aucs["auc"]
        rows.append(Evidence.judged(
            id, claim, test, diff.difference, BootstrapInterval(tuple(result.difference_draws(other))),
            "AUC difference",
            VerdictRule(0.0, "greater", (-margin, margin)), result.n,
            f"AUC CES {aucs['CES']:.3f}, {other} {aucs[other]:.3f}",
        ))
    return rows


def _effort_shortage(panel: pd.DataFrame, flat: pd.DataFrame | None, needed: list[str], other: str, events: int,
                     n: int) -> tuple[str, str]:
    """(reason, needs) when too few customer-months carry both CES and `other`."""
    if not len(panel) and flat is not None:
        for column, name in (("ces_last", "CES"), (f"{other.lower()}_last", other)):
            if column not in flat or not flat[column].notna().any():
                return f"the data has no {name} scores per customer", INSTRUMENTS[name.lower()][1]
        return "flat data: the scores carry no dates, so they cannot be placed before the churn month", "event dates"
    if not len(panel):
        return "no monthly snapshot could be built (too short a history)", "more history"
    if "ces_mean_90d" in needed:
        return "no effort scores (CES) in the feature windows", "effort scores (CES)"
    if needed:
        return f"no {other} scores in the feature windows", INSTRUMENTS[other.lower()][1]
    return (f"only {events} churners among {n:,} customer-months with both CES and {other} (needs {MIN_EVENTS} "
            "churners and stayers)"), "churners"


#: Row id of claim 4a tested on a randomised proactive campaign, shown beside the observational row 4a.
RANDOMISED_PROACTIVE = f"4a{RANDOMISED_SUFFIX}"


def claim_proactive_randomised(data: CXData, margin: float = 1.05, campaign: str = "",
                               horizon_months: float = 12.0) -> Evidence:
    """Claim 4a by experiment: churn within `horizon_months` of assignment, proactive campaign vs its holdout.

    The campaign is `campaign` when given, else the one whose name marks it proactive
    (`experiments.campaigns.proactive_campaign`). Its treated arms together against the randomised control: the
    risk ratio of churn within the horizon (customers followed that long, as in notebook 09) with Katz's log
    interval, judged by the same rule as row 4a (`ratio_rule("less", margin)`). Randomisation makes a supported
    verdict a cause, not an association. Only assignments of customers in `data` count (a sample of customers
    keeps its part of the experiment, still randomised).

    Parameters
    ----------
    data
        The validated data.
    margin
        Equivalence margin for ratios (shared by the claim tests: see `cxresearch.loyalty.panels`).
    campaign
        The campaign to treat as proactive outreach; "" finds it by name.
    horizon_months
        Months after assignment churn counts in (shortened to the follow-up every arm has).

    Returns
    -------
    Evidence
        Row 4a_rct, judged; or untestable with the reason (no treatments, no proactive campaign, a campaign that
        records other outcomes than churn, too few churners) and the missing input.
    """
    claim = ("'Proactive follow-ups extend the relationship' (randomised: customers given the proactive campaign "
             "churn less than its holdout)")

    def test(horizon: float, name: str = "") -> str:
        return (f"risk ratio of churn within {horizon:g} months of assignment, proactive campaign {name} vs its "
                "randomised holdout (Katz log CI)").replace("  ", " ")

    try:
        name = proactive_campaign(data, campaign)
        cd = known_campaign_data(data, name, horizon_months)
    except NotEstimableError as err:
        return Evidence.untestable(RANDOMISED_PROACTIVE, claim, test(horizon_months), err.reason, err.needs)
    if cd.kind != "churn":
        why = f"campaign {name} records its own outcomes ({', '.join(cd.outcomes)}), not whether customers left"
        return Evidence.untestable(RANDOMISED_PROACTIVE, claim, test(horizon_months, name), why, "customer lifetimes")
    y1, y0 = churn_by_arm(cd)
    if min(y1.sum(), y0.sum()) < MIN_EVENTS:
        why = (f"campaign {name}: {int(y1.sum())} churners treated and {int(y0.sum())} in the holdout within "
               f"{cd.horizon:g} months (needs {MIN_EVENTS} in each)")
        return Evidence.untestable(RANDOMISED_PROACTIVE, claim, test(cd.horizon, name), why, "churners")
    log, se = log_ratio(y1, y0, binary=True)
    note = (f"randomised, so a cause rather than an association: {y1.mean():.1%} of {len(y1):,} treated and "
            f"{y0.mean():.1%} of {len(y0):,} held out left within {cd.horizon:g} months")
    return Evidence.judged(RANDOMISED_PROACTIVE, claim, test(cd.horizon, name), float(np.exp(log)),
                           LogNormalInterval(log, se), "risk ratio", ratio_rule("less", margin), len(y1) + len(y0), note)
