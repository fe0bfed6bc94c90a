"""The evidence table: claims CX writing makes, each tested on the data with an estimate, 95% CI and a verdict.

Every verdict follows the pre-declared rule and Holm's multiplicity adjustment of `cxresearch.loyalty.evidence`.
The data the tests run on is built in `cxresearch.loyalty.panels`; claims 3 to 5 are in
`cxresearch.loyalty.driver_claims`.

Wording. The churn claims are tested on observational data: "supported" means the association is there in the
claimed direction ("goes with"), not that the CX factor causes churn; only a randomised experiment could show that,
and none is in the data.

Churn claims use pooled monthly snapshots: at each month start `as_of`, features from the 3 months before it
and churn in the month after it, for customers active then. Stacking these person-months is a discrete-time
hazard model (pooled logistic regression, D'Agostino et al. 1990): with monthly churn of a few percent its odds
ratios are close to hazard ratios, so they speak about lifetime, and trailing-window counts enter exactly as
they act month by month (a longer prediction window would let past scores stand in for future contacts).

Claim 4a has a causal test (row `4a_rct`, `driver_claims.claim_proactive_randomised`) when the data holds a
randomised proactive campaign: churn of its treated customers against its holdout, judged by the same rule and
adjusted with the others, shown beside the observational row; without one the row is left out and
`EvidenceTable.absent` says why.

Claim 1 has a second line of evidence from survival analysis (rows `1a_cox`, `1b_cox`): a Cox model with the
latest NPS / CSAT as a time-varying covariate over the customers' whole observed lifetimes (person-months of
`cxresearch.survival.timevarying`, tenure as the time scale, left truncation respected), judged by the same kind of rule
on the hazard ratio per point.

"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from lifelines.exceptions import ConvergenceError
from threadpoolctl import threadpool_limits

from cxresearch.churn.logit import fit_churn_logit
from cxresearch.data.schema import CXData
from cxresearch.features.snapshot import default_as_of, snapshot
from cxresearch.loyalty.driver_claims import (
    claim_drivers,
    claim_effort_predicts_better,
    claim_proactive_randomised,
)
from cxresearch.loyalty.evidence import (
    MIN_EVENTS,
    Evidence,
    EvidenceTable,
    LogNormalInterval,
    VerdictRule,
    WilsonInterval,
    adjust,
    ratio_rule,
)
from cxresearch.loyalty.metrics import DETRACTOR_MAX, PASSIVE_MIN, PROMOTER_MIN, SATISFIED_MIN
from cxresearch.loyalty.panels import (
    INSTRUMENTS,
    LEAKING_NEEDS,
    LEAKING_SCORE,
    cross_section,
    dropped_reason,
    leaks,
    log_interval,
    referral_frame,
    satisfaction_person_months,
    scored_rows,
    shortage,
    stacked_snapshots,
    varying_columns,
)
from cxresearch.stats.sampling import Sample, sample_customers
from cxresearch.survival.timevarying import fit_time_varying_cox


def claim_satisfaction_loyalty(panel: pd.DataFrame, flat: pd.DataFrame | None = None,
                               margin: float = 1.05, leaking: Sequence[str] = ()) -> list[Evidence]:
    """Claim 1: higher NPS / CSAT goes with less churn (odds ratio per point < 1, adjusted for tenure, contract).

    A `leaking` score (recorded after the churn decision) cannot test it: the row says so.

    Parameters
    ----------
    panel, flat, margin, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.

    Returns
    -------
    list of Evidence
        Rows 1a (NPS) and 1b (CSAT).
    """
    rows = []
    for id, column, name in (("1a", "nps_last", "NPS"), ("1b", "csat_last", "CSAT")):
        claim = f"'Satisfied customers are more loyal' (tested as: higher {name} goes with less churn)"
        test = (f"pooled monthly logistic regression of churn on the latest {name} "
                "(odds ratio per point), adjusted for tenure and contract")
        if leaks(column, leaking):
            rows.append(Evidence.untestable(id, claim, test, LEAKING_SCORE.format(name=name), LEAKING_NEEDS))
            continue
        frame, note = scored_rows(panel, column), ""
        if frame is None and flat is not None:
            frame = scored_rows(flat, column)
            note = "flat data: latest score vs churn by end of observation (association, not a prediction)"
        if frame is None:
            source = panel if len(panel) or flat is None else flat
            rows.append(Evidence.untestable(id, claim, test, *shortage(source, column, f"too few {name} answers")))
            continue
        fit = fit_churn_logit(frame, features=[column, *varying_columns(frame, ("tenure_months",))],
                              categorical=varying_columns(frame, ("contract",)), exclude=leaking)
        if column not in fit.coefficients.index:
            rows.append(Evidence.untestable(id, claim, test, dropped_reason(fit, column, f"{name} could not be estimated")))
            continue
        rows.append(Evidence.judged(id, claim, test, fit.odds_ratio(column).value, log_interval(fit, column),
                                    "odds ratio per point", ratio_rule("less", margin), fit.n, note))
    return rows


#: Name of the Cox test of claim 1 in reports (e.g. the results' approximations).
SURVIVAL_ANALYSIS = "claim 1 survival test (time-varying Cox), customers with an NPS or CSAT answer"


def claim_satisfaction_survival(
    data: CXData, until: pd.Timestamp | None = None, margin: float = 1.05, max_customers: int | None = None,
    seed: int = 0, leaking: Sequence[str] = (),
) -> tuple[list[Evidence], Sample | None]:
    """Claim 1 by survival analysis: hazard ratio of churn per NPS / CSAT point (rows 1a_cox, 1b_cox).

    Cox model (Efron ties) on person-months with the latest answer before each month as a time-varying covariate,
    tenure as the time scale (so adjusted for tenure), adjusted for contract; months starting before `until`.
    Customers enter from their first answer (complete cases), so only customers who ever answered are built
    into person-months: a simple random sample of at most `max_customers` of them (returned, None when the test
    could not run). Rule: `ratio_rule("less", margin)` on the hazard ratio, as for the odds ratio of 1a/1b.

    Parameters
    ----------
    data
        The validated data.
    until
        Keep person-months starting before this date; None keeps all.
    max_customers
        Most customers with an answer to build person-months for; None for all.
    seed
        Seed of the sample.
    margin, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.

    Returns
    -------
    tuple
        Rows 1a_cox and 1b_cox, and the sample of customers (None when the test could not run).
    """
    tests = (("1a_cox", "nps_last", "NPS"), ("1b_cox", "csat_last", "CSAT"))

    def claim(name: str) -> str:
        return f"'Satisfied customers are more loyal' (tested as: higher {name} goes with less churn; survival model)"

    def test(name: str) -> str:
        return (f"time-varying Cox model of the churn hazard on the latest {name} before each month (hazard ratio "
                "per point), tenure as time scale, adjusted for contract, whole observed lifetimes")

    surveys = data.surveys
    answered = surveys.loc[surveys["instrument"].isin(["nps", "csat"]), "customer_id"] if len(surveys) else None
    if not data.has_timestamps or answered is None or answered.empty:
        why = "no dated NPS or CSAT answers: a survival model needs scores dated before the months they predict"
        needs = "event dates" if not data.has_timestamps else "survey scores"
        return [Evidence.untestable(id, claim(name), test(name), why, needs) for id, _, name in tests], None
    sample = sample_customers(pd.DataFrame({"customer_id": answered.unique()}), max_customers, seed)
    long = satisfaction_person_months(data, until, sample.frame["customer_id"])
    rows = []
    for id, column, name in tests:
        if leaks(column, leaking):
            rows.append(Evidence.untestable(id, claim(name), test(name), LEAKING_SCORE.format(name=name),
                                            LEAKING_NEEDS))
            continue
        frame = long[long[column].notna()]
        events = int(frame["event"].sum())
        if min(events, len(frame) - events) < MIN_EVENTS:
            needs = INSTRUMENTS[column.split("_")[0]][1] if frame.empty else "churners"
            rows.append(Evidence.untestable(id, claim(name), test(name), f"not enough customer-months with an "
                                            f"earlier {name} answer ({events:,} churns in {len(frame):,}; needs "
                                            f"{MIN_EVENTS} churns and stays)", needs))
            continue
        try:
            fit = fit_time_varying_cox(frame, [column], varying_columns(frame, ("contract",)))
        except (ConvergenceError, np.linalg.LinAlgError) as error:  # e.g. a score that separates churners
            rows.append(Evidence.untestable(id, claim(name), test(name), f"the Cox model did not converge: {error}",
                                            "more customers"))
            continue
        row = fit.table.loc[column]
        rows.append(Evidence.judged(id, claim(name), test(name), row["hazard_ratio"],
                                    LogNormalInterval(float(row["coef"]), float(row["se"])),
                                    "hazard ratio per point", ratio_rule("less", margin),
                                    fit.n_customers, f"{fit.events:,} churns in {fit.n_episodes:,} customer-months"))
    return rows, sample


def claim_satisfaction_trap(panel: pd.DataFrame, flat: pd.DataFrame | None = None,
                            threshold_pct: float = 25.0, leaking: Sequence[str] = ()) -> Evidence:
    """Claim 2: at least `threshold_pct`% of churners were satisfied (latest CSAT 4-5, else NPS 7-10).

    A `leaking` score is not used: recorded after the decision to leave, it would show churners as dissatisfied
    by construction.

    Parameters
    ----------
    panel, flat, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.
    threshold_pct
        Share of churners (%) that counts as sizeable.

    Returns
    -------
    Evidence
        Row 2.
    """
    claim = f"Satisfaction is not loyalty: a sizeable share (at least {threshold_pct:g}%) of churners were satisfied"
    scores = (("csat_last", SATISFIED_MIN, "CSAT 4-5"), ("nps_last", PASSIVE_MIN, "NPS 7-10"))
    usable = [s for s in scores if not leaks(s[0], leaking)]
    if not usable:
        return Evidence.untestable("2", claim, "share of churners who were satisfied",
                                   LEAKING_SCORE.format(name="satisfaction"), LEAKING_NEEDS)
    for column, satisfied, label in usable:
        test = f"share of churners whose latest score before leaving was {label} (Wilson CI)"
        for frame, note in ((panel, ""), (flat, "flat data: latest score, not necessarily before churn")):
            rows = scored_rows(frame, column) if frame is not None else None
            if rows is None:
                continue
            churners = rows.loc[rows["churned"].astype(bool), column]
            count, n = int((churners >= satisfied).sum()), len(churners)
            return Evidence.judged("2", claim, test, 100.0 * count / n, WilsonInterval(count, n), "% of churners",
                                   VerdictRule(threshold_pct, "greater"), n, note)
    frames = [f for f in (panel, flat) if f is not None]
    have = any(c in f and f[c].notna().any() for f in frames for c, _, _ in usable)
    leaked = [INSTRUMENTS[c.split("_")[0]][0] for c, _, _ in scores if leaks(c, leaking)]
    if leaked and not have:  # the only score there is was recorded after the decision to leave
        return Evidence.untestable("2", claim, "share of churners who were satisfied",
                                   LEAKING_SCORE.format(name=" and ".join(leaked)), LEAKING_NEEDS)
    reason = (f"fewer than {MIN_EVENTS} churners with a CSAT or NPS score" if have
              else "the data has no CSAT or NPS scores per customer")
    return Evidence.untestable("2", claim, "share of churners who were satisfied", reason,
                               "churners" if have else "survey scores")


def claim_promoters_refer(data: CXData, margin: float = 1.05, leaking: Sequence[str] = ()) -> Evidence:
    """Claim 6: promoters (NPS 9-10) make more referrals per year than detractors (0-6); CSAT 4-5 vs 1-3 as proxy.

    Poisson regression of referrals with log(years as a customer) as offset and robust (HC0) standard errors,
    which stay valid under over-dispersion (Cameron & Trivedi 2013). Referrals are not churn, so a `leaking`
    score is still used, with a caveat in the note: recorded with the churn outcome, it splits stayers from
    leavers as much as the satisfied from the dissatisfied.

    Parameters
    ----------
    data
        The validated data: referrals from its customers, NPS and CSAT from its surveys.
    margin, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.

    Returns
    -------
    Evidence
        Row 6.
    """
    claim = "'Promoters recommend' (tested as: promoters make more referrals a year than detractors)"
    test = "referral rate ratio, promoters (NPS 9-10) vs detractors (0-6), Poisson with exposure, robust SEs"
    if "n_referrals" not in data.customers or data.customers["n_referrals"].isna().all():
        return Evidence.untestable("6", claim, test, "the data has no referral counts (n_referrals)", "referrals")
    frame = referral_frame(data)
    frame = frame[frame["years"] > 0].dropna(subset=["n_referrals"])
    for column, high, low, label in (("nps_last", PROMOTER_MIN, DETRACTOR_MAX,
                                      "promoters (NPS 9-10) vs detractors (0-6)"),
                                     ("csat_last", SATISFIED_MIN, SATISFIED_MIN - 1,
                                      "satisfied (CSAT 4-5) vs not (1-3), as a proxy")):
        rows = frame.dropna(subset=[column])
        rows = rows[(rows[column] >= high) | (rows[column] <= low)]
        group = (rows[column] >= high).astype(float)
        if group.nunique() < 2 or (rows["n_referrals"] > 0).sum() < MIN_EVENTS:
            continue
        fit = sm.GLM(rows["n_referrals"].to_numpy(float), sm.add_constant(group.to_numpy()),
                     family=sm.families.Poisson(), offset=np.log(rows["years"].to_numpy())).fit(cov_type="HC0")
        beta, se = float(fit.params[1]), float(fit.bse[1])
        note = "" if column == "nps_last" else "no NPS in the data: CSAT used as a proxy for promoters"
        if leaks(column, leaking):
            name = INSTRUMENTS[column.split("_")[0]][0]
            note = "; ".join(filter(None, (note, (f"caution: {name} is recorded after the churn decision (leakage), "
                                            "so its groups are partly leavers vs stayers"))))
        return Evidence.judged("6", claim, f"referral rate ratio, {label}, Poisson with exposure, robust SEs",
                               np.exp(beta), LogNormalInterval(beta, se), "rate ratio",
                               ratio_rule("greater", margin), len(rows), note)
    scored = frame[["nps_last", "csat_last"]].notna().any().any()
    return Evidence.untestable("6", claim, test, f"no NPS or CSAT groups with at least {MIN_EVENTS} referrers",
                               "referrals" if scored else "survey scores")


def evaluate_claims(
    data: CXData,
    as_of: str | pd.Timestamp | None = None,
    horizon_months: int = 1, window_months: int = 3, max_snapshots: int = 12, n_boot: int = 300, seed: int = 0,
    margin: float = 1.05,
    trap_threshold_pct: float = 25.0,
    max_survival_customers: int | None = None,
    leaking: Sequence[str] = (),
    adjustment: str = "holm",
    proactive_campaign: str = "",
) -> EvidenceTable:
    """Test claims 1-6 on `data` (see the module docstring); untestable claims get a 'cannot test' row.

    The verdicts of the tested rows are adjusted for multiplicity together (`adjustment`: "holm", the
    pre-declared rule, or "none" to see each row at 5% on its own; see `adjust`).

    `margin` is the equivalence margin for ratios (no effect = within 1/margin..margin). The survival test of
    claim 1 follows lifetimes up to the end of the last prediction window (`as_of` + `horizon_months`), on at
    most `max_survival_customers` customers with an answer (a stated sample, in `samples`). Linear algebra runs on
    one BLAS thread: the many small fits here slow down several-fold when BLAS threads compete for a busy
    machine (8.7 s instead of 3 s on the demo world with two notebooks running side by side).

    `leaking`: columns a `churn.screen_leakage` found recorded after the churn decision; claims resting on them
    say so (claims 1, 2, 3b/3c cannot be tested with them; claim 6 keeps them with a caveat).

    Parameters
    ----------
    data
        The validated data.
    as_of
        The last snapshot date; None or "" for the latest with a fully observed horizon.
    horizon_months
        Months after each snapshot churn is counted in.
    window_months
        Months of features before each snapshot.
    max_snapshots
        Most monthly snapshots to pool.
    n_boot
        Bootstrap draws of the AUC comparison.
    seed
        Seed of the samples and the bootstrap.
    trap_threshold_pct
        Share of churners (%) that makes the satisfaction trap sizeable.
    max_survival_customers
        Most customers in the Cox test of claim 1; None for all.
    margin, leaking
        Shared by the claim tests: see `cxresearch.loyalty.panels`.
    adjustment
        "holm" or "none".
    proactive_campaign
        The treatments table's campaign of proactive outreach (row 4a_rct); "" finds it by name.

    Returns
    -------
    EvidenceTable
        One row per claim, the samples the tests ran on and the panel design in words.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        panel, flat, problem = _claim_data(data, as_of, horizon_months, window_months, max_snapshots)
        last = default_as_of(data, horizon_months) if as_of in (None, "") else pd.Timestamp(as_of)
        survival, sample = claim_satisfaction_survival(data, last + pd.DateOffset(months=horizon_months), margin,
                                                       max_survival_customers, seed, leaking)
        rows = [
            *claim_satisfaction_loyalty(panel, flat, margin, leaking),
            *survival,
            claim_satisfaction_trap(panel, flat, trap_threshold_pct, leaking),
            *claim_drivers(panel, margin, leaking, None if data.has_timestamps else flat, problem),
            *claim_effort_predicts_better(panel, n_boot, seed, leaking=leaking,
                                          flat=flat if not data.has_timestamps else None),
            claim_promoters_refer(data, margin, leaking),
        ]
        randomised = claim_proactive_randomised(data, margin, proactive_campaign)
    order = ["1a", "1b", "1a_cox", "1b_cox", "2", "3a", "3b", "3c", "4a", randomised.id, "4b", "4c", "5", "6"]
    samples = ((SURVIVAL_ANALYSIS, sample),) if sample is not None else ()
    rows = adjust(sorted(rows + [randomised] * randomised.tested, key=lambda r: order.index(r.id)), adjustment)
    return EvidenceTable(tuple(rows), samples, _panel_design(panel, problem, max_snapshots), adjustment,
                         () if randomised.tested else (randomised,))


