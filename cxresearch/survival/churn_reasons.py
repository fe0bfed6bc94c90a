"""Why customers leave (notebook 06), in months: incidence by reason (Aalen-Johansen; service-related share, a
test across segments), cause-specific hazards of the CX drivers (Prentice et al. 1978; Allison 1982), Fine-Gray for
service churn (Geskus 2011), the simulator's reasons recovered. Putter, Fiocco & Geskus (2007), Stat Med 26:2389."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from lifelines.exceptions import ConvergenceWarning
from scipy import stats

from cxresearch.data.schema import FLAT_COLUMNS, CXData
from cxresearch.features.snapshot import lifetimes
from cxresearch.stats.design import complete_cases, covariate_design
from cxresearch.stats.estimate import Estimate, format_p
from cxresearch.stats.intervals import Z95
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.survival.cause_specific import CauseSpecificHazards, cause_specific_cox
from cxresearch.survival.cloglog import fit_cloglog, person_month_cells, tenure_baseline
from cxresearch.survival.columns import FROM_ENTRY, LIFETIMES, LifetimeColumns
from cxresearch.survival.competing import CIFResult, cumulative_incidence
from cxresearch.survival.display import summary_html
from cxresearch.survival.finegray import FineGrayResult, fine_gray
from cxresearch.survival.gray import gray_test
from cxresearch.survival.groups import ALL
from cxresearch.survival.kaplan_meier import kaplan_meier
from cxresearch.survival.person_months import (
    CES_DRIVER,
    COUNT_DRIVERS,
    can_build_person_months,
    person_months,
)
from cxresearch.truth.reasons import reason_logit_recovery
from cxresearch.truth.recovery import direction_counts

#: The reason whose share and models the notebook is about: churn the service experience can change.
SERVICE = "service"
#: What the analyses need when the data records no reason for leaving (the reports' needs vocabulary).
NEEDS_REASONS = "churn reasons"
#: Reasons with fewer departures than this get no hazard model (their ratios would be noise).
MIN_EVENTS = 10
#: First tenure month of each baseline band of the person-month models (as `fit_person_month_cloglog`'s).
TIME_BANDS = (1, 2, 3, 4, 7, 10, 13, 19, 25, 37, 49)
#: Fine-Gray fits hold (event times x customers) matrices: at most this many customers, a random sample above.
FINE_GRAY_MAX_CUSTOMERS = 10_000
#: Baseline covariates of the Fine-Gray model, where the data has them.
FINE_GRAY_COVARIATES = ("contract", "plan", "monthly_margin", "csat_score")
#: Why truncated data's Fine-Gray ratios are exploratory.
TRUNCATED_FINE_GRAY = ("Customers joined before observation began: these ratios rest on Geskus's weights for left "
                       "truncation (entry independent of the covariates), so they are exploratory, not key figures.")
#: Customer columns of the cause-specific Cox models on flat data: the CX columns, then contract, plan, price.
FLAT_COVARIATES = (*FLAT_COLUMNS, "contract", "plan", "monthly_margin")
#: The drivers whose service vs price contrast is the point, in words.
DRIVER_WORDS = {"unresolved_90d": "an unresolved contact", "unresolved_contacts": "an unresolved contact",
                "inconsistency_90d": "a channel inconsistency", CES_DRIVER: "a point more effort (CES)",
                "ces_score": "a point more effort (CES)", "csat_score": "a point more satisfaction (CSAT)"}


@dataclass
class ReasonData:
    """One row per customer (`features.snapshot.lifetimes` columns, `end_reason`, the flat CX columns present) and
    the horizons (months, ascending) within the follow-up; or None and why the data cannot say why people left."""

    lifetimes: pd.DataFrame | None
    horizons: tuple[float, ...] = ()
    why_not: str = ""
    needs: str = ""
    notes: list[str] = field(default_factory=list)
    columns: LifetimeColumns = LIFETIMES  # with risk sets from entry when anyone joined before observation


def reason_data(data: CXData, horizons: Sequence[float] = (12, 24, 48)) -> ReasonData:
    """Lifetimes with the reason of leaving, and the `horizons` (months) up to the longest follow-up.

    Parameters
    ----------
    data : the canonical data set; `customers.end_reason` says why each leaver left.
    horizons : months at which incidences are reported; those beyond the longest follow-up are left out (noted).

    Returns
    -------
    ReasonData
        The frame, or None with the reason and the missing input ("churn reasons", "churners").
    """
    customers = data.customers
    if "end_reason" not in customers or customers["end_reason"].isna().all():
        return ReasonData(None, why_not="the data records no reason why customers left (no end_reason)",
                          needs=NEEDS_REASONS)
    extra = [c for c in ("end_reason", *FLAT_COLUMNS) if c in customers and customers[c].notna().any()]
    lt = lifetimes(data).merge(customers[["customer_id", *extra]], on="customer_id", how="left")
    if not lt["event"].any():
        return ReasonData(None, why_not="nobody left during the observation", needs="churners")
    unknown, notes = int((lt["event"] & lt["end_reason"].isna()).sum()), []
    if unknown:
        notes.append(f"{unknown:,} of {int(lt['event'].sum()):,} leavers have no recorded reason ('unknown')")
    last = float(lt["duration_months"].max())
    kept = tuple(float(h) for h in sorted(horizons) if h <= last) or (float(np.floor(last)),)
    if len(kept) < len(horizons):
        notes.append(f"horizons beyond the longest follow-up ({last:.0f} months) left out")
    return ReasonData(lt, kept, notes=notes, columns=FROM_ENTRY if (lt["entry_months"] > 0).any() else LIFETIMES)


def service_share(cif: CIFResult, horizon: float, group: str = ALL, seed: int = 0) -> Estimate:
    """Share (%) of the churn by `horizon` months that is service-related, 95% bootstrap CI (or not estimable)."""
    label = f"Share of churn by {horizon:g} months that is service-related" + ("" if group == ALL else f" ({group})")
    if SERVICE not in cif.causes:
        return Estimate.not_estimable("%", label, "nobody left for service-related reasons")
    return replace(cif.share(SERVICE, horizon, group, seed), label=label)


def per_100(summary: pd.DataFrame) -> pd.DataFrame:
    """A `CIFResult.summary` as customers of 100 who have left, '12.3 (11.1-13.4)': group x reason by horizon."""
    text = ["–" if np.isnan(c) else f"{100 * c:.1f} ({100 * lo:.1f}-{100 * hi:.1f})"
            for c, lo, hi in zip(summary["cif"], summary["ci_low"], summary["ci_high"], strict=True)]
    wide = summary.assign(text=text).pivot(index=["group", "cause"], columns="months", values="text")
    return wide.rename(columns=lambda m: f"by {m:g} months").rename_axis(columns=None)


@dataclass
class ReasonIncidence:
    """Cumulative incidence by reason over the whole base, the service-related share and, per reason, one minus
    Kaplan-Meier (`naive`: cause, months, cif, one_minus_km) to show how much treating reasons apart overstates."""

    cif: CIFResult
    horizons: tuple[float, ...]
    share: Estimate
    naive: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Per reason and horizon: cumulative incidence (fraction) with its 95% CI."""
        return self.cif.summary(self.horizons)

    def finding(self) -> str:
        """'Of customers who left by N months, X% (95% CI) left for service-related reasons.'"""
        return (f"Of customers who left by {self.horizons[-1]:g} months, {self.share.format(0)} left for "
                "service-related reasons." if self.share.estimable else
                f"Service-related share of churn: {self.share.format(0)}.")

    def overstatement(self) -> str:
        """How far one minus Kaplan-Meier overstates the largest reason at the last horizon, in words."""
        row = self.naive[self.naive["months"] == self.horizons[-1]].sort_values("cif").iloc[-1]
        return (f"By {row['months']:g} months, {100 * row['cif']:.1f} of 100 customers have left for {row['cause']}; "
                f"one minus Kaplan-Meier for {row['cause']} alone would say {100 * row['one_minus_km']:.1f}.")

    def _repr_html_(self) -> str:
        return summary_html(per_100(self.summary()).droplevel("group"),
                            "Customers of 100 who have left, by reason (95% CI)", self.cif.notes)


