"""The customer-lifetime report (notebook 03) as steps: which analyses the data supports, which customers each one
uses, and what each writes to the results file.

Exact and cheap analyses (Kaplan-Meier, log-rank, restricted mean lifetime) always use every customer. The model
fits whose cost grows with the customer base (the landmark Cox model with its Schoenfeld check, the parametric AFT
fits and the time-varying models) take at most `max_customers` customers drawn at random
(`sampling.sample_customers`): their estimates stay unbiased, their intervals are those of the sample, and every
sample is recorded with `Results.approximate` so the reports say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from cxresearch.churn.logit import FEATURE_LABELS
from cxresearch.data.schema import CXData
from cxresearch.errors import NotEstimableError
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.stats.units import DAYS_PER_MONTH
from cxresearch.survival.estimators import (
    ALL,
    CoxResult,
    GroupComparison,
    KMResult,
    PHCheck,
    PHVerdict,
    check_proportional_hazards,
    combine_ph_checks,
    compare_groups,
    landmark_cohort,
)
from cxresearch.survival.parametric import AFTComparison, fit_aft
from cxresearch.survival.timevarying import TenurePHCheck, TimeVaryingDrivers

if TYPE_CHECKING:
    from cxresearch.report.results import Results  # type only: recording belongs in report/ (issue 16)

#: Horizons (months since signup) at which survival is reported.
HORIZONS: tuple[int, ...] = (12, 24, 36)

#: Experience groupings at the landmark: grouping -> (table it needs, instrument or column in that table).
EXPERIENCE_GROUPINGS: dict[str, tuple[str, str]] = {
    "nps_group": ("surveys", "nps"),
    "effort_band": ("surveys", "ces"),
    "unresolved_contact": ("contacts", "resolved_first_contact"),
}

#: Reference group of each grouping for the restricted-mean differences (the worst experience).
REFERENCE_GROUPS: dict[str, str] = {"nps_group": "detractor", "effort_band": "high effort (5-7)",
                                    "unresolved_contact": "yes"}

#: Why the proportional-hazards check over tenure did not run although the person-month model did.
PH_SWITCHED_OFF = "switched off (`ph_tenure_form` is empty)"

#: Follow-up a landmark must leave before the end of observation (months).
MIN_LANDMARK_FOLLOW_MONTHS = 3

#: Parametric tails are extrapolated at most this many times the longest follow-up.
MAX_EXTRAPOLATION_FACTOR = 4

#: Contact drivers of the landmark Cox model (counts in the window before the landmark).
LANDMARK_DRIVERS: tuple[str, ...] = ("reactive_90d", "unresolved_90d", "proactive_90d", "inconsistency_90d")

#: Landmark Cox terms measured once at the landmark whose true value moves with follow-up: contacts age out of
#: their window and tenure grows, so their hazard ratios fade after the landmark by construction.
LANDMARK_MEASURED_ONCE: tuple[str, ...] = (*LANDMARK_DRIVERS, "tenure_months")

#: The proportional-hazards terms in the verdict sentences' words (categorical levels read "contract two_year").
PH_TERM_WORDS: dict[str, str] = {
    "reactive_90d": "reactive contacts", "unresolved_90d": "unresolved contacts",
    "proactive_90d": "proactive contacts", "inconsistency_90d": "channel inconsistencies",
    "ces_centred_90d": "effort (CES)", "tenure_months": "tenure",
}


# --------------------------------------------------------------------------------------------------------------
# Segments over the whole lifetime
# --------------------------------------------------------------------------------------------------------------


@dataclass
class SegmentLifetimes:
    """Lifetimes compared across a segment's levels, the restricted-mean horizon used, or why there is none."""

    segment: str
    comparison: GroupComparison | None
    horizon_months: float
    note: str = ""  # how the horizon was chosen when the parameter exceeded the follow-up
    why_not: str = ""


def restricted_mean_horizon(lt: pd.DataFrame, wanted_months: float) -> tuple[float, str]:
    """The restricted-mean horizon (months): `wanted_months`, or the longest whole month of follow-up when the
    data is shorter, with a sentence saying so."""
    follow = float(lt["duration_months"].max())
    if wanted_months <= follow + 1 / DAYS_PER_MONTH:
        return float(wanted_months), ""
    horizon = float(math.floor(follow)) if follow >= 1 else round(follow, 2)
    return horizon, (f"Restricted means run to {horizon:g} months, the longest follow-up in the data, not "
                     f"{wanted_months:g}.")


