"""What notebook 09 (experiments) writes to its results file; the executive summary reads these keys.

Estimates, per campaign `c` and treated arm `a` (names lower-cased, other characters as `_`):

- `experiment_<c>_<a>_<outcome>_effect`: overall difference in the outcome, arm minus control, with its 95% CI:
  percentage points for 0/1 outcomes (visit, conversion, churned within the horizon), the currency for the
  money outcome (spend, margin in the horizon), the outcome's own units otherwise;
- `experiment_<c>_<a>_rmst_difference`: lifetime gained within the horizon (months), churn campaigns only;
- `experiment_<c>_<a>_best_policy_profit`: incremental profit per customer (currency) of the best targeting
  policy on the held-out half against treating no one, with its bootstrap 95% CI; the label names the policy;
- `experiment_<c>_<a>_best_policy_gain_over_everyone`: the same minus treating everyone (currency per customer,
  paired bootstrap 95% CI): what targeting adds over a blanket campaign (0 when everyone is the best policy).

Tables: `experiment_effects` (every outcome, segment and arm), `experiment_policies` (every policy, with the
cost per contact it is net of and where that cost came from: the data or the notebook's assumption),
`experiment_qini` (Qini coefficient per model) and `experiment_checks` (sample-ratio test and balance per
campaign). `extra["experiment_campaigns"]` lists the campaigns analysed; `extra["experiment_headlines"]` holds per
campaign and treated arm the headline outcome in words, the keys of its effect and of the best policy's profit
('' without targeting) and the best policy's name (the executive page's experiments chart).
"""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd

from cxresearch.experiments.analysis import CampaignAnalysis, ExperimentsResult
from cxresearch.experiments.effects import ALL
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate


