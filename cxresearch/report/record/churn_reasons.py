"""What notebook 06 (why customers leave) writes to its results file; the executive summary reads these keys:
estimates `service_churn_share_pct` and `service_churn_share_pct[<level>]`, tables `churn_by_reason`,
`churn_by_reason_one_minus_km`, `service_share_by_segment`, `segment_test`, `cause_specific_hazard_ratios`,
`cause_specific_contrast`, `fine_gray_service`, `reason_recovery`, and `extra["churn_reasons"]`."""

from __future__ import annotations

import pandas as pd

from cxresearch.report.results import Results
from cxresearch.stats.sampling import Sample
from cxresearch.survival.cause_specific import CauseSpecificHazards
from cxresearch.survival.churn_reasons import (
    SERVICE,
    TRUNCATED_FINE_GRAY,
    ReasonData,
    ReasonIncidence,
    SegmentIncidence,
    ServiceFineGray,
    contrast_sentences,
)

#: The analyses of the notebook, as the skips name them.
INCIDENCE = "cumulative incidence of churn by reason"
SEGMENTS = "churn reasons by segment"
HAZARDS = "cause-specific hazards of churn by reason"
TIME_VARYING = "cause-specific hazards with drivers measured month by month"
FINE_GRAY = "Fine-Gray model of service-related churn"
TRUTH = "known-truth check"


def record_churn_reasons(
    results: Results,
    reasons: ReasonData,
    *,
    incidence: ReasonIncidence | None = None,
    segments: SegmentIncidence | None = None,
    segments_why_not: str = "",
    hazards: CauseSpecificHazards | None = None,
    hazards_why_not: str = "",
    fine_gray: ServiceFineGray | None = None,
    fine_gray_why_not: str = "",
    recovery: pd.DataFrame | None = None,
    recovery_why_not: str = "",
    recovery_sample: Sample | None = None,
) -> None:
    """Notebook 06: incidence by reason, the service-related share overall and per segment, the test across
    segments, the cause-specific hazard ratios, the Fine-Gray table (never a key figure) and the known-truth table;
    every step that could not run is a skip with its reason and the missing input.

    Parameters
    ----------
    results : the notebook's results file, extended in place.
    reasons : `survival.churn_reasons.reason_data` output; without lifetimes every analysis is skipped with its
        `why_not` and `needs`.
    incidence : `overall_incidence` result (None: skipped with the reasons' why_not).
    segments, segments_why_not : `segment_incidence` result, or None and why not.
    hazards, hazards_why_not : `cause_specific_hazards` result and why the time-varying form was not used (or,
        with no models, why none).
    fine_gray, fine_gray_why_not : `service_fine_gray` result, or None and why not.
    recovery, recovery_why_not, recovery_sample : `reason_recovery` table, or None and why not, and the churners
        it used (recorded as an approximation when a sample).
    """
    if reasons.lifetimes is None or incidence is None:
        for analysis in (INCIDENCE, SEGMENTS, HAZARDS, TIME_VARYING, FINE_GRAY):
            results.skip(analysis, reasons.why_not, needs=reasons.needs)
        results.skip(TRUTH + " of churn reasons", reasons.why_not, needs="simulated data")
        return
    results.warnings.extend(reasons.notes)
    _record_incidence(results, incidence)
    _record_segments(results, segments, segments_why_not, incidence)
    _record_hazards(results, hazards, hazards_why_not)
    _record_fine_gray(results, fine_gray, fine_gray_why_not)
    if recovery is None:
        results.skip(TRUTH + " of churn reasons", recovery_why_not, needs="simulated data")
    else:
        results.add_table("reason_recovery", recovery)
        if recovery_sample is not None:
            results.approximate(TRUTH + " of churn reasons", recovery_sample)
    results.warnings = list(dict.fromkeys(results.warnings))


def _record_incidence(results: Results, incidence: ReasonIncidence) -> None:
    """The overall incidences (`churn_by_reason`, group 'all'), one minus Kaplan-Meier, the share and its finding."""
    results.add_table("churn_by_reason", incidence.summary())
    results.add_table("churn_by_reason_one_minus_km", incidence.naive)
    results.add("service_churn_share_pct", incidence.share)
    results.extra["churn_reasons"] = {"causes": incidence.cif.causes, "horizons": list(incidence.horizons),
                                      "share_horizon_months": incidence.horizons[-1], "service_cause": "service"}
    results.findings.append(incidence.finding())
    results.warnings.extend(incidence.cif.notes)


def _record_segments(results: Results, segments: SegmentIncidence | None, why_not: str,
                     incidence: ReasonIncidence) -> None:
    """Per-segment incidences (appended to `churn_by_reason`), shares, and the test with why it was chosen."""
    if segments is None:
        results.skip(SEGMENTS, why_not, needs="segments")
        return
    by_segment = segments.cif.summary(segments.horizons)
    results.add_table("churn_by_reason", pd.concat([incidence.summary(), by_segment], ignore_index=True))
    for level, estimate in segments.shares.items():
        results.add(f"service_churn_share_pct[{level}]", estimate)
    results.add_table("service_share_by_segment", segments.summary())
    results.extra["churn_reasons"]["segment"] = segments.segment
    results.warnings.extend(segments.cif.notes)
    if segments.test is None:
        results.skip(f"test of service-related churn across {segments.segment}", segments.test_why, needs="churners")
        return
    results.add_table("segment_test", segments.test)
    results.extra["churn_reasons"]["segment_test_why"] = segments.test_why
    results.findings.append(segments.test_notes()[0])
    if segments.sample is not None:
        results.approximate(f"Test of service-related churn across {segments.segment}", segments.sample)


def _record_hazards(results: Results, hazards: CauseSpecificHazards | None, why_not: str) -> None:
    """The cause-specific hazard ratios, the service vs price contrast and its sentences; the time-varying form's
    skip on data without event dates."""
    if hazards is None or not hazards.time_varying:
        results.skip(TIME_VARYING, why_not, needs="event dates")
    if hazards is None:
        results.skip(HAZARDS, "the data has no customer columns to model", needs="contact records")
        return
    results.add_table("cause_specific_hazard_ratios", hazards.summary())
    contrast = hazards.contrast(SERVICE, "price")
    if len(contrast):
        results.add_table("cause_specific_contrast", contrast)
        results.findings.extend(contrast_sentences(hazards))
    results.extra["churn_reasons"].update(cause_specific_method=hazards.method, departures=hazards.events,
                                          reference_levels=hazards.reference_levels)
    results.warnings.extend(hazards.notes)
    results.approximate(HAZARDS[0].upper() + HAZARDS[1:], hazards.sample)


def _record_fine_gray(results: Results, fine_gray: ServiceFineGray | None, why_not: str) -> None:
    """The Fine-Gray table (`fine_gray_service`) and its variance, never as key figures; the caveat when truncated."""
    if fine_gray is None:
        results.skip(FINE_GRAY, why_not, needs="more customers" if "cannot be fitted" in why_not else "churners")
        return
    results.add_table("fine_gray_service", fine_gray.summary())
    results.extra["churn_reasons"]["fine_gray_variance"] = fine_gray.model.variance
    if fine_gray.model.truncated:
        results.warnings.append(TRUNCATED_FINE_GRAY)
    results.approximate(FINE_GRAY, fine_gray.sample)
