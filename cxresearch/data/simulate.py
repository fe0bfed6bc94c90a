"""Demo-world simulator: monthly customer journeys whose churn hazard is known, exported as `truth.json`.

Time runs in calendar months t = 0 .. months-1; month t is [start + t months, start + t+1 months) and
`observed_until` = start + months. Everything is vectorised over customers; only months are looped over.

Customers. Customer i signs up on a random day of month e_i. A share PRESENT_SHARE was already a customer at
`start` (e_i in -36..-1, recent signups more likely, as survivors of older cohorts are fewer); only customers
still active at `start` exist (left truncation, `observed_from` = start). The others join uniformly during the
window. Attributes: plan (margin per month by plan x lognormal noise), contract, acquisition channel (cost by
channel x lognormal noise), region, a stable experience quality q_i ~ N(0, 1) and a stable effort propensity
f_i ~ N(0, CES_TRAIT^2) (e.g. a complex setup), independent of q_i. A customer is at risk, and
has events, from the first full month after signup (tenure k = t - e_i >= 1 at the start of month t).

Trailing window. For month t, over months t-3..t-1 (events before `start` do not exist, so count as 0):
    R = reactive contacts, U = unresolved reactive contacts, P = proactive contacts,
    I = contacts with reason `channel_inconsistency` (all reactive),
    C = mean experienced CES of the R contacts.

Mood (latent, SD units):
    z_it = rho z_i,t-1 + sqrt(1 - rho^2) e_it,  e_it ~ N(0, 1)     (AR(1), independent of everything else)
    mood_it = z_it + d_U U + d_P P + d_I I                              (d_U, d_I < 0 < d_P)
The contact-driven part of mood has the same 3-month memory as the window, so one more count shifts the log
hazard by the same amount whatever the customer's history; z is independent of the drivers. That is what makes
the driver effects identifiable from the observed tables.

Reactive contacts in month t: N_it ~ Poisson(lambda0 exp(-g_q q_i)) (more when the experience is poor).
Each has a channel, a reason (REACTIVE_REASON_SHARE; 4% are `channel_inconsistency`), a phone transfer
flag T, and
    resolved ~ Bernoulli(expit(a0 + a_q q_i + a_channel - a_T T - a_I [inconsistency]))
    CES = clip(round(c0 + c_U (1 - resolved) + c_channel + c_T T - c_q q_i + f_i + N(0, s_c^2)), 1, 7)
(the experienced effort; 1 = very low, 7 = very high)
    CSAT = clip(round(s0 - s_U (1 - resolved) - s_ces (CES - 4) + s_q q_i + N(0, s_s^2)), 1, 5)
A post-contact survey is answered with probability CES_RESPONSE = 0.6 (missing completely at random); a
response records both CES and CSAT, linked by `contact_id`.

Proactive outreach in month t (company-initiated, `resolved_first_contact` null): a follow-up per unresolved
contact of month t-1 with probability FOLLOW_UP_PROB; status updates ~ Poisson(STATUS_UPDATE_RATE) for
everyone; a renewal reminder with probability RENEWAL_PROB in the last month of each contract term.

Relationship NPS: invitation every NPS_INTERVAL_MONTHS of tenure; likelihood to recommend
    LTR_it = n0 + n_q q_i + n_mood mood_it + N(0, s_n^2),  score = clip(round(LTR), 0, 10),
answered with probability expit(r0 + r_mood mood_it): unhappy customers answer less (not at random).
Referrals: n_referrals ~ Poisson(years active x f0 exp(f_ltr (n0 + n_q q_i - 7))).

Churn in month t, for customer i active at its start (discrete-time hazard, complementary log-log link):
    eta_it = b0 + tenure_band(k) + contract + plan
             + b'_R R + b'_U U + b'_P P + b'_I I + b_C (C - 4) 1[R > 0] + b_mood mood_it
    h_it = 1 - exp(-exp(eta_it))
end_date is a random day of the churn month; events after it are dropped. Substituting mood, the total log
hazard ratio of one more count X is b_X = b'_X + b_mood d_X: `truth["coefficients"]` holds these totals
(what a person-month cloglog GLM or a Cox model on the observed counts estimates), with the split into direct
and via-mood parts. Values: INTERCEPT (b0), TENURE_BANDS, CONTRACT_LOG_HR, PLAN_LOG_HR, DRIVER_LOG_HR (b_X),
CES_LOG_HR (b_C), MOOD_LOG_HR (b_mood), MOOD_SHIFT (d_X), MOOD_RHO (rho) below; the other symbols are the
similarly named constants (REACTIVE_*, FCR_*, CES_*, CSAT_*, NPS_*, REFERRAL_*).

Churn reasons (`cxresearch.data.simulate_reasons`): each leaver's `end_reason` is drawn from cause-specific
hazards h_k = h pi_k(x) with multinomial-logit shares, from a random stream of its own, so a world with reasons
has the same tables as the same world without them; `truth["churn_reasons"]` holds their log relative hazards.

Randomised campaigns (`cxresearch.data.simulate_campaigns`, `campaigns=True`): a proactive follow-up programme
and a retention offer, each with a randomised holdout, written to the `treatments` table; a treated customer's
log hazard gains a heterogeneous effect tau_i of observed traits while the effect lasts. Assignments come from a
random stream of their own; `truth["campaigns"]` holds the effects.

Large worlds (`write_simulation`): more customers than `CHUNK_CUSTOMERS` are simulated and written a chunk of
customers at a time (`cxresearch.data.simulate_chunks` says what that changes), so memory stays bounded.

Modules: `simulate_parameters` (the constants above), `simulate_months` (customers and the monthly steps),
`simulate_reasons`, `simulate_campaigns`, `simulate_tables` (canonical tables), `simulate_truth` (`truth.json`), `simulate_arrays`
(random days, ids and labels), `simulate_chunks` (chunks of customers, table writers).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from cxresearch.data.schema import CXData
from cxresearch.data.simulate_arrays import id_text
from cxresearch.data.simulate_campaigns import campaign_truth, merge_campaign_truths
from cxresearch.data.simulate_chunks import (
    CHUNK_CUSTOMERS,
    CHUNK_STREAM,
    ChunkIds,
    TableAppender,
    chunk_edges,
    simulate_part,
    write_parquet,
)
from cxresearch.data.simulate_months import draw_population, month_bounds
from cxresearch.data.simulate_parameters import effect_sizes
from cxresearch.data.simulate_reasons import reasons_truth
from cxresearch.data.simulate_tables import customer_id_width
from cxresearch.data.simulate_truth import churn_truth


@dataclass
class SimulatedWorld:
    """A simulated canonical dataset with its known truth; events are observed up to `observed_until`."""

    customers: pd.DataFrame
    contacts: pd.DataFrame
    surveys: pd.DataFrame
    truth: dict
    observed_until: pd.Timestamp
    observed_from: pd.Timestamp | None = None  # start of observation; earlier signups are left-truncated
    settings: dict = field(default_factory=dict)
    treatments: pd.DataFrame | None = None  # campaign assignments (worlds simulated with campaigns)

    def to_cxdata(self) -> CXData:
        """The world as a canonical `CXData` (metadata carries `observed_from` for left truncation)."""
        metadata = dict(self.settings)
        if self.observed_from is not None:
            metadata["observed_from"] = self.observed_from.isoformat()
        return CXData(self.customers, self.contacts, self.surveys, observed_until=self.observed_until,
                      name="demo", metadata=metadata, treatments=self.treatments)


def simulate(
    n_customers: int = 20_000,
    months: int = 36,
    seed: int = 0,
    start: str = "2023-01-01",
    effects: dict[str, float] | None = None,
    reasons: bool = True,
    campaigns: bool = False,
) -> SimulatedWorld:
    """Simulate `n_customers` over `months` calendar months from `start`; deterministic given `seed`.

    Parameters
    ----------
    n_customers
        Customers in the world (those present at `start` and those joining during the window).
    months
        Calendar months observed; `observed_until` is `start` + `months`.
    seed
        Random seed: the same seed gives the same world, value for value.
    start
        First day of observation (`observed_from`; earlier signups are left-truncated).
    effects
        Overrides of the total log hazard ratios of the CX drivers (keys: reactive, unresolved, proactive,
        inconsistency, ces), e.g. `{"proactive": 0.0}` for a world where proactive outreach does not help;
        `truth.json` reports the values used.
    reasons
        Draw each leaver's `end_reason` and `end_reason_detail` (and `truth["churn_reasons"]`); False gives
        the same world without those columns.
    campaigns
        Run two randomised campaigns (a proactive follow-up programme and a retention offer) with holdouts:
        the `treatments` table and `truth["campaigns"]`; False (the default) gives, value for value, the world
        without them. Needs at least 8 months.

    Returns
    -------
    SimulatedWorld
        The customers, contacts and surveys tables (and treatments, with campaigns) with their truth.
    """
    return _simulate(n_customers, months, seed, start, effects=effects, reasons=reasons, campaigns=campaigns)[0]


def write_world(world: SimulatedWorld, out_dir: str | Path, fmt: str = "parquet", notes: Sequence[str] = ()) -> Path:
    """Write the three tables (and treatments, when simulated) as parquet or csv, truth.json and dataset.json to `out_dir`; return `out_dir`.

    Parquet is written straight from the tables' Arrow buffers, zstd level 1: at 300k customers 42 MB in the
    CPU time snappy needed for 79 MB, read as fast (measured for issue 9).

    Parameters
    ----------
    world
        The simulated world.
    out_dir
        Directory to write to (created if missing).
    fmt
        "parquet" or "csv".
    notes
        Sentences about the world for `dataset.json`'s `notes` (the data audit and `cxresearch validate` show them).

    Returns
    -------
    pathlib.Path
        `out_dir`.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = ("customers", "contacts", "surveys") + (("treatments",) if world.treatments is not None else ())
    if fmt == "parquet":
        # Arrow's writer releases the GIL: contacts on one core, customers and surveys on the other.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda name: write_parquet(getattr(world, name), out / f"{name}.parquet"), names))
    else:
        for name in names:
            getattr(world, name).to_csv(out / f"{name}.csv", index=False)
    _write_metadata(out, world.truth, world.observed_until, world.observed_from, world.settings, notes)
    return out