def overall_incidence(reasons: ReasonData, seed: int = 0) -> ReasonIncidence:
    """Aalen-Johansen cumulative incidence by reason (risk sets from entry), the service-related share at the
    longest horizon and one minus Kaplan-Meier per reason for comparison.

    Parameters
    ----------
    reasons : `reason_data` output with lifetimes.
    seed : seed of the share's bootstrap.

    Returns
    -------
    ReasonIncidence
        Curves, summary at the horizons, share (%) with a 95% bootstrap CI.
    """
    lt, rows = reasons.lifetimes, []
    cif = cumulative_incidence(lt, reasons.columns)
    reason, at = lt["end_reason"].fillna("unknown").where(lt["event"], None), cif.summary(reasons.horizons)
    for cause in cif.causes:
        km = kaplan_meier(lt.assign(event=reason == cause), columns=reasons.columns).survival_at(reasons.horizons)
        rows.append(pd.DataFrame({"cause": cause, "months": km["months"], "one_minus_km": 1 - km["survival"].to_numpy(),
                                  "cif": at.loc[at["cause"] == cause, "cif"].to_numpy()}))
    return ReasonIncidence(cif, reasons.horizons, service_share(cif, reasons.horizons[-1], seed=seed),
                           pd.concat(rows, ignore_index=True))