def key_part(name: str) -> str:
    """A campaign, arm or outcome name as part of a results key: lower case, other characters as `_`."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_")


def _key(analysis: CampaignAnalysis, arm: str, what: str) -> str:
    """`experiment_<campaign>_<arm>_<what>`."""
    return f"experiment_{key_part(analysis.campaign)}_{key_part(arm)}_{what}"


def _effect_estimates(analysis: CampaignAnalysis, currency: str) -> dict[str, Estimate]:
    """Overall effect of each arm on each outcome, and the RMST difference, keyed per campaign and arm."""
    out = {}
    for effects in analysis.effects:
        binary = effects.kind == "binary"  # a difference of shares reads best in percentage points
        unit = "percentage points" if binary else currency if effects.outcome == analysis.data.value else ""
        for arm in effects.table.loc[effects.table["segment"] == ALL, "arm"]:
            estimate = effects.estimate(arm)
            label = f"{analysis.campaign}: {estimate.label}"
            if binary:
                estimate = replace(estimate, value=100 * estimate.value, ci_low=100 * estimate.ci_low,
                                   ci_high=100 * estimate.ci_high)
            out[_key(analysis, arm, f"{key_part(effects.outcome)}_effect")] = replace(estimate, unit=unit,
                                                                                       label=label)
    if analysis.rmst is not None:
        for arm in analysis.rmst.table["arm"]:
            estimate = analysis.rmst.estimate(arm)
            out[_key(analysis, arm, "rmst_difference")] = replace(estimate, label=f"{analysis.campaign}: {estimate.label}")
    return out


#: Why the best policy's figures lean high: it is picked on the half that measures it.
BEST_NOTE = ("the policy with the highest estimate on the held-out half, which also measures it: the best of "
             "several noisy estimates is slightly optimistic")


def _best_policy(analysis: CampaignAnalysis) -> dict[str, Estimate]:
    """The best targeting policy's incremental profit per customer, and its gain over treating everyone
    (paired bootstrap CI), per treated arm."""
    out = {}
    for targeting in analysis.targeting:
        policies, best = targeting.policies, targeting.policies.best
        where = f"{analysis.campaign}, {targeting.arm}"
        out[_key(analysis, targeting.arm, "best_policy_profit")] = replace(
            policies.estimate(best), label=f"{where}: incremental profit per customer of the best policy ({best}), "
            "held-out half", note=f"{BEST_NOTE}; {policies.cost_text}")
        out[_key(analysis, targeting.arm, "best_policy_gain_over_everyone")] = replace(
            policies.difference(best, "everyone"), label=f"{where}: profit per customer of the best policy ({best}) "
            "minus treating everyone, held-out half", note=f"{BEST_NOTE}; {policies.cost_text}")
    return out


def _checks(analysis: CampaignAnalysis) -> dict[str, object]:
    """One row of randomisation checks: arms, customers, sample-ratio test and the largest |SMD|."""
    smd, srm = analysis.balance.table["smd"].abs(), analysis.srm
    return {
        "campaign": analysis.campaign, "arms": len(srm.counts), "customers": int(srm.counts["observed"].sum()),
        "srm_chi2": srm.chi2, "srm_p": srm.p_value, "sample_ratio_mismatch": srm.mismatch,
        "max_abs_smd": float(smd.max()) if len(smd) else 0.0,
        "imbalanced_covariates": int(analysis.balance.table["flagged"].sum()),
    }


def _headline_outcome(analysis: CampaignAnalysis) -> tuple[str, str]:
    """The outcome a campaign is summarised by (the one the uplift models use, else the first) and its name in
    words: (outcome, words)."""
    outcome = analysis.data.uplift_outcome if analysis.data.kind == "outcomes" else analysis.data.outcomes[0]
    outcome = outcome or analysis.data.outcomes[0]
    words = f"churn within {analysis.data.horizon:g} months" if analysis.data.kind == "churn" else outcome
    return outcome, words


def _headlines(analysis: CampaignAnalysis) -> list[dict[str, str]]:
    """Per treated arm, what the executive chart shows: the campaign, arm, headline outcome in words, the keys
    of its effect and of the best policy's profit ('' without targeting) and the best policy's name."""
    outcome, words = _headline_outcome(analysis)
    best = {t.arm: t.policies.best for t in analysis.targeting}
    return [{"campaign": analysis.campaign, "arm": arm, "outcome": words,
             "effect": _key(analysis, arm, f"{key_part(outcome)}_effect"),
             "profit": _key(analysis, arm, "best_policy_profit") if arm in best else "", "policy": best.get(arm, "")}
            for arm in analysis.data.arms]


def _finding(analysis: CampaignAnalysis, estimates: dict[str, Estimate]) -> str:
    """One sentence per campaign: each arm's effect on the outcome the uplift models use (else the first) and
    the best targeting policy's profit per customer."""
    outcome, name = _headline_outcome(analysis)
    best = {t.arm: t.policies.best for t in analysis.targeting}
    parts = []
    for arm in analysis.data.arms:
        effect = estimates.get(_key(analysis, arm, f"{key_part(outcome)}_effect"))
        text = f"{arm} changed {name} by {effect.format(2)}" if effect else f"{arm}: no effect estimate"
        if arm in best:
            text += (f", and the best targeting policy ({best[arm]}) earns "
                     f"{estimates[_key(analysis, arm, 'best_policy_profit')].format(2)} per customer")
        parts.append(text)
    return f"Campaign {analysis.campaign} (randomised, vs control): " + "; ".join(parts) + "."


def record_experiments(results: Results, result: ExperimentsResult, *, currency: str = "") -> None:
    """Notebook 09: each campaign's effects, checks, Qini and targeting policies; skips with their reasons.

    Parameters
    ----------
    results : Results
        The notebook's results file.
    result : ExperimentsResult
        From `cxresearch.experiments.analysis.analyse_experiments`.
    currency : str
        Unit of money outcomes and profits (the data's currency).
    """
    for skip in result.skipped:
        results.skip(skip.analysis, skip.reason, needs=skip.needs)
    if not result.campaigns:
        return
    effects, policies, qini, headlines = [], [], [], []
    for analysis in result.campaigns:
        headlines += _headlines(analysis)
        estimates = {**_effect_estimates(analysis, currency), **_best_policy(analysis)}
        results.estimates.update(estimates)
        results.findings.append(_finding(analysis, estimates))
        effects.append(analysis.effects_table().assign(campaign=analysis.campaign))
        policies.append(analysis.policy_table().assign(campaign=analysis.campaign))
        qini.append(analysis.qini_table().assign(campaign=analysis.campaign))
        results.warnings.extend(analysis.data.notes)
    results.add_table("experiment_effects", pd.concat(effects, ignore_index=True))
    results.add_table("experiment_policies", pd.concat(policies, ignore_index=True))
    results.add_table("experiment_qini", pd.concat(qini, ignore_index=True))
    results.add_table("experiment_checks", pd.DataFrame([_checks(a) for a in result.campaigns]))
    results.extra["experiment_campaigns"] = [a.campaign for a in result.campaigns]
    results.extra["experiment_headlines"] = headlines
