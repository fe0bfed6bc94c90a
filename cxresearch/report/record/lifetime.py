"""What notebook 03 (customer lifetime) writes to its results file; the executive summary reads these keys.

`record_lifetime` records the whole notebook; the section recorders it calls (`record_overall_lifetime`,
`record_segment_lifetimes`, ...) are public so that one section can be recorded, and tested, on its own."""

from __future__ import annotations

import pandas as pd

from cxresearch.churn.logit import FEATURE_LABELS
from cxresearch.errors import NotEstimableError
from cxresearch.report.results import Results
from cxresearch.stats.estimate import Estimate
from cxresearch.survival.groups import ALL
from cxresearch.survival.kaplan_meier import KMResult
from cxresearch.survival.landmark import EXPERIENCE_NEEDS, LandmarkComparisons
from cxresearch.survival.lifetime import (
    HORIZONS,
    NO_ENDS,
    PH_SWITCHED_OFF,
    LandmarkCox,
    LifetimeExtrapolation,
    SegmentLifetimes,
    overall_median,
    overall_sentence,
)
from cxresearch.survival.ph import PHVerdict
from cxresearch.survival.timevarying import TenurePHCheck, TimeVaryingDrivers


def record_lifetime(
    results: Results,
    *,
    km: KMResult,
    segments: SegmentLifetimes,
    experience: LandmarkComparisons,
    landmark_cox: LandmarkCox | None,
    extrapolation: LifetimeExtrapolation | None,
    aft_failure: NotEstimableError | None,
    tv: TimeVaryingDrivers | None,
    why_not: str,
    verdict: PHVerdict | None,
    recovery: pd.DataFrame | None,
) -> None:
    """Notebook 03: the whole base's lifetime, the segment and landmark comparisons, the landmark Cox model, the
    parametric extrapolation, the time-varying model with its tenure check, the one proportional-hazards verdict
    per term and the known-truth table; every step that could not run is recorded as a skip with its reason.

    Parameters
    ----------
    results : the notebook's results file, extended in place.
    km : Kaplan-Meier of the whole base (one group).
    segments : `survival.lifetime.compare_segments` result.
    experience : `survival.lifetime.compare_at_landmark` result.
    landmark_cox : `survival.lifetime.fit_landmark_cox` result (None: skipped, the reason taken from `experience`).
    extrapolation : `survival.lifetime.extrapolate_lifetime` result, or None with `aft_failure` saying why.
    aft_failure : why no parametric model could be fitted (None when one was, or for "no model converged").
    tv : `survival.timevarying.fit_time_varying_drivers` result, or None with `why_not` saying why.
    why_not : why there is no time-varying model ("" when there is).
    verdict : `survival.lifetime.ph_verdict` result (None: neither check ran; nothing recorded).
    recovery : the known-truth table (None: the data has no truth).
    """
    record_overall_lifetime(results, km)
    record_segment_lifetimes(results, segments)
    record_landmark_groups(results, experience)
    record_landmark_cox(results, landmark_cox, experience)
    record_extrapolation(results, extrapolation, aft_failure)
    record_time_varying(results, tv, why_not)
    record_tenure_ph(results, tv, why_not)
    record_ph_verdict(results, verdict)
    record_lifetime_recovery(results, recovery)
    results.warnings = list(dict.fromkeys(results.warnings))


def record_overall_lifetime(results: Results, km: KMResult) -> None:
    """Median lifetime (`median_lifetime_months`) and survival at `HORIZONS` of the whole base, with a finding."""
    overall = km.to_estimates(HORIZONS)
    overall.pop(f"median_lifetime_{ALL}")
    results.add("median_lifetime_months", overall_median(km))
    if int(km.medians["events"].sum()) == 0:
        results.skip("median lifetime and survival curves", NO_ENDS, needs="churners")
    else:
        results.estimates.update(overall)
    results.warnings.extend(km.notes)
    results.findings.append(overall_sentence(km) + _assumptions_clause(results))