@dataclass
class SegmentIncidence:
    """Cumulative incidence by reason per level of `segment`, each level's service-related share (%) by the
    longest horizon, the test across levels (`test`: one row of method, cause, segment, statistic, df, p, n;
    None when not run) and why this test (or why none)."""

    segment: str
    cif: CIFResult
    horizons: tuple[float, ...]
    shares: dict[str, Estimate]
    test: pd.DataFrame | None
    test_why: str = ""
    sample: Sample | None = None

    def summary(self) -> pd.DataFrame:
        """Per level: service-related share of churn (%) by the longest horizon, 95% CI, customers."""
        return pd.DataFrame([{self.segment: level, "service_share_pct": e.value, "ci_low": e.ci_low,
                              "ci_high": e.ci_high, "n": e.n} for level, e in self.shares.items()])

    def test_notes(self) -> list[str]:
        """The test's result, why this test, and its sample, in words."""
        if self.test is None:
            return [f"No test across {self.segment}: {self.test_why}."]
        t, differs = self.test.iloc[0], "differs" if self.test["p"].iloc[0] < 0.05 else "does not differ detectably"
        sampled = [self.sample.describe("The test")] if self.sample is not None and self.sample.sampled else []
        return [(f"Service-related churn's incidence {differs} by {self.segment} ({t['method']}: chi-square "
                 f"{t['statistic']:.1f} on {t['df']} df, {format_p(t['p'])})."), self.test_why, *sampled]

    def _repr_html_(self) -> str:
        title = f"Share of churn by {self.horizons[-1]:g} months that is service-related, by {self.segment}"
        return summary_html(self.summary(), title, self.test_notes() + self.cif.notes, digits=1)


def segment_incidence(
    reasons: ReasonData, segment: str, max_customers: int | None = None, seed: int = 0
) -> tuple[SegmentIncidence | None, str]:
    """Incidence by reason per level of `segment`, service-related shares and a test across the levels: Gray's
    test on untruncated data, else the Wald test of the segment's terms in a Fine-Gray model (Geskus weights).

    Parameters
    ----------
    reasons : `reason_data` output with lifetimes.
    segment : customer column whose levels are compared (levels under 30 customers dropped, noted).
    max_customers : customers of the Fine-Gray test at most (within `FINE_GRAY_MAX_CUSTOMERS`; a sample above).
    seed : seed of the sample and the shares' bootstrap.

    Returns
    -------
    tuple[SegmentIncidence | None, str]
        The comparison, or None and why not ("" when made).
    """
    lt = reasons.lifetimes
    if segment not in lt or lt[segment].nunique() < 2:
        return None, f"the data has no {segment} column with two or more levels"
    cif = cumulative_incidence(lt, reasons.columns, group=segment)
    if len(cif.groups) < 2:
        return None, f"fewer than two {segment} levels have 30 or more customers"
    shares = {level: service_share(cif, reasons.horizons[-1], level, seed) for level in cif.groups}
    kept = lt[lt[segment].astype(str).isin(cif.groups)]
    return SegmentIncidence(segment, cif, reasons.horizons, shares,
                            *_segment_test(kept, segment, reasons.columns, max_customers, seed)), ""


