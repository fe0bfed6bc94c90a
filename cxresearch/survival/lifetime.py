"""The customer-lifetime analyses of notebook 03 as steps: which analyses the data supports, which customers each one
uses, and why a step that cannot run does not (its results are written by `report.record.lifetime`).

Exact and cheap analyses (Kaplan-Meier, log-rank, restricted mean lifetime) always use every customer. The model
fits whose cost grows with the customer base (the landmark Cox model with its Schoenfeld check, the parametric AFT
fits and the time-varying models) take at most `max_customers` customers drawn at random
(`sampling.sample_customers`): their estimates stay unbiased, their intervals are those of the sample, and every
sample is recorded with `Results.approximate` so the reports say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from cxresearch.data.schema import CXData
from cxresearch.errors import NotEstimableError
from cxresearch.stats.estimate import Estimate, format_p
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.stats.units import DAYS_PER_MONTH
from cxresearch.survival.columns import LifetimeColumns
from cxresearch.survival.compare import GroupComparison, compare_groups
from cxresearch.survival.cox import CoxResult, PHCheck, check_proportional_hazards, fit_cox
from cxresearch.survival.display import sentences_html, summary_html
from cxresearch.survival.groups import ALL
from cxresearch.survival.kaplan_meier import KMResult
from cxresearch.survival.landmark import RESIDUAL, LandmarkComparisons
from cxresearch.survival.parametric import AFTComparison, fit_aft
from cxresearch.survival.person_months import can_build_person_months
from cxresearch.survival.ph import PHVerdict, combine_ph_checks
from cxresearch.survival.timevarying import TimeVaryingDrivers, fit_time_varying_drivers

#: Horizons (months since signup) at which survival is reported.
HORIZONS: tuple[int, ...] = (12, 24, 36)

#: Why the proportional-hazards check over tenure did not run although the person-month model did.
PH_SWITCHED_OFF = "switched off (`ph_tenure_form` is empty)"

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

    def _repr_html_(self) -> str:
        c = self.comparison
        if c is None:
            return sentences_html([f"No comparison by {self.segment}: {self.why_not}."])
        return (sentences_html([self.note] if self.note else []) + summary_html(c.summary(), digits=2)
                + summary_html(c.km.survival_at(HORIZONS), "Share still active at each horizon")
                + sentences_html([(f"Log-rank across {self.segment} groups: chi-square {c.logrank.statistic:.1f} "
                                    f"on {c.logrank.dof} df, {format_p(c.logrank.p_value)}.")])
                + c.pairwise._repr_html_() + sentences_html([c.sentence()]))


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
    the reason, when the column is absent or fewer than two levels have `min_group_size` customers.

    Parameters
    ----------
    lt : `features.snapshot.lifetimes` (months since signup, `entry_months` for left truncation).
    segment : the column compared.
    wanted_horizon_months : restricted-mean horizon asked for (shortened to the follow-up when longer).
    entry : left-truncation column (None: none).
    min_group_size : levels with fewer customers are left out.

    Returns
    -------
    SegmentLifetimes
        The comparison and its horizon, or why there is none.
    """
    horizon, note = restricted_mean_horizon(lt, wanted_horizon_months)
    if segment not in lt or lt[segment].isna().all():
        return SegmentLifetimes(segment, None, horizon, why_not=f"the data has no {segment} column")
    sizes = lt[segment].astype(str).value_counts()
    if (sizes >= min_group_size).sum() < 2:
        return SegmentLifetimes(segment, None, horizon, why_not=(
            f"only {(sizes >= min_group_size).sum()} {segment} value has at least {min_group_size} customers "
            f"({', '.join(f'{k}: {v:,}' for k, v in sizes.head(3).items())}): there is nothing to compare"))
    comparison = compare_groups(lt, segment, horizon, LifetimeColumns(entry=entry), min_group_size=min_group_size)
    return SegmentLifetimes(segment, comparison, horizon, note=note)


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

    def _repr_html_(self) -> str:
        cox = self.model
        return (summary_html(cox.summary(), f"Landmark {self.landmark.date()}: {cox.n:,} customers, {cox.events:,} "
                             f"churned afterwards; concordance {cox.concordance:.3f}")
                + summary_html(self.check.summary(), "Proportional-hazards check (scaled Schoenfeld, Holm)",
                               self.notes()))


def why_no_landmark_cox(experience: LandmarkComparisons) -> str:
    """Why there is no landmark Cox model: no landmark (and why), or no contact records."""
    return experience.why_not or "the data has no contact records"