def compare_segments(lt: pd.DataFrame, segment: str, wanted_horizon_months: float,
                     entry: str | None = "entry_months", min_group_size: int = 30) -> SegmentLifetimes:
    """KM, log-rank and restricted means across the levels of `segment` (`survival.compare_groups`); none, with
    the reason, when the column is absent or fewer than two levels have `min_group_size` customers."""
    horizon, note = restricted_mean_horizon(lt, wanted_horizon_months)
    if segment not in lt or lt[segment].isna().all():
        return SegmentLifetimes(segment, None, horizon, why_not=f"the data has no {segment} column")
    sizes = lt[segment].astype(str).value_counts()
    if (sizes >= min_group_size).sum() < 2:
        return SegmentLifetimes(segment, None, horizon, why_not=(
            f"only {(sizes >= min_group_size).sum()} {segment} value has at least {min_group_size} customers "
            f"({', '.join(f'{k}: {v:,}' for k, v in sizes.head(3).items())}): there is nothing to compare"))
    comparison = compare_groups(lt, segment, horizon, entry=entry, min_group_size=min_group_size)
    return SegmentLifetimes(segment, comparison, horizon, note=note)


# --------------------------------------------------------------------------------------------------------------
# Experience groups at a landmark
# --------------------------------------------------------------------------------------------------------------


@dataclass
class LandmarkChoice:
    """Where the landmark falls in the observed window, and why there, or why there can be none."""

    landmark: pd.Timestamp | None
    note: str = ""  # what was chosen instead of the parameter, in words ("" when the parameter fitted)
    why_not: str = ""  # why no landmark fits the data (landmark is None)


def observation_start(data: CXData) -> pd.Timestamp:
    """When observation began: `observed_from` where known, else the earliest sign-up."""
    observed_from = data.metadata.get("observed_from")
    return pd.Timestamp(observed_from) if observed_from else pd.Timestamp(data.customers["signup_date"].min())


def choose_landmark(data: CXData, months_before_end: int, window_months: int) -> LandmarkChoice:
    """The landmark `months_before_end` months before the end of observation, moved later when the data began
    too recently to hold `window_months` of history before it; none when fewer than `MIN_LANDMARK_FOLLOW_MONTHS`
    of follow-up would remain."""
    if not data.has_timestamps:
        return LandmarkChoice(None, why_not="grouping customers by what was known at a date needs event dates; "
                                            "this data has one row per customer")
    start, end = observation_start(data), data.observed_until
    earliest = (start + pd.DateOffset(months=window_months)).normalize()
    latest = (end - pd.DateOffset(months=MIN_LANDMARK_FOLLOW_MONTHS)).normalize()
    span = (end - start).days / DAYS_PER_MONTH
    if earliest > latest:
        return LandmarkChoice(None, why_not=(
            f"the data covers {span:.0f} months; a landmark needs {window_months} months of history before it and "
            f"{MIN_LANDMARK_FOLLOW_MONTHS} months of follow-up after it"))
    wanted = (end - pd.DateOffset(months=months_before_end)).normalize()
    if wanted >= earliest:
        return LandmarkChoice(min(wanted, latest))
    follow = (end - earliest).days / DAYS_PER_MONTH
    return LandmarkChoice(earliest, note=(
        f"The landmark is {earliest.date()}, {follow:.0f} months before the end of observation rather than "
        f"{months_before_end}: the data begins {start.date()} and the groups need {window_months} months of history "
        "before the landmark."))


@dataclass
class LandmarkComparisons:
    """Customers active at `landmark`, compared by each experience grouping the data supports (months after it)."""

    landmark: pd.Timestamp | None
    cohort: pd.DataFrame | None  # `survival.estimators.landmark_cohort`, None when no grouping is possible
    follow_months: float  # follow-up after the landmark used for the restricted means (months)
    comparisons: dict[str, GroupComparison]
    missing: dict[str, str] = field(default_factory=dict)  # grouping -> the input it would need, in words
    note: str = ""  # how the landmark was chosen when the parameter did not fit the data
    why_not: str = ""  # why there is no landmark at all

    def summary(self) -> pd.DataFrame:
        """Per grouping and group: n, churn events, median and restricted mean months after the landmark."""
        if not self.comparisons:
            return pd.DataFrame()
        return pd.concat({g: c.summary() for g, c in self.comparisons.items()}, names=["grouping", "group"])


