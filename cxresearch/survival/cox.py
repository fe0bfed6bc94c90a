"""Cox proportional hazards (Cox 1972) and the scaled-Schoenfeld proportional-hazards check with its remedy
(a step time interaction); durations in months."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import proportional_hazard_test

from cxresearch.stats.design import complete_cases, covariate_design
from cxresearch.stats.estimate import Estimate
from cxresearch.stats.multiplicity import holm_adjusted
from cxresearch.survival.columns import LIFETIMES, LifetimeColumns
from cxresearch.survival.display import summary_html


@dataclass
class CoxResult:
    """Cox proportional-hazards fit (Cox 1972): hazard ratios of churn per unit / vs the reference level."""

    table: pd.DataFrame  # indexed by term: coef, se, hazard_ratio, hr_ci_low, hr_ci_high, p_value
    concordance: float
    n: int
    events: int
    penalizer: float
    reference_levels: dict[str, str]
    notes: list[str] = field(default_factory=list)
    fitter: CoxPHFitter | None = field(default=None, repr=False)
    data: pd.DataFrame | None = field(default=None, repr=False)  # the design matrix actually fitted
    columns: LifetimeColumns = LIFETIMES  # the lifetime's columns in `data`

    @property
    def terms(self) -> list[str]:
        """Model terms (numeric covariates and `column=level` dummies)."""
        return list(self.table.index)

    def summary(self) -> pd.DataFrame:
        """Per term: log hazard ratio, hazard ratio with 95% CI, p-value."""
        return self.table[["coef", "hazard_ratio", "hr_ci_low", "hr_ci_high", "p_value"]].copy()

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Cox model: {self.n:,} customers, {self.events:,} churned, concordance "
                            f"{self.concordance:.3f}", self.notes)

    def hazard_ratio(self, term: str) -> Estimate:
        """Hazard ratio of one term with its 95% CI (ratio; >1 means faster churn)."""
        if term not in self.table.index:
            raise KeyError(f"unknown term {term!r}; terms are {self.terms}")
        row = self.table.loc[term]
        column = term.split("=", 1)[0]
        versus = f" vs {self.reference_levels[column]}" if column in self.reference_levels else " per unit"
        return Estimate(
            value=float(row["hazard_ratio"]),
            unit="ratio",
            label=f"Churn hazard ratio: {term}{versus}",
            ci_low=float(row["hr_ci_low"]),
            ci_high=float(row["hr_ci_high"]),
            n=self.n,
            note=f"p = {row['p_value']:.3g}; Cox PH, penalizer {self.penalizer:g}",
        )

    def ph_test(self) -> pd.DataFrame:
        """Schoenfeld-residual test of proportional hazards per term (Grambsch & Therneau 1994), rank time.

        Not available for fits with delayed entry: lifelines has no Schoenfeld residuals with entry times.
        """
        if self.fitter is not None and getattr(self.fitter, "entry_col", None):
            raise NotImplementedError(
                "proportional-hazards test is not available for a Cox fit with delayed entry (lifelines computes no "
                "Schoenfeld residuals with entry times); check PH with the fit without `entry` or by stratifying"
            )
        res = proportional_hazard_test(self.fitter, self.data, time_transform="rank")
        return res.summary[["test_statistic", "p"]].rename(columns={"p": "p_value"})


def fit_cox(
    df: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    columns: LifetimeColumns = LIFETIMES,
    penalizer: float = 0.0,
    max_missing: float = 0.5,
) -> CoxResult:
    """Cox proportional-hazards model of churn on `covariates` (numeric) and `categorical` columns.

    Data hygiene, each step recorded in `notes`: columns more than `max_missing` missing are dropped; remaining
    rows with any missing value are dropped (complete-case, count reported); categoricals are one-hot coded with
    the most common level as reference; constant columns are dropped. If the unpenalized fit fails to converge it
    is refitted with an L2 penalizer of 0.1 (hazard ratios then shrink towards 1).

    `entry` : optional column of left-truncation (delayed entry) times in months (lifelines `entry_col`): a
    customer is in the risk set only from their entry time on. Rows with missing entry are dropped with the
    complete-case rows; rows with negative entry or no follow-up after entry (entry > 0, entry >= duration) with
    a note.

    Parameters
    ----------
    df : one row per customer with `duration` (months) and `event` (churn observed).
    covariates : model columns; those also in `categorical` are one-hot coded, the rest entered per unit.
    categorical : categorical columns (most common level as reference).
    penalizer : L2 penalizer of lifelines' fit.
    max_missing : columns with a larger share missing are dropped.
    columns : which columns hold the lifetime (`LifetimeColumns`: duration, event, entry); with an `entry`
        column, risk sets start at entry (left truncation).

    Returns
    -------
    CoxResult
        Hazard ratios per term with 95% CIs and p-values, concordance, and the design actually fitted.

    References
    ----------
    Cox (1972), JRSS-B 34:187-220; concordance: Harrell et al. (1996), Stat Med 15:361-387.
    """
    categorical = list(categorical)
    numeric = [c for c in covariates if c not in categorical]
    duration, event, entry = columns.duration, columns.event, columns.entry
    extra = [entry] if entry else []
    missing_cols = [c for c in numeric + categorical + [duration, event] + extra if c not in df.columns]
    if missing_cols:
        raise KeyError(f"columns not in data: {missing_cols}")
    notes: list[str] = []
    numeric, categorical = _drop_sparse(df, numeric, categorical, max_missing, notes)
    complete = complete_cases(df[numeric + categorical + [duration, event] + extra], "customers", notes)
    if entry:
        bad = (complete[entry] < 0) | ((complete[entry] > 0) & (complete[entry] >= complete[duration]))
        if bad.any():
            notes.append(f"dropped {int(bad.sum())} customers with negative entry or no follow-up after entry")
            complete = complete[~bad]
    design, reference_levels = covariate_design(complete, numeric, categorical, notes)
    design[duration] = complete[duration].astype(float)
    design[event] = complete[event].astype(bool)
    if entry:
        design[entry] = complete[entry].astype(float)
    cph, used_penalizer = _fit_cph(design, duration, event, penalizer, notes, entry)
    return CoxResult(
        table=_hazard_ratio_table(cph), concordance=float(cph.concordance_index_), n=len(design),
        events=int(design[event].sum()), penalizer=used_penalizer, reference_levels=reference_levels, notes=notes,
        fitter=cph, data=design, columns=columns,
    )


def _drop_sparse(
    df: pd.DataFrame, numeric: list[str], categorical: list[str], max_missing: float, notes: list[str]
) -> tuple[list[str], list[str]]:
    """The numeric and categorical columns at most `max_missing` (share) missing; the others are noted."""
    columns = numeric + categorical
    share_missing = df[columns].isna().mean()
    too_sparse = [c for c in columns if share_missing[c] > max_missing]
    if too_sparse:
        notes.append(
            f"dropped {too_sparse}: more than {max_missing:.0%} missing "
            f"({', '.join(f'{share_missing[c]:.0%}' for c in too_sparse)})"
        )
    return [c for c in numeric if c not in too_sparse], [c for c in categorical if c not in too_sparse]


def _hazard_ratio_table(cph: CoxPHFitter) -> pd.DataFrame:
    """Per term of a lifelines fit: coef, se, hazard_ratio with its 95% CI, p_value."""
    s = cph.summary
    table = pd.DataFrame({
        "coef": s["coef"], "se": s["se(coef)"], "hazard_ratio": s["exp(coef)"],
        "hr_ci_low": s["exp(coef) lower 95%"], "hr_ci_high": s["exp(coef) upper 95%"], "p_value": s["p"],
    })
    table.index.name = "term"
    return table


def _fit_cph(
    design: pd.DataFrame, duration: str, event: str, penalizer: float, notes: list[str], entry: str | None = None
) -> tuple[CoxPHFitter, float]:
    """Fit lifelines' CoxPHFitter; on non-convergence (or its separation warning) refit with penalizer 0.1."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            return CoxPHFitter(penalizer=penalizer).fit(design, duration, event, entry_col=entry), penalizer
    except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError) as err:
        fallback = max(0.1, penalizer)
        notes.append(
            f"Cox fit failed or warned of (quasi-)separation ({type(err).__name__}: "
            f"{str(err).strip().split('. ')[0]}); refitted with L2 penalizer {fallback:g}, so hazard ratios are "
            "shrunk towards 1"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return CoxPHFitter(penalizer=fallback).fit(design, duration, event, entry_col=entry), fallback


@dataclass
class PHCheck:
    """Scaled-Schoenfeld test per term (Holm-adjusted across terms) and, for violating terms, a Cox refit with the
    effect split at a cut time."""

    tests: pd.DataFrame  # term: statistic, p_value, p_holm, violated (p_holm < alpha)
    alpha: float
    cut_months: float
    model: CoxResult
    remedy: CoxResult | None = None  # violating terms as `term@<cut` and `term@>=cut` (hazard ratio before/after)

    @property
    def violated(self) -> list[str]:
        """Terms whose hazard ratio changes with time at family-wise level `alpha` (Holm)."""
        return list(self.tests.index[self.tests["violated"]])

    def summary(self) -> pd.DataFrame:
        """Per term: PH test statistic, p-value and Holm-adjusted p-value, and for violating terms the hazard ratio
        before and after the cut (95% CIs)."""
        out = self.tests.copy()
        if self.remedy is not None:
            hr = self.remedy.summary()
            for phase, suffix in (("before", f"@<{self.cut_months:g}m"), ("after", f"@>={self.cut_months:g}m")):
                for col in ("hazard_ratio", "hr_ci_low", "hr_ci_high"):
                    out[f"{col}_{phase}"] = [hr[col].get(t + suffix, np.nan) for t in out.index]
        return out

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), f"Proportional-hazards check (scaled Schoenfeld, Holm; cut at "
                            f"{self.cut_months:g} months)", self.sentences())

    def sentences(self) -> list[str]:
        """Plain-words verdict and remedy, one sentence per violating term (or one saying PH holds)."""
        if not self.violated:
            return [(f"No term violates proportional hazards (scaled Schoenfeld test, Holm-adjusted p >= "
                     f"{self.alpha:g} for every term): each hazard ratio can be read as constant over the follow-up.")]
        table = self.summary()
        out = []
        for term in self.violated:
            row = table.loc[term]
            out.append(
                f"{term}: its hazard ratio changes over time (Schoenfeld p = {row['p_value']:.2g}, Holm "
                f"{row['p_holm']:.2g}); remedy: a time interaction splitting the effect at {self.cut_months:g} months "
                f"gives HR {row['hazard_ratio_before']:.2f} (95% CI {row['hr_ci_low_before']:.2f} to "
                f"{row['hr_ci_high_before']:.2f}) before and {row['hazard_ratio_after']:.2f} "
                f"({row['hr_ci_low_after']:.2f} to {row['hr_ci_high_after']:.2f}) after."
            )
        return out