def _segment_test(
    lt: pd.DataFrame, segment: str, columns: LifetimeColumns, max_customers: int | None, seed: int
) -> tuple[pd.DataFrame | None, str, Sample | None]:
    """Gray's test, or when truncated the Fine-Gray Wald test of the segment terms: table, why (or why none), sample."""
    if not (lt["event"] & (lt["end_reason"] == SERVICE)).any():
        return None, "nobody left for service-related reasons", None
    if columns.entry is None:
        why = "Every customer is observed from sign-up, so Gray's (1988) test of equal cumulative incidence applies."
        return gray_test(lt, SERVICE, segment).summary().assign(method="Gray's test"), why, None
    sample = sample_customers(lt, min(max_customers or FINE_GRAY_MAX_CUSTOMERS, FINE_GRAY_MAX_CUSTOMERS), seed)
    try:
        fg = fine_gray(sample.frame, SERVICE, [segment], columns)
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as error:  # thin data: no converging or a singular fit
        return None, f"no test across {segment}: the Fine-Gray model cannot be fitted on this data ({error})", sample
    wald = fg.wald_test([t for t in fg.terms if t.startswith(f"{segment}=")])
    late = (lt[columns.entry] > 0).mean()
    why = (f"Gray's test is derived for customers observed from sign-up, and {late:.0%} of these "
           "joined before observation began (left truncation); the test is instead the joint Wald test of the "
           f"{segment} terms in a Fine-Gray model of service-related churn with Geskus's (2011) truncation weights.")
    levels = ", ".join(sorted(lt[segment].astype(str).unique()))
    return pd.DataFrame([{"cause": SERVICE, "group": segment, "levels": levels, "statistic": wald.statistic,
                          "df": wald.df, "p": wald.p_value, "n": fg.n, "method": "Fine-Gray Wald test"}]), why, sample


def contrast_sentences(hazards: CauseSpecificHazards, against: str = "price") -> list[str]:
    """For each service-experience driver (and the margin): its hazard ratio on service vs `against` churn."""
    return [f"Per {DRIVER_WORDS[t]}: service-related churn x{r[f'hr_{SERVICE}']:.2f}, {against} churn "
            f"x{r[f'hr_{against}']:.2f} (ratio {r['ratio']:.2f}, 95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f})."
            for t, r in hazards.contrast(SERVICE, against).dropna().iterrows()
            if t in DRIVER_WORDS]  # blanked: not estimable


def cause_specific_hazards(
    data: CXData, reasons: ReasonData, window_months: int = 3, max_customers: int | None = None, seed: int = 0
) -> tuple[CauseSpecificHazards | None, str]:
    """One hazard model per reason (leaving for another reason ends the time at risk): person-month cloglog
    models with the drivers as they stood each month where the data has event dates, else Cox models on the
    customer columns.

    Parameters
    ----------
    data : the canonical data set.
    reasons : `reason_data` output with lifetimes.
    window_months : calendar months of the drivers' trailing window (time-varying models).
    max_customers : at most this many customers, a simple random sample above (0/None: everyone).
    seed : seed of the sample.

    Returns
    -------
    tuple[CauseSpecificHazards | None, str]
        The models (None: no reason has `MIN_EVENTS` departures, or no columns to model), and why the
        time-varying form was not used ("" if it was).
    """
    can, why_not = can_build_person_months(data)
    if can:
        return _time_varying_hazards(data, window_months, max_customers, seed), ""
    return _flat_hazards(reasons, max_customers, seed), why_not


def _modelled(reason: pd.Series) -> tuple[list[str], list[str]]:
    """Reasons with at least `MIN_EVENTS` departures (never 'unknown'), and notes on those left out."""
    counts = reason.dropna().value_counts()
    few = [f"{k} ({v})" for k, v in counts.items() if v < MIN_EVENTS and k != "unknown"]
    return (sorted(k for k, v in counts.items() if v >= MIN_EVENTS and k != "unknown"),
            [f"no model for reasons with fewer than {MIN_EVENTS} departures: {', '.join(few)}"] if few else [])