#: What each experience grouping needs, in the words the reports use.
EXPERIENCE_NEEDS: dict[str, str] = {"nps_group": "NPS scores", "effort_band": "effort scores (CES)",
                                    "unresolved_contact": "contact resolution"}


def experience_available(data: CXData) -> dict[str, bool]:
    """Which `EXPERIENCE_GROUPINGS` the data can form (surveys of that instrument, or the contacts column)."""
    out = {}
    for grouping, (table, need) in EXPERIENCE_GROUPINGS.items():
        if table == "surveys":
            out[grouping] = bool(not data.surveys.empty and (data.surveys["instrument"] == need).any())
        else:
            out[grouping] = bool(not data.contacts.empty and need in data.contacts
                                 and data.contacts[need].notna().any())
    return out


def compare_at_landmark(data: CXData, months_before_end: int, window_months: int = 3) -> LandmarkComparisons:
    """KM, log-rank and restricted mean lifetime by NPS group, effort band and unresolved contact, at a landmark
    `months_before_end` months before the end of observation (all customers active then; exact, no sampling).

    Groups are formed from what was known before the landmark and followed from it, which avoids immortal-time
    bias (see `survival.landmark_cohort`); the restricted mean runs to the landmark's follow-up, at most
    `months_before_end` months. Groupings the data cannot form, or with a single group, are listed in `missing`.
    """
    choice = choose_landmark(data, months_before_end, window_months)
    if choice.landmark is None:
        return LandmarkComparisons(None, None, 0.0, {}, missing={}, why_not=choice.why_not)
    landmark = choice.landmark
    available = experience_available(data)
    cohort = landmark_cohort(data, landmark, window_months) if any(available.values()) else None
    follow = 0.0 if cohort is None else min(months_before_end, round(float(cohort["residual_months"].max()), 1))
    comparisons, missing = {}, {}
    for grouping, ok in available.items():
        if not ok:
            missing[grouping] = f"the data has no {EXPERIENCE_NEEDS[grouping]}"
            continue
        # The worst experience is the reference only when it is large enough to be kept.
        sizes = cohort[grouping].value_counts()
        reference = REFERENCE_GROUPS[grouping] if sizes.get(REFERENCE_GROUPS[grouping], 0) >= 30 else None
        try:
            comparisons[grouping] = compare_groups(cohort, grouping, follow, duration="residual_months",
                                                   at_risk_step=3, reference=reference)
        except ValueError as err:
            missing[grouping] = f"too few customers in its groups at the landmark ({err})"
    return LandmarkComparisons(landmark, cohort, follow, comparisons, missing, note=choice.note)


# --------------------------------------------------------------------------------------------------------------
# Landmark Cox model with the proportional-hazards check
# --------------------------------------------------------------------------------------------------------------


@dataclass
class LandmarkCox:
    """Cox model of churn after the landmark on the contact drivers before it, with its Schoenfeld check."""

    check: PHCheck
    sample: Sample  # cohort customers the model was fitted on (all, or a stated random sample)
    landmark: pd.Timestamp

    #: Name of the analysis in reports.
    ANALYSIS = "landmark Cox model and proportional-hazards check"

    @property
    def model(self) -> CoxResult:
        """The fitted Cox model."""
        return self.check.model

    def notes(self) -> list[str]:
        """The sample the model rests on, when one was drawn."""
        return [self.sample.describe(self.ANALYSIS)] if self.sample.sampled else []


def fit_landmark_cox(
    data: CXData, experience: LandmarkComparisons, max_customers: int | None = None, seed: int = 0
) -> LandmarkCox | None:
    """Cox model of months to churn after the landmark on `LANDMARK_DRIVERS`, tenure, contract and plan, with the
    scaled-Schoenfeld test and its remedy (`survival.check_proportional_hazards`), on at most `max_customers`
    randomly chosen cohort customers; None when the data has no contacts or no landmark cohort."""
    if experience.cohort is None or data.contacts.empty:
        return None
    sample = sample_customers(experience.cohort, max_customers, seed)
    categorical = [c for c in ("contract", "plan") if c in sample.frame]
    check = check_proportional_hazards(sample.frame, [*LANDMARK_DRIVERS, "tenure_months"], categorical,
                                       duration="residual_months")
    return LandmarkCox(check, sample, experience.landmark)