def _claim_data(data: CXData, as_of: str | pd.Timestamp | None, horizon_months: int, window_months: int,
                max_snapshots: int) -> tuple[pd.DataFrame, pd.DataFrame | None, str]:
    """The pooled panel (empty on flat data or a history too short for one), the one-row-per-customer table
    (None on dated data without surveys), and why there is no panel ('' when there is one)."""
    empty = pd.DataFrame(columns=["customer_id", "active", "churned"])
    if not data.has_timestamps:
        # One row per customer: no dated panel; the flat snapshot carries each customer's scores and churn flag.
        return empty, snapshot(data), ""
    flat = cross_section(data) if len(data.surveys) else None
    try:
        return stacked_snapshots(data, horizon_months, window_months, as_of, max_snapshots), flat, ""
    except ValueError as error:  # e.g. observation too short for one prediction window
        return empty, flat, str(error)


def _panel_design(panel: pd.DataFrame, problem: str, requested: int) -> str:
    """How many monthly snapshots the churn claims pooled (of `requested`), and over which months, in words."""
    if not len(panel):
        return (f"no monthly snapshot: {problem}" if problem
                else "no monthly snapshots: flat data has one row per customer, without dates")
    dates = pd.to_datetime(panel["as_of"].unique())
    fewer = f" (the history holds no more than these, of the {requested} requested)" if len(dates) < requested else ""
    return (f"{len(dates)} monthly snapshot{'s' if len(dates) > 1 else ''} from {dates.min().date()} to "
            f"{dates.max().date()}{fewer}: {len(panel):,} customer-months, {int(panel['churned'].sum()):,} churns")