def _time_varying_hazards(data: CXData, window_months: int, max_customers: int | None,
                          seed: int) -> CauseSpecificHazards | None:
    """Person-month cloglog per reason: event = left for that reason that month; drivers over the trailing window."""
    sample = sample_customers(data.customers[["customer_id"]], max_customers, seed)
    pm = person_months(data, window_months, sample.frame["customer_id"] if sample.sampled else None)
    long, notes = pm.table, list(pm.notes)
    # the margin stays out: a per-customer amount makes every person-month its own cell (plan carries price)
    long = long.merge(data.customers[["customer_id", "end_reason"]], on="customer_id", how="left")
    reason = long["end_reason"].fillna("unknown").where(long["event"], None)
    causes, few = _modelled(reason)
    if not causes:
        return None
    categorical = [c for c in ("contract", "plan") if c in long]
    complete = complete_cases(long[[*COUNT_DRIVERS, CES_DRIVER, *categorical]], "person-months", notes)
    design, reference = covariate_design(complete, [*COUNT_DRIVERS, CES_DRIVER], categorical, notes)
    tables = [_cloglog_of(long.loc[design.index].assign(event=reason == cause), design).assign(cause=cause)
              for cause in causes]
    method = (f"Person-month cloglog per reason, drivers over the {window_months} calendar months before each "
              "month (time-varying)")
    return CauseSpecificHazards(method, _blank_separated(pd.concat(tables, ignore_index=True), few),
                                {c: int((reason == c).sum()) for c in causes}, True, sample, reference, few + notes)