def write_simulation(out_dir: str | Path, *, fmt: str = "parquet", chunk_customers: int = CHUNK_CUSTOMERS,
                     notes: Sequence[str] = (), **options: object) -> dict[str, int]:
    """Simulate a world and write it as `write_world` does, a chunk of `chunk_customers` customers at a time.

    Up to `chunk_customers` customers this is `write_world(simulate(**options), out_dir, fmt)`, file for file.
    Larger worlds are simulated chunk by chunk (`cxresearch.data.simulate_chunks`: same process and truth,
    other draws) and each table is appended to its one file, so the peak memory is about one chunk's.

    Parameters
    ----------
    out_dir
        Directory to write to (created if missing).
    fmt
        "parquet" or "csv".
    chunk_customers
        Most customers simulated at once.
    notes
        Sentences about the world for `dataset.json`'s `notes`.
    **options
        `simulate`'s arguments (n_customers, months, seed, start, effects, reasons, campaigns).

    Returns
    -------
    dict[str, int]
        Rows written per table.
    """
    bound = inspect.signature(simulate).bind(**options)
    bound.apply_defaults()
    settings = dict(bound.arguments)
    if settings["n_customers"] <= chunk_customers:
        world = simulate(**settings)
        write_world(world, out_dir, fmt, notes)
        names = ("customers", "contacts", "surveys") + (("treatments",) if world.treatments is not None else ())
        return {name: len(getattr(world, name)) for name in names}
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return _write_chunks(out, fmt, chunk_customers, notes, **settings)