def record_segment_lifetimes(results: Results, segments: SegmentLifetimes) -> None:
    """The segment comparison's estimates, tables (`km_by_<segment>`, ...), log-rank test and finding."""
    comparison, segment = segments.comparison, segments.segment
    if comparison is None:
        results.skip(f"lifetime by {segment}", segments.why_not, needs="segments")
        return
    if segments.note:
        results.warnings.append(segments.note)
    results.estimates.update(comparison.km.to_estimates(HORIZONS))
    results.add_table(f"km_by_{segment}", comparison.km.survival)
    results.add_table(f"at_risk_by_{segment}", comparison.km.at_risk)
    results.add_table(f"medians_by_{segment}", comparison.km.medians)
    results.add_table(f"survival_at_by_{segment}", comparison.km.survival_at(HORIZONS))
    results.add_table(f"rmst_by_{segment}", comparison.rmst.summary())
    results.add_table(f"pairwise_logrank_by_{segment}", comparison.pairwise.summary())
    if comparison.rmst_difference is not None:
        results.add_table(f"rmst_difference_by_{segment}", comparison.rmst_difference.summary())
    results.extra["logrank"] = {"statistic": comparison.logrank.statistic, "dof": comparison.logrank.dof,
                                "p_value": comparison.logrank.p_value}
    results.findings.append(comparison.sentence())
    results.warnings.extend(comparison.notes())


def record_landmark_groups(results: Results, experience: LandmarkComparisons) -> None:
    """Per experience grouping: tables, restricted-mean differences (`rmst_diff_<grouping>_<group>`), finding."""
    for g, comparison in experience.comparisons.items():
        results.add_table(f"km_by_{g}", comparison.km.survival)
        results.add_table(f"at_risk_by_{g}", comparison.km.at_risk)
        results.add_table(f"rmst_by_{g}", comparison.rmst.summary())
        results.add_table(f"pairwise_logrank_by_{g}", comparison.pairwise.summary())
        if comparison.rmst_difference is not None:
            results.add_table(f"rmst_difference_by_{g}", comparison.rmst_difference.summary())
            for row in comparison.rmst_difference.table.itertuples():
                results.add(f"rmst_diff_{g}_{row.group}", Estimate(
                    row.difference, "months", f"Extra months active after the landmark: {row.group} vs {row.reference}",
                    row.ci_low, row.ci_high,
                    note=f"within {comparison.horizon_months:g} months of {experience.landmark.date()}"))
        results.findings.append(f"From the landmark {experience.landmark.date()}: " + comparison.sentence())
    if experience.why_not:
        results.skip("lifetime by experience group at a landmark", experience.why_not,
                     needs="event dates" if "event dates" in experience.why_not else "more history")
        return
    if experience.note:
        results.warnings.append(experience.note)
    for g, why in experience.missing.items():
        needs = EXPERIENCE_NEEDS[g] if why.startswith("the data has no") else "more customers"
        results.skip(f"lifetime by {g.replace('_', ' ')}", why, needs=needs)


def record_landmark_cox(results: Results, landmark: LandmarkCox | None,
                        experience: LandmarkComparisons | None = None) -> None:
    """Hazard ratios (`hr_<term>`), the PH check's table (`ph_check`), significant drivers as findings, and the
    sample when drawn."""
    if landmark is None:
        why_not = experience.why_not if experience is not None else ""
        if why_not:
            results.skip("landmark Cox model", why_not, needs="event dates" if "event dates" in why_not else
                         "more history")
        else:
            results.skip("landmark Cox model", "the data has no contact records", needs="contact records")
        return
    cox, check = landmark.model, landmark.check
    for term in cox.summary().index:
        results.add(f"hr_{term}", cox.hazard_ratio(term))
    results.add_table("hazard_ratios", cox.summary())
    results.add_table("ph_check", check.summary())  # its verdicts are `record_ph_verdict`'s
    results.findings.extend(
        f"{FEATURE_LABELS[t]}: hazard ratio {r.hazard_ratio:.2f} (95% CI {r.hr_ci_low:.2f} to {r.hr_ci_high:.2f})."
        for t, r in cox.summary().iterrows() if r.p_value < 0.05 and t in FEATURE_LABELS and t != "tenure_months"
    )
    results.warnings.extend(cox.notes)
    results.approximate(landmark.ANALYSIS, landmark.sample)