def ph_verdict(
    landmark: LandmarkCox | None, tv: TimeVaryingDrivers | None, alpha: float = 0.05
) -> PHVerdict | None:
    """One proportional-hazards verdict per term from the landmark Schoenfeld check and the tenure check of the
    person-month model (`survival.combine_ph_checks`, Holm over both, family-wise `alpha`); None when neither
    ran."""
    return combine_ph_checks(landmark.check if landmark is not None else None, tv.ph if tv is not None else None,
                             LANDMARK_MEASURED_ONCE, alpha, PH_TERM_WORDS)


# --------------------------------------------------------------------------------------------------------------
# Parametric extrapolation
# --------------------------------------------------------------------------------------------------------------


@dataclass
class LifetimeExtrapolation:
    """AFT fits compared by AIC and the restricted mean lifetime within `horizon_months` they imply (months)."""

    aft: AFTComparison
    table: pd.DataFrame  # `AFTComparison.extrapolate` of the best model, one row per group
    tails: dict[str, float]  # per distribution: restricted mean across groups (months), how much the tail depends
    horizon_months: float
    n_draws: int
    seed: int
    sample: Sample  # customers the models were fitted on (all, or a stated random sample)
    note: str = ""  # how the horizon was chosen when the parameter reached too far beyond the data

    #: Name of the analysis in reports.
    ANALYSIS = "parametric lifetime models (AFT) and their extrapolation"

    def to_estimates(self) -> dict[str, Estimate]:
        """Extrapolated restricted mean lifetime per group under the best model (months, 95% interval)."""
        return self.aft.to_estimates(self.horizon_months, n_draws=self.n_draws, seed=self.seed)

    def tails_text(self) -> str:
        """'weibull 40.1; lognormal 45.3; ...': mean months active within the horizon by distribution."""
        return "; ".join(f"{m} {v:.1f}" for m, v in self.tails.items())

    def finding(self) -> str:
        """The extrapolated lifetimes in one plain-words sentence."""
        return (
            f"Extrapolated with the best-fitting {self.aft.best} model, customers stay on average "
            + "; ".join(f"{r.group} {r.rmst:.1f} months" for r in self.table.itertuples())
            + f" of the first {self.horizon_months:g} months (the tail depends on the model: "
            + ", ".join(f"{m} {v:.1f}" for m, v in self.tails.items()) + ")."
        )

    def notes(self) -> list[str]:
        """How the horizon was chosen, and the sample the fits rest on, when one was drawn."""
        return [*([self.note] if self.note else []), *self.aft.notes,
                *([self.sample.describe(self.ANALYSIS)] if self.sample.sampled else [])]


def extrapolate_lifetime(
    lt: pd.DataFrame,
    group: str | None,
    horizon_months: float,
    n_draws: int = 200,
    seed: int = 0,
    max_customers: int | None = None,
    entry: str | None = "entry_months",
) -> LifetimeExtrapolation:
    """Weibull, log-normal and log-logistic AFT fits (`parametric.fit_aft`, one scale per `group`) on at most
    `max_customers` random customers of `lt` (`features.lifetimes`), extrapolated to `horizon_months` (at most
    `MAX_EXTRAPOLATION_FACTOR` times the longest follow-up: further out the tail is the model's shape alone).

    Raises `errors.NotEstimableError` when no AFT model can be fitted to this data."""
    horizon_months, note = extrapolation_horizon(lt, horizon_months)
    sample = sample_customers(lt, max_customers, seed)
    aft = fit_aft(sample.frame, group, entry=entry)
    tails = {m: float(aft.extrapolate(horizon_months, model=m, n_draws=n_draws, seed=seed)["rmst"].mean())
             for m in aft.comparison.index}
    return LifetimeExtrapolation(
        aft=aft, table=aft.extrapolate(horizon_months, n_draws=n_draws, seed=seed), tails=tails,
        horizon_months=horizon_months, n_draws=n_draws, seed=seed, sample=sample, note=note,
    )