def _write_chunks(out: Path, fmt: str, chunk: int, notes: Sequence[str], n_customers: int, months: int, seed: int,
                  start: str, effects: dict[str, float] | None, reasons: bool, campaigns: bool) -> dict[str, int]:
    """Simulate and append the world chunk by chunk (see `write_simulation`); rows written per table."""
    effect_sizes(effects)  # unknown effects are refused before anything is drawn
    start_ts = pd.Timestamp(start)
    bounds = month_bounds(start_ts, months)
    edges = chunk_edges(n_customers, chunk)
    # Contact ids are numbered before the total is known: customer-months bound it (~0.45 contacts each).
    ids = ChunkIds(0, 0, customer_id_width(n_customers), 0, max(8, len(str(n_customers * months))))
    rows: dict[str, int] = {}
    tallies, campaign_parts, allocation = [], [], None
    with TableAppender(out, fmt) as appender:
        for k, (lo, hi) in enumerate(pairwise(edges)):
            ids.number, ids.first, ids.first_contact = k, lo, rows.get("contacts", 0)
            rng = np.random.default_rng([seed, CHUNK_STREAM, k])
            pop = draw_population(rng, hi - lo, months, bounds)
            part = simulate_part(rng, pop, bounds, seed, effects, reasons, campaigns, ids)
            for name in ("customers", "contacts", "surveys", "treatments"):
                if getattr(part, name) is not None:
                    appender.write(name, getattr(part, name))
                    rows[name] = rows.get(name, 0) + len(getattr(part, name))
            if part.ending is not None:
                tallies.append(part.ending.tally())
            if part.runner is not None:
                allocation = part.runner.allocation()
                campaign_parts.append((campaign_truth(part.runner.assignments, ids.width, lo),
                                       {a.design.name: a.n_at_risk for a in part.runner.assignments}))
            del part
    settings = {"seed": seed, "n_customers": n_customers, "months": months, "start": start_ts.date().isoformat(),
                "chunks": {"count": len(edges) - 1, "customers": chunk,
                           "streams": "chunk k's customers and their draws from (seed, chunks, k)"}}
    truth = churn_truth(settings, effects)
    if tallies:
        truth["churn_reasons"] = reasons_truth(tallies)
    if campaign_parts:
        settings["campaign_allocation"] = allocation
        truth["campaigns"] = merge_campaign_truths(campaign_parts)
    _write_metadata(out, truth, pd.Timestamp(bounds[-1]), start_ts, settings, notes)
    return rows