def _cloglog_of(long: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """Grouped-time proportional-hazards fit of `long["event"]` on `design` (one intercept per tenure band):
    term, coef, se, hr, ci_low, ci_high, p."""
    tenure, y, trials, covs = person_month_cells(long, design)
    baseline = tenure_baseline(tenure, y > 0, TIME_BANDS)
    x, k = np.hstack([baseline, covs.to_numpy(float)]), baseline.shape[1]
    try:
        beta, cov, _ = fit_cloglog(x, y, max_iter=100, trials=trials)
        coef, se = beta[k:], np.sqrt(np.diag(cov)[k:])
    except np.linalg.LinAlgError:  # a driver level without departures for the reason (separation)
        coef = se = np.full(covs.shape[1], np.nan)
    return pd.DataFrame({"term": list(design.columns), "coef": coef, "se": se, "hr": np.exp(coef),
                         "ci_low": np.exp(coef - Z95 * se), "ci_high": np.exp(coef + Z95 * se),
                         "p": 2 * stats.norm.sf(np.abs(coef / se))})


def _blank_separated(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Terms a reason's departures never vary in (infinite estimates) blanked, and noted."""
    separated = ~np.isfinite(table["ci_high"]) | (table["se"] > 10)
    if separated.any():
        table.loc[separated, ["coef", "se", "hr", "ci_low", "ci_high", "p"]] = np.nan
        notes.append("not estimable (the reason's departures never vary in the term, or no fit converged): "
                     + ", ".join(f"{r.cause}: {r.term}" for r in table[separated].itertuples()))
    return table


def _flat_hazards(reasons: ReasonData, max_customers: int | None, seed: int) -> CauseSpecificHazards | None:
    """Cause-specific Cox models on the customer columns present (one row per customer, no event dates); terms a
    reason never occurs with (infinite intervals) are blanked and noted."""
    lt = reasons.lifetimes
    covariates = [c for c in FLAT_COVARIATES if c in lt and lt[c].nunique() > 1]
    sample = sample_customers(lt, max_customers, seed)
    causes, notes = _modelled(sample.frame["end_reason"].fillna("unknown").where(sample.frame["event"], None))
    if not covariates or not causes:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # separation is handled below
        fit = cause_specific_cox(sample.frame, covariates, causes, reasons.columns)
    method = "Cause-specific Cox models on the customer columns (" + ", ".join(covariates) + ")"
    return replace(fit, method=method, table=_blank_separated(fit.table, notes), sample=sample, notes=notes + fit.notes)


@dataclass
class ServiceFineGray:
    """The Fine-Gray model of service-related churn and the customers it used."""

    model: FineGrayResult
    sample: Sample

    def summary(self) -> pd.DataFrame:
        """Per term: subdistribution hazard ratio with 95% CI and p-value."""
        return self.model.summary()[["term", "shr", "ci_low", "ci_high", "p"]]

    def notes(self) -> list[str]:
        """The variance used, the truncation caveat and the sample, in words."""
        out = [f"Variance: {self.model.variance}.", *([TRUNCATED_FINE_GRAY] if self.model.truncated else [])]
        return out + ([self.sample.describe("The Fine-Gray model")] if self.sample.sampled else []) + self.model.notes

    def _repr_html_(self) -> str:
        m = self.model
        return summary_html(self.summary(), f"Fine-Gray model of service-related churn: {m.n:,} customers, "
                            f"{m.n_events:,} left for service reasons, {m.n_competing:,} for others", self.notes())


def service_fine_gray(
    reasons: ReasonData, max_customers: int | None = None, seed: int = 0
) -> tuple[ServiceFineGray | None, str]:
    """Fine-Gray subdistribution hazards of service-related churn on `FINE_GRAY_COVARIATES` present.

    Parameters
    ----------
    reasons : `reason_data` output with lifetimes.
    max_customers, seed : at most this many customers (within `FINE_GRAY_MAX_CUSTOMERS`), a random sample above.

    Returns
    -------
    tuple[ServiceFineGray | None, str] : the model, or None and why not (also for a non-converging or singular fit).
    """
    lt = reasons.lifetimes
    if not (lt["event"] & (lt["end_reason"] == SERVICE)).any():
        return None, "nobody left for service-related reasons"
    covariates = [c for c in FINE_GRAY_COVARIATES if c in lt and lt[c].nunique() > 1]
    if not covariates:
        return None, f"the data has none of {', '.join(FINE_GRAY_COVARIATES)} varying across customers"
    sample = sample_customers(lt, min(max_customers or FINE_GRAY_MAX_CUSTOMERS, FINE_GRAY_MAX_CUSTOMERS), seed)
    try:
        return ServiceFineGray(fine_gray(sample.frame, SERVICE, covariates, reasons.columns), sample), ""
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as error:
        return None, f"the Fine-Gray model cannot be fitted on this data ({error})"


def reason_recovery(
    data: CXData, truth: dict | None, max_customers: int | None = None, seed: int = 0
) -> tuple[pd.DataFrame | None, str, Sample | None]:
    """Known truth: a multinomial logit of the reason among churners on the simulator's drivers (the churn
    month's person-month window, margin and plan) against `truth` (truth.json; None for real data): the
    `truth.reasons.reason_logit_recovery` table, or None and why not, and the churners it used (at most
    `max_customers`, a simple random sample with `seed` above; None: all). Each churner brings a person-month table
    of their whole lifetime, so on a large base the sample bounds memory and time."""
    if truth is None or "churn_reasons" not in truth:
        return None, "the data source has no truth.json with churn reasons (only a simulated world does)", None
    columns = ["customer_id", "end_reason", "monthly_margin", "plan"]
    sample = sample_customers(data.customers.loc[data.customers["end_reason"].notna(), columns], max_customers, seed)
    churners = sample.frame
    long = person_months(data, int(truth.get("window_months", 3)), churners["customer_id"]).table
    rows = long.loc[long["event"], ["customer_id", "unresolved_90d", "inconsistency_90d", CES_DRIVER]]
    x = rows.merge(churners, on="customer_id").rename(columns={CES_DRIVER: "ces_mean_90d"})
    dummies = {f"plan[{level}]": (x["plan"] == level).astype(float) for level in ("standard", "premium")}
    return reason_logit_recovery(x.assign(**dummies), truth), "", replace(sample, unit="customers who left")


def recovery_sentence(table: pd.DataFrame) -> str:
    """How many true values fall inside the 95% intervals, and how many directions are right."""
    right, judged = direction_counts(table)
    return (f"{int(table['truth_in_ci'].sum())} of {len(table)} true log relative hazards inside the 95% intervals "
            f"(about 19 in 20 expected); {right} of {judged} non-zero effects with the right sign.")