def record_extrapolation(results: Results, extrapolation: LifetimeExtrapolation | None,
                         not_estimable: NotEstimableError | None = None) -> None:
    """AIC comparison, extrapolated restricted means (`aft_rmst<horizon>_<group>`), finding, and the sample; a skip
    with the reason when no parametric model could be fitted."""
    if extrapolation is None:
        reason = not_estimable.reason if not_estimable is not None else "no model converged"
        needs = not_estimable.needs if not_estimable is not None and not_estimable.needs else "more history"
        results.skip(LifetimeExtrapolation.ANALYSIS, f"not estimable from this data: {reason}", needs=needs)
        return
    results.warnings.extend([extrapolation.note] if extrapolation.note else [])
    results.add_table("aft_comparison", extrapolation.aft.summary())
    results.add_table("aft_extrapolation", extrapolation.table)
    results.estimates.update(extrapolation.to_estimates())
    results.findings.append(extrapolation.finding())
    results.approximate(extrapolation.ANALYSIS, extrapolation.sample)


def record_time_varying(results: Results, tv: TimeVaryingDrivers | None, why_not: str = "") -> None:
    """Time-varying hazard ratios (`tv_hr_<term>`), their tables, findings on proactive and unresolved contacts,
    and the sample when drawn; a skip with `why_not` when there is no model."""
    if tv is None:
        results.skip("time-varying Cox model", why_not, needs=_needs(why_not))
        return
    results.estimates.update(tv.cox.to_estimates())
    results.add_table("time_varying_hazard_ratios", tv.cox.summary())
    results.add_table("time_varying_hazard_ratios_cloglog", tv.cloglog.summary())
    results.add_table("time_varying_nps_group", tv.nps_summary())
    results.findings.extend(
        f"Month by month, {FEATURE_LABELS.get(t, t)} in the last {tv.window_months} months: hazard ratio "
        f"{r.hazard_ratio:.2f} (95% CI {r.hr_ci_low:.2f} to {r.hr_ci_high:.2f}; time-varying Cox)."
        for t, r in tv.cox.table.iterrows() if t in ("proactive_90d", "unresolved_90d")
    )
    results.approximate(tv.ANALYSIS, tv.sample)


def record_tenure_ph(results: Results, tv: TimeVaryingDrivers | None, why_not: str = "") -> None:
    """The proportional-hazards check over tenure: table `ph_check_tenure`, drifts `tv_ph_drift_<term>` (hazard
    ratio at the later over the earlier tenure), the joint test in `extra["ph_check_tenure_joint"]` and the sample
    when drawn (its verdicts are `record_ph_verdict`'s); a skip with `why_not` when there is no person-month
    model."""
    if tv is None or tv.ph is None:
        results.skip(TenurePHCheck.ANALYSIS, why_not or PH_SWITCHED_OFF, needs=_needs(why_not))
        return
    ph = tv.ph
    results.add_table("ph_check_tenure", ph.summary())
    results.estimates.update(ph.to_estimates())
    results.extra["ph_check_tenure_joint"] = {**ph.joint, "form": ph.form, "tenures": list(ph.tenures),
                                             "alpha": ph.alpha, "multiple_testing": "holm"}
    results.warnings.extend(ph.notes)
    results.approximate(ph.ANALYSIS, tv.sample)


def record_ph_verdict(results: Results, verdict: PHVerdict | None) -> None:
    """The one proportional-hazards verdict per term: table `ph_verdict`, the rule and its level in
    `extra["ph_verdict"]`, the verdicts as findings; nothing when neither check ran (each check records its own
    skip)."""
    if verdict is None:
        return
    results.add_table("ph_verdict", verdict.summary())
    results.extra["ph_verdict"] = verdict.to_dict()
    results.findings.extend(verdict.sentences())


def record_lifetime_recovery(results: Results, recovery: pd.DataFrame | None) -> None:
    """The known-truth table (`recovery`), or a skip when the data has no truth."""
    if recovery is None:
        results.skip("known-truth check", "the data source has no truth.json (only the demo world does)",
                     needs="simulated data")
        return
    results.add_table("recovery", recovery)


def _needs(why_not: str) -> str:
    """The missing input behind a time-varying model's `why_not`, in the reports' words."""
    if not why_not:
        return ""
    return "event dates" if "timestamp" in why_not or "event dates" in why_not else "contact records"


def _assumptions_clause(results: Results) -> str:
    """' Lifetimes assume ...' from the data's stated assumptions (flat data's churn period), or ''."""
    return "".join(f" {a}" for a in results.extra.get("assumptions") or [])