def extrapolation_horizon(lt: pd.DataFrame, wanted_months: float) -> tuple[float, str]:
    """`wanted_months`, or `MAX_EXTRAPOLATION_FACTOR` x the longest follow-up (whole months) when that is
    shorter, with a sentence saying so."""
    cap = float(math.ceil(MAX_EXTRAPOLATION_FACTOR * float(lt["duration_months"].max())))
    if wanted_months <= cap:
        return float(wanted_months), ""
    return cap, (f"Extrapolated to {cap:g} months ({MAX_EXTRAPOLATION_FACTOR} times the longest follow-up) rather "
                 f"than {wanted_months:g}: further out the figures would rest on the model's shape alone.")


# --------------------------------------------------------------------------------------------------------------
# What each step writes to the results file
# --------------------------------------------------------------------------------------------------------------


#: Why lifetimes cannot be read from data in which no customer has a recorded end.
NO_ENDS = ("no customer has a recorded end, so lifetimes cannot be measured; purchase logs record no churn, "
           "and notebook 05's BG/NBD model estimates who is still active instead")


def overall_median(km: KMResult) -> Estimate:
    """The whole base's median lifetime (months): a value, a lower bound when not reached, or not estimable when
    no customer has a recorded end."""
    median = km.to_estimates(())[f"median_lifetime_{ALL}"]
    if int(km.medians["events"].sum()) == 0:
        return Estimate.not_estimable("months", median.label, NO_ENDS)
    return median


def overall_sentence(km: KMResult) -> str:
    """The whole base's median lifetime in words: when half are gone, or that fewer than half have left."""
    median = overall_median(km)
    if not median.estimable:
        return f"Median lifetime: not estimable: {median.reason}."
    if median.bound == "lower":
        return (f"Fewer than half of the customers have left within {median.value:.0f} months of follow-up: the median "
                f"lifetime is more than {median.value:.0f} months.")
    return f"Half of new customers are gone after {median.format(1)}."


def record_overall(results: Results, km: KMResult) -> None:
    """Median lifetime (`median_lifetime_months`) and survival at `HORIZONS` of the whole base, with a finding."""
    overall = km.to_estimates(HORIZONS)
    overall.pop(f"median_lifetime_{ALL}")
    results.add("median_lifetime_months", overall_median(km))
    if int(km.medians["events"].sum()) == 0:
        results.skip("median lifetime and survival curves", NO_ENDS, needs="churners")
    else:
        results.estimates.update(overall)
    results.warnings.extend(km.notes)
    results.findings.append(overall_sentence(km) + assumptions_clause(results))


def assumptions_clause(results: Results) -> str:
    """' Lifetimes assume ...' from the data's stated assumptions (flat data's churn period), or ''."""
    return "".join(f" {a}" for a in results.extra.get("assumptions") or [])


def record_segments(results: Results, segments: SegmentLifetimes) -> None:
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
    results.add_table(f"rmst_by_{segment}", comparison.rmst)
    results.add_table(f"pairwise_logrank_by_{segment}", comparison.pairwise)
    if comparison.rmst_difference is not None:
        results.add_table(f"rmst_difference_by_{segment}", comparison.rmst_difference)
    results.extra["logrank"] = {"statistic": comparison.logrank.statistic, "dof": comparison.logrank.dof,
                                "p_value": comparison.logrank.p_value}
    results.findings.append(comparison.sentence())
    results.warnings.extend(comparison.notes())


def record_landmark_groups(results: Results, experience: LandmarkComparisons) -> None:
    """Per experience grouping: tables, restricted-mean differences (`rmst_diff_<grouping>_<group>`), finding."""
    for g, comparison in experience.comparisons.items():
        results.add_table(f"km_by_{g}", comparison.km.survival)
        results.add_table(f"at_risk_by_{g}", comparison.km.at_risk)
        results.add_table(f"rmst_by_{g}", comparison.rmst)
        results.add_table(f"pairwise_logrank_by_{g}", comparison.pairwise)
        if comparison.rmst_difference is not None:
            results.add_table(f"rmst_difference_by_{g}", comparison.rmst_difference)
            for row in comparison.rmst_difference.itertuples():
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


def record_recovery(results: Results, recovery: pd.DataFrame | None) -> None:
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