def _write_metadata(out: Path, truth: dict, observed_until: pd.Timestamp, observed_from: pd.Timestamp | None,
                    settings: dict, notes: Sequence[str] = ()) -> None:
    """truth.json and dataset.json (name, observation dates, settings and any notes) in `out`."""
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    dataset = {"name": "demo", "observed_until": observed_until.date().isoformat()}
    if observed_from is not None:
        dataset["observed_from"] = observed_from.date().isoformat()
    dataset.update(settings)
    if notes:
        dataset["notes"] = list(notes)
    (out / "dataset.json").write_text(json.dumps(dataset, indent=2) + "\n")


def _simulate(
    n_customers: int, months: int, seed: int, start: str, keep_latent: bool = False,
    effects: dict[str, float] | None = None, reasons: bool = True, campaigns: bool = False,
) -> tuple[SimulatedWorld, dict[str, pd.DataFrame]]:
    """The world, plus (if `keep_latent`) latent per-customer traits, NPS invitations and churners' reasons."""
    if n_customers < 1 or months < 1:
        raise ValueError("n_customers and months must be positive")
    effect_sizes(effects)  # unknown effects are refused before anything is drawn
    rng = np.random.default_rng(seed)
    start_ts = pd.Timestamp(start)
    bounds = month_bounds(start_ts, months)
    pop = draw_population(rng, n_customers, months, bounds)
    part = simulate_part(rng, pop, bounds, seed, effects, reasons, campaigns)
    customers, ending, nps = part.customers, part.ending, part.nps
    settings = {"seed": seed, "n_customers": n_customers, "months": months, "start": start_ts.date().isoformat()}
    truth = churn_truth(settings, effects)
    if ending is not None:
        truth["churn_reasons"] = reasons_truth([ending.tally()])
    if part.runner is not None:
        settings["campaign_allocation"] = part.runner.allocation()
        truth["campaigns"] = campaign_truth(part.runner.assignments, customer_id_width(n_customers))
    world = SimulatedWorld(customers=customers, contacts=part.contacts, surveys=part.surveys, truth=truth,
                           observed_until=pd.Timestamp(bounds[-1]), observed_from=start_ts, settings=settings,
                           treatments=part.treatments)
    latent: dict[str, pd.DataFrame] = {}
    if keep_latent:
        latent["customers"] = pd.DataFrame({"customer_id": customers["customer_id"], "quality": pop.quality,
                                            "churned": ~part.alive})
        latent["nps_invitations"] = pd.DataFrame({
            "customer_id": id_text("C", nps["cust"], customer_id_width(n_customers)), "month": nps["month"],
            "mood": nps["mood"], "answered": nps["answered"], "score": nps["score"],
        })
        if ending is not None:
            latent["churners"] = ending.latent(customers["customer_id"])
    return world, latent