def fit_landmark_cox(
    data: CXData, experience: LandmarkComparisons, max_customers: int | None = None, seed: int = 0
) -> LandmarkCox | None:
    """Cox model of months to churn after the landmark on `LANDMARK_DRIVERS`, tenure, contract and plan, with the
    scaled-Schoenfeld test and its remedy (`survival.check_proportional_hazards`), on at most `max_customers`
    randomly chosen cohort customers; None when the data has no contacts or no landmark cohort.

    Parameters
    ----------
    data : the canonical data set.
    experience : `landmark.compare_at_landmark` result (its cohort is the one fitted).
    max_customers : at most this many cohort customers, drawn at random with `seed` (None: everyone).

    Returns
    -------
    LandmarkCox or None
        The model with its check and the sample it rests on.
    """
    if experience.cohort is None or data.contacts.empty:
        return None
    sample = sample_customers(experience.cohort.customers, max_customers, seed)
    categorical = [c for c in ("contract", "plan") if c in sample.frame]
    check = check_proportional_hazards(fit_cox(sample.frame, [*LANDMARK_DRIVERS, "tenure_months"], categorical,
                                               RESIDUAL))
    return LandmarkCox(check, sample, experience.landmark)


def ph_verdict(
    landmark: LandmarkCox | None, tv: TimeVaryingDrivers | None, alpha: float = 0.05
) -> PHVerdict | None:
    """One proportional-hazards verdict per term from the landmark Schoenfeld check and the tenure check of the
    person-month model (`survival.combine_ph_checks`, Holm over both, family-wise `alpha`); None when neither
    ran.

    Parameters
    ----------
    landmark : `fit_landmark_cox` result, or None.
    tv : `timevarying.fit_time_varying_drivers` result (its `ph` is the tenure check), or None.
    alpha : family-wise error rate over both checks.

    Returns
    -------
    PHVerdict or None
        The verdict per term, in `PH_TERM_WORDS`.
    """
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

    def _repr_html_(self) -> str:
        best = (f"Best by AIC: {self.aft.best}. Mean months active within {self.horizon_months:g} months across "
                f"groups by model: {self.tails_text()}.")
        return (summary_html(self.aft.summary(), "Parametric models compared by AIC", digits=1)
                + summary_html(self.table, f"Extrapolated to {self.horizon_months:g} months", [best, *self.notes()],
                               digits=2))


def try_extrapolate_lifetime(
    lt: pd.DataFrame, group: str | None, horizon_months: float, n_draws: int = 200, seed: int = 0,
    max_customers: int | None = None,
) -> tuple[LifetimeExtrapolation | None, NotEstimableError | None]:
    """`extrapolate_lifetime`, or None and the reason when no parametric model can be fitted to this data."""
    try:
        return extrapolate_lifetime(lt, group, horizon_months, n_draws, seed, max_customers), None
    except NotEstimableError as err:
        return None, err


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

    Parameters
    ----------
    lt : `features.snapshot.lifetimes`.
    group : column each level of which gets its own scale (None: one group).
    horizon_months : how far to extrapolate (months since signup; capped, see `extrapolation_horizon`).
    n_draws : parameter draws of the 95% intervals.
    max_customers : at most this many customers, drawn at random with `seed` (None: everyone).
    entry : left-truncation column.

    Returns
    -------
    LifetimeExtrapolation
        The AIC comparison, the best model's restricted means per group and the tails of the others.

    Raises
    ------
    errors.NotEstimableError
        When no AFT model can be fitted to this data.
    """
    horizon_months, note = extrapolation_horizon(lt, horizon_months)
    sample = sample_customers(lt, max_customers, seed)
    aft = fit_aft(sample.frame, group, LifetimeColumns(entry=entry))
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
# The whole base's lifetime
# --------------------------------------------------------------------------------------------------------------


#: Why lifetimes cannot be read from data in which no customer has a recorded end.
NO_ENDS = ("no customer has a recorded end, so lifetimes cannot be measured (for a purchase log, which records no "
           "churn, notebook 05's BG/NBD model estimates who is still active instead)")


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


def truncation_sentence(lt: pd.DataFrame) -> str:
    """Whether lifetimes are left-truncated (customers who joined before observation began), in words."""
    truncated = bool((lt["entry_months"] > 0).any())
    return "Left truncation: " + ("customers who joined before observation began count from that date."
                                  if truncated else "none (every customer is observed from sign-up).")


# --------------------------------------------------------------------------------------------------------------
# Time-varying drivers, when the data has them
# --------------------------------------------------------------------------------------------------------------


def time_varying_drivers(
    data: CXData, window_months: int, max_customers: int | None, seed: int, ph_form: str | None
) -> tuple[TimeVaryingDrivers | None, str]:
    """`timevarying.fit_time_varying_drivers` when the data has time-stamped contacts, else None and why not.

    Parameters
    ----------
    data, window_months, max_customers, seed : as in `timevarying.fit_time_varying_drivers`.
    ph_form : g(tenure) of the tenure check ("log" or "bands"; None skips it).

    Returns
    -------
    tuple[TimeVaryingDrivers | None, str]
        The models, or None and the reason in words ("" when fitted).
    """
    can_build, why_not = can_build_person_months(data)
    if not can_build:
        return None, why_not
    return fit_time_varying_drivers(data, window_months, max_customers, seed, ph_form), ""


def why_no_tenure_check(why_not: str) -> str:
    """Why the proportional-hazards check over tenure did not run: no person-month model, or switched off."""
    return why_not or PH_SWITCHED_OFF

