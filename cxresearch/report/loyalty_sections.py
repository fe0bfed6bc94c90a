"""Notebook 04's sections: each runs its analyses on what the data has, shows them, and records in the results
file what it had to leave out, with the reason and the missing input (`Results.skip`).

The notebook calls one function per section, so the decisions "the data has X, else skip with a reason" live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cxresearch.churn.leakage import LeakageScreen, screen_leakage
from cxresearch.churn.windows import Windows, fit_lookback, fit_windows
from cxresearch.data.sample import sample_data
from cxresearch.data.schema import CXData
from cxresearch.features.cache import SharedTables
from cxresearch.features.snapshot import snapshot
from cxresearch.loyalty.breakdowns import (
    churn_by_level,
    metric_by_channel,
    monthly_trend,
    nps_by_segment,
    nps_gap_churned,
)
from cxresearch.loyalty.claims import evaluate_claims
from cxresearch.loyalty.evidence import EvidenceTable
from cxresearch.loyalty.metrics import NPSComparison, ces, csat, nps
from cxresearch.loyalty.nonresponse import (
    ResponderChurn,
    WeightedNPS,
    WeightedScores,
    ipw_nps,
    ipw_transactional,
    nps_population,
    responder_churn,
    transactional_response,
)
from cxresearch.loyalty.responses import SurveyWindow, survey_window, surveys_linked
from cxresearch.plots.loyalty import (
    plot_churn_by_level,
    plot_metric_by,
    plot_metric_trend,
    plot_nonresponse_correction,
    plot_nps_composition,
    plot_score_nonresponse,
)
from cxresearch.report.nbtools import has_values, say, show, table
from cxresearch.report.results import Results

INSTRUMENTS = ("nps", "csat", "ces")
#: The missing input when an instrument has no answers, in the vocabulary of `Results.skip(needs=...)`.
NEEDS = {"nps": "NPS scores", "csat": "CSAT scores", "ces": "effort scores (CES)"}
#: Trend titles per instrument.
TITLES = {"nps": "NPS by month", "csat": "CSAT: % satisfied (4-5) by month",
          "ces": "CES: % high effort (5-7) by month"}


@dataclass
class LoyaltyInputs:
    """What every section of notebook 04 starts from: the fitted windows, the snapshot at the cutoff (None when
    the history is too short for a prediction window), the survey answers summarised and the leakage screen."""

    data: CXData
    windows: Windows | None
    snap: pd.DataFrame | None
    cutoff: pd.Timestamp
    lookback_months: int
    lookback_note: str
    answers: SurveyWindow
    screen: LeakageScreen | None

    @property
    def horizon_months(self) -> float | None:
        """The prediction horizon fitted to the data (months), None without a snapshot."""
        return self.windows.horizon_months if self.windows is not None else None

    def scores(self, name: str) -> pd.Series:
        """The answers of instrument `name` in the lookback (or the one score per customer on flat data)."""
        recent = self.answers.recent
        return recent.loc[recent["instrument"] == name, "score"]

    @property
    def leaking(self) -> Sequence[str]:
        """Columns the leakage screen found recorded after the churn decision."""
        return self.screen.columns if self.screen is not None else ()


def prepare(data: CXData, results: Results, as_of: str, horizon_months: int, lookback_months: int,
            cache: SharedTables | None = None) -> LoyaltyInputs:
    """Fit the windows to the data, take the snapshot at `as_of` and the answers of the lookback before it.

    Parameters
    ----------
    data
        The validated data.
    results
        The notebook's results file; a history too short for a prediction window is recorded as a skip.
    as_of
        Snapshot date ('' for the latest with a fully observed horizon).
    horizon_months, lookback_months
        The requested prediction horizon and survey lookback (months), shortened to fit the data.
    cache
        A suite run's shared tables (`NotebookContext.cache`), where the snapshot may already be; None outside one.

    Returns
    -------
    LoyaltyInputs
        What the sections start from.
    """
    try:
        windows = fit_windows(data, 3, horizon_months)
        snap = snapshot(data, as_of=as_of, window_months=windows.window_months, horizon_months=windows.horizon_months,
                        cache=cache)
        cutoff = pd.Timestamp(snap.attrs["as_of"])
    except ValueError as error:  # observation too short for a prediction window: churn sections are skipped
        windows, snap, cutoff = None, None, data.observed_until + pd.Timedelta(days=1)
        results.skip("churn by score and non-response", str(error), needs="more history")
    lookback_months, lookback_note = fit_lookback(data, cutoff, lookback_months)
    answers = survey_window(data.surveys, snap, cutoff, lookback_months, data.has_timestamps)
    screen = screen_leakage(snap) if snap is not None else None
    return LoyaltyInputs(data, windows, snap, cutoff, lookback_months, lookback_note, answers, screen)


def windows_section(inputs: LoyaltyInputs, results: Results, horizon_months: int) -> None:
    """Say which windows were shortened and which score leaks the churn outcome; record both."""
    screen, windows = inputs.screen, inputs.windows
    leak = screen.finding() if screen is not None else None
    notes = [n for n in (windows.note if windows else "", inputs.lookback_note, leak) if n]
    for sentence in notes or ["The requested windows fit the data, and no score leaks the churn outcome."]:
        say("{}", sentence)
    horizon = inputs.horizon_months if windows is not None else horizon_months
    results.extra.update(windows={"horizon_months": horizon, "lookback_months": inputs.lookback_months,
                                  "note": " ".join(n for n in notes if not screen or n != leak)},
                         leaking_columns=screen.to_records() if screen is not None else [])


def headline_section(inputs: LoyaltyInputs, results: Results) -> dict:
    """NPS, CSAT and CES over the answers summarised, shown as tables; an instrument without answers is skipped.
    """
    period = inputs.answers.period
    metrics = {name: fn(inputs.scores(name)) for name, fn in zip(INSTRUMENTS, (nps, csat, ces), strict=True)
               if len(inputs.scores(name))}
    for name, result in metrics.items():
        say("**{}** ({} responses, {}):", name.upper(), f"{result.n:,}", period)
        table(result.summary(), 1)
    for name in INSTRUMENTS:
        if name not in metrics:
            say("No {} responses, {}: not reported.", name.upper(), period)
            results.skip(f"{name.upper()} metric", f"no {name.upper()} responses, {period}", needs=NEEDS[name])
    return metrics


def trends_section(inputs: LoyaltyInputs, metrics: dict, results: Results, min_responses: int = 30
                   ) -> dict[str, pd.DataFrame]:
    """Each instrument's monthly trend, drawn when at least two months have `min_responses` answers, else skipped.
    """
    trends = {name: monthly_trend(inputs.answers.surveys, name, min_responses) for name in INSTRUMENTS}
    for name, trend in trends.items():
        if len(trend) >= 2:
            show(plot_metric_trend(trend, TITLES[name]))
        elif name in metrics and not inputs.answers.dated:
            results.skip(f"{name.upper()} trend", "flat data: the scores carry no dates", needs="event dates")
        else:
            say("{}: fewer than two months with {} or more responses, so no trend.", name.upper(), min_responses)
            results.skip(f"{name.upper()} trend", f"fewer than two months with at least {min_responses} "
                         f"{name.upper()} responses", needs=NEEDS[name] if name not in metrics else "more customers")
    return trends


def segment_section(inputs: LoyaltyInputs, metrics: dict, results: Results, segment: str,
                    min_responses: int = 30) -> None:
    """NPS composition by customer `segment`, or a skip when there are no NPS answers or no such column."""
    if "nps" in metrics and segment in inputs.data.customers:
        by_segment = nps_by_segment(inputs.answers.recent, inputs.data.customers, segment, min_responses)
        show(plot_nps_composition(by_segment, title=f"NPS by {segment}"))
        return
    say("No NPS responses or no `{}` column: NPS by segment is not shown.", segment)
    results.skip("NPS by segment", f"no NPS responses or no {segment!r} column",
                 needs="NPS scores" if "nps" not in metrics else "segments")


def channel_section(inputs: LoyaltyInputs, results: Results, min_responses: int = 30) -> bool:
    """CSAT and CES by the channel of the contact each answer followed, or a skip when no answer links to one.
    """
    contacts = inputs.data.contacts
    linked = surveys_linked(inputs.answers.recent, contacts)
    by_channel = ({name: metric_by_channel(inputs.answers.recent, contacts, name, min_responses)
                   for name in ("csat", "ces")} if linked else {})
    for name, frame in by_channel.items():
        if len(frame):
            show(plot_metric_by(frame, f"{TITLES[name].split(' by ')[0]} by contact channel"))
            results.add_table(f"{name}_by_channel", frame)
    if not linked:
        say("No survey answer is linked (by `contact_id`) to a recorded contact: CSAT and CES by channel are not "
            "shown.")
        results.skip("CSAT and CES by channel", "no survey answer is linked (by contact_id) to a recorded contact",
                     needs="contact records")
    return linked


@dataclass
class ChurnByScore:
    """Churn by latest NPS group and by latest CES (None where the data has no such score), and the NPS gap
    between customers who churned and those who stayed."""

    by_nps: pd.DataFrame | None
    by_ces: pd.DataFrame | None
    gap: NPSComparison | None


def churn_by_score_section(inputs: LoyaltyInputs, results: Results) -> ChurnByScore:
    """Churn in the horizon by latest NPS group and CES, drawn; skipped when the data has neither score."""
    snap, horizon = inputs.snap, inputs.horizon_months
    by_nps = churn_by_level(snap, "nps_last") if has_values(snap, "nps_last") else None
    by_ces = churn_by_level(snap, "ces_last") if has_values(snap, "ces_last") else None
    if by_nps is None and by_ces is None:
        say("The data has no NPS or CES scores per customer: churn by score level is skipped.")
        results.skip("churn by score level", "no NPS or CES scores per customer in this data", needs="survey scores")
    if by_nps is not None:
        show(plot_churn_by_level(by_nps, window_months=horizon, title="Churn by latest NPS group"))
    if by_ces is not None:
        show(plot_churn_by_level(by_ces, window_months=horizon,
                                 title="Churn by latest effort score (CES, 7 = highest effort)"))
    gap = nps_gap_churned(snap)
    if gap is not None:
        say("Latest NPS of customers who went on to churn minus those who stayed: **{}** points (95% CI {} to {}).",
            f"{gap.difference:.1f}", f"{gap.ci_low:.1f}", f"{gap.ci_high:.1f}")
    return ChurnByScore(by_nps, by_ces, gap)


@dataclass
class NPSNonresponse:
    """NPS corrected for non-response and the churn of non-responders vs responders (None when not estimable)."""

    weighted: WeightedNPS | None
    churn_gap: ResponderChurn | None


def nps_nonresponse_section(inputs: LoyaltyInputs, metrics: dict, results: Results, linked: bool,
                            min_tenure_months: float = 6) -> NPSNonresponse:
    """Transactional response rates (when answers link to contacts), and NPS non-response: responders' churn vs
    non-responders' and the IPW-corrected NPS; skipped without both responders and non-responders.
    """
    if linked:
        response = transactional_response(inputs.data)
        table(response, 1)
        results.add_table("transactional_response_by_channel", response)
    dated = inputs.answers.dated and inputs.snap is not None  # flat data records neither who was asked nor when
    population = (nps_population(inputs.snap, inputs.answers.surveys, inputs.lookback_months, min_tenure_months)
                  if dated else None)
    if population is not None and population["responded"].any() and not population["responded"].all():
        churn_gap, weighted = responder_churn(population), ipw_nps(population)
        table(churn_gap.summary(), 2)
        show(plot_nonresponse_correction(weighted))
        table(weighted.summary(), 1)
        return NPSNonresponse(weighted, churn_gap)
    say("No NPS responders and non-responders to compare: the non-response analysis is skipped.")
    results.skip("NPS non-response", "no NPS responses (or no non-responders) among customers active at as_of"
                 if inputs.answers.dated else "flat data: who was asked, and when, is not recorded",
                 needs="NPS scores" if inputs.answers.dated or "nps" not in metrics else "event dates")
    return NPSNonresponse(None, None)


def score_nonresponse_section(inputs: LoyaltyInputs, metrics: dict, results: Results) -> dict[str, WeightedScores]:
    """CSAT and CES corrected for non-response among customers with a service contact; an instrument without
    both responders and non-responders is skipped.
    """
    dated = inputs.answers.dated and inputs.snap is not None
    weighted = (ipw_transactional(inputs.snap, inputs.answers.surveys, inputs.data.contacts, inputs.lookback_months)
                if dated else {})
    if weighted:
        show(plot_score_nonresponse(weighted)[0])
        for name, result in weighted.items():
            say("**{}**: {}% of the {} customers asked answered.", name.upper(), f"{result.response_rate_pct:.0f}",
                f"{result.n_population:,}")
            table(result.summary(), 2)
    for name in sorted({"csat", "ces"} - set(weighted)):
        say("No {} responders and non-responders among customers with a service contact: not corrected.",
            name.upper())
        results.skip(f"{name.upper()} non-response", f"no {name.upper()} responders (or no non-responders) among "
                     "customers with a service contact", needs=NEEDS[name] if name not in metrics else "contact records")
    return weighted


def claims_section(inputs: LoyaltyInputs, results: Results, as_of: str, max_customers: int | None, seed: int = 0,
                   **options: object) -> EvidenceTable:
    """Test the CX claims (`loyalty.claims.evaluate_claims`) on a sample of at most `max_customers`, show the table
    and what could not be tested, and record the sample, the untestable claims and the panel's design.

    Parameters
    ----------
    inputs
        From `prepare`.
    results
        The notebook's results file.
    as_of
        Last snapshot date of the pooled panel ('' for the default).
    max_customers
        Customers (with all their events) the tests run on; None for all.
    seed
        Seed of the sample and the bootstrap.
    **options
        Passed to `evaluate_claims` (max_snapshots, n_boot, margin, trap_threshold_pct, max_survival_customers,
        proactive_campaign).

    Returns
    -------
    EvidenceTable
        The claims, tested.
    """
    claim_data = sample_data(inputs.data, max_customers, seed)
    results.approximate("claim tests (pooled monthly snapshots)", claim_data.sample)
    evidence = evaluate_claims(claim_data.data, as_of=as_of, seed=seed, leaking=inputs.leaking, **options)
    say("**Data for the churn claims:** {}.", evidence.design)
    say("{}", evidence.rule_statement())
    table(evidence.summary().drop(columns=["rule", "needs", "adjustment"]).set_index("id"), 3)
    for row in evidence.untestable():
        say("*Claim {} cannot be tested on this data:* {}.", row.id, row.note)
    for row in evidence.absent:
        say("*No randomised test of claim {} (row {}):* {}.", row.id.split("_")[0], row.id, row.note)
    results.extra["untestable_claims"] = evidence.untestable_summary()
    results.extra["claims_design"] = evidence.design
    return evidence