def check_proportional_hazards(cox: CoxResult, alpha: float = 0.05, cut_months: float | None = None) -> PHCheck:
    """Test a fitted Cox model's proportional hazards per term, and refit violators with a step time interaction.

    Test: scaled Schoenfeld residuals against rank time (Grambsch & Therneau 1994, Biometrika 81:515-526), one per
    term; the p-values are Holm-adjusted (Holm 1979, Scand. J. Stat. 6:65-70), so when every hazard is
    proportional the chance of flagging any term is at most `alpha`. Remedy
    for a violating term X: each customer's follow-up is split at `cut_months` (default: the median churn time)
    into two episodes, and X enters as X * 1[t < cut] and X * 1[t >= cut], so the refit reports one hazard ratio
    before and one after the cut (Therneau & Grambsch 2000, "Modeling Survival Data", sec. 6.6: step-function
    time interactions via episode splitting). Terms that pass keep a single hazard ratio.

    Parameters
    ----------
    cox : a `fit_cox` result with risk sets from signup (no `entry`: the residuals' test assumes them).
    alpha : family-wise error rate over the terms.
    cut_months : where the remedy splits follow-up (months; default the median churn time, whole months).

    Returns
    -------
    PHCheck
        Per-term tests, the model, and the split refit when a term violates proportional hazards.

    Raises
    ------
    ValueError
        When the model was fitted with delayed entry.

    References
    ----------
    Grambsch & Therneau (1994), Biometrika 81:515-526; Holm (1979), Scand. J. Stat. 6:65-70; Therneau & Grambsch
    (2000), "Modeling Survival Data", sec. 6.6.
    """
    if cox.columns.entry is not None:
        raise ValueError("the proportional-hazards check needs a Cox model fitted without delayed entry")
    columns = cox.columns
    tests = cox.ph_test().rename(columns={"test_statistic": "statistic"})
    tests["p_holm"] = holm_adjusted(tests["p_value"])
    tests["violated"] = tests["p_holm"] < alpha
    tests.index.name = "term"
    design = cox.data
    if cut_months is None:
        # a whole number of months reads better and the exact cut hardly matters for a step interaction
        cut_months = max(1.0, float(np.round(np.median(design.loc[design[columns.event], columns.duration]))))
    check = PHCheck(tests=tests, alpha=alpha, cut_months=float(cut_months), model=cox)
    if not check.violated:
        return check
    # lifelines needs duration > entry on every episode: drop zero follow-up (churn on day 0 carries no timing)
    design = design[design[columns.duration] > 0]
    early = design.assign(_entry=0.0, **{columns.duration: np.minimum(design[columns.duration], cut_months)})
    early[columns.event] = design[columns.event] & (design[columns.duration] <= cut_months)
    late = design[design[columns.duration] > cut_months].assign(_entry=float(cut_months))
    split = pd.concat([early, late], ignore_index=True)
    after = split["_entry"] >= cut_months
    for term in check.violated:
        split[f"{term}@<{cut_months:g}m"] = split[term].where(~after, 0.0)
        split[f"{term}@>={cut_months:g}m"] = split[term].where(after, 0.0)
    terms = [c for c in split.columns if c not in (columns.duration, columns.event, "_entry", *check.violated)]
    check.remedy = _fit_split(split, terms, columns.duration, columns.event, cox.reference_levels)
    return check


def _fit_split(
    split: pd.DataFrame, terms: list[str], duration: str, event: str, reference_levels: dict[str, str]
) -> CoxResult:
    """Cox fit on data split at one cut into episodes (`_entry`, `duration`], `_entry` 0 or the cut.

    Every churn time before the cut has only first episodes at risk and every later one only second episodes (all
    entered at the cut), so the partial likelihood is that of a Cox model stratified by episode without delayed
    entry; lifelines fits that far faster than its delayed-entry or counting-process paths.
    """
    data = split[terms].assign(_period=(split["_entry"] > 0).astype(int), **{duration: split[duration],
                                                                           event: split[event].astype(bool)})
    cph = CoxPHFitter().fit(data, duration, event, strata=["_period"])
    return CoxResult(table=_hazard_ratio_table(cph), concordance=float(cph.concordance_index_), n=int((split["_entry"] == 0).sum()),
                     events=int(split[event].sum()), penalizer=0.0, reference_levels=reference_levels,
                     notes=["episode-split fit (step time interaction), stratified by episode"], fitter=cph, data=data)


