"""Which lifetime model to trust: an out-of-time comparison of Cox, AFT, person-month and boosted models.

Event data: the models learn from the history before a cut month and are judged on what happened after it. The
customer-level models (Cox with the CX drivers, the best AFT family by AIC) are fitted on the customers active at
a landmark before the cut, with drivers as they stood then, followed until the cut; the person-month models (the
cloglog grouped-time model and gradient boosting) on every customer-month before the cut. They are then scored on
the customers active at the cut, with drivers as they stood then, followed from it: each enters at their tenure
at the cut (left truncation), so the metrics of `survival.scoring` use risk sets from entry. Time is tenure in
whole months (the person-month grid), so "horizon 12" reads "still a customer 12 months after sign-up", judged on
the customers observed before then. The Kaplan-Meier curve of the training lifetimes, the same for everyone, is the
reference: a model that cannot beat it adds nothing to knowing the average churn curve.

Flat data (one row per customer, no event dates) has no history to cut: the customer-level models are fitted on a
random half and scored on the other half (out of sample, not out of time), on the left-truncated lifetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxresearch.data.schema import CXData
from cxresearch.errors import NotEstimableError
from cxresearch.features.snapshot import flat_snapshot, lifetimes
from cxresearch.survival.calibration import CalibrationResult, calibration_at
from cxresearch.survival.lifetime_models import (
    DURATION,
    ENTRY,
    EVENT,
    aft_model,
    boosting_model,
    cloglog_model,
    cox_model,
    kaplan_meier_model,
)
from cxresearch.survival.person_months import (
    CES_DRIVER,
    COUNT_DRIVERS,
    PersonMonths,
    can_build_person_months,
    person_months,
)
from cxresearch.survival.scoring import ModelPredictions, ModelScores, score_models

KM, COX, AFT, CLOGLOG, BOOSTING = "Kaplan-Meier", "Cox", "AFT", "person-month cloglog", "gradient boosting"

#: Flat-data covariates known before the churn period (CX scores recorded with the churn flag would leak it).
FLAT_COVARIATES: tuple[str, ...] = ("monthly_margin", "n_referrals")


@dataclass
class LifetimeModelComparison:
    """Metrics of each lifetime model on held-out customers, the calibration of the best one, and what was skipped."""

    scores: ModelScores
    calibration: CalibrationResult
    design: str  # how the models were fitted and judged, in words
    skipped: dict[str, str] = field(default_factory=dict)  # model -> why it is not in the comparison
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """The `lifetime_model_comparison` table: model, metric, horizon, estimate, ci_low, ci_high."""
        return self.scores.summary()

    def _best(self, metric: str, highest: bool) -> tuple[str, pd.Series]:
        """The model (reference excluded) with the best value of a global metric, and its row."""
        rows = self.scores.table[(self.scores.table["metric"] == metric) & (self.scores.table["model"] != KM)]
        row = rows.loc[rows["estimate"].idxmax() if highest else rows["estimate"].idxmin()]
        return str(row["model"]), row

    @property
    def best_for(self) -> str:
        """Which model to trust for ranking customers and which for survival probabilities, in one sentence."""
        ranker, uno = self._best("uno_c", highest=True)
        predictor, ibs = self._best("ibs", highest=False)
        skill = self.scores.value(predictor, "ibs_skill")
        beats = ("beats knowing only the average churn curve" if skill["ci_low"] > 0 else
                 "is not clearly better than the average churn curve (Kaplan-Meier)")
        return (f"To rank customers by risk, trust the {ranker} model (Uno's C {uno['estimate']:.3f}, "
                f"{uno['ci_low']:.3f}-{uno['ci_high']:.3f}); to predict the chance a customer is still active, "
                f"the {predictor} model (integrated Brier score {ibs['estimate']:.3f}, skill "
                f"{skill['estimate']:.0%} over Kaplan-Meier, {skill['ci_low']:.0%}-{skill['ci_high']:.0%}), which "
                f"{beats}.")

    def _repr_html_(self) -> str:
        """The comparison table, what was skipped and the verdict."""
        skipped = "".join(f"<li>{m}: {why}</li>" for m, why in self.skipped.items())
        return (f"<p>{self.design}</p>{self.scores._repr_html_()}"
                + (f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else "") + f"<p>{self.best_for}</p>")


def _customer_rows(pm: pd.DataFrame, month: int, until: int | None) -> pd.DataFrame:
    """Customers at risk in calendar `month`: drivers then, entry = tenure before it, outcome up to `until`."""
    at = pm[pm["month"] == month].set_index("customer_id")
    later = pm[(pm["month"] >= month) & ((pm["month"] < until) if until is not None else True)]
    last = later.groupby("customer_id").tail(1).set_index("customer_id")
    out = at.drop(columns=["event"]).assign(**{
        ENTRY: at["start"], DURATION: last.loc[at.index, "stop"], EVENT: last.loc[at.index, "event"].astype(float),
    })
    return out.reset_index()


def _cut_month(months: PersonMonths, cut: str | pd.Timestamp | None, horizon: int) -> int:
    """Calendar month index of the cut: given, or the last month leaving `horizon` + 1 months of follow-up."""
    if cut is None:
        return int(months.table["month"].max()) - horizon
    origin = months.origin
    cut = pd.Timestamp(cut)
    return (cut.year - origin.year) * 12 + cut.month - origin.month


def _event_data_models(
    data: CXData, cut: str | pd.Timestamp | None, grid: np.ndarray, max_customers: int | None, seed: int
) -> tuple[pd.DataFrame, dict[str, ModelPredictions], list[str], str]:
    """Test lifetimes and every model's predictions for them, the models' notes and the design in words."""
    ids = data.customers["customer_id"]
    if max_customers and len(ids) > max_customers:
        ids = ids.sample(max_customers, random_state=seed)
    months = person_months(data, customer_ids=ids if len(ids) < len(data.customers) else None)
    pm = months.table
    horizon = int(grid.max())
    cut_month = _cut_month(months, cut, horizon)
    landmark = max(int(pm["month"].min()), cut_month - horizon - 1)
    if cut_month <= landmark:
        raise NotEstimableError("no history before the cut to fit the models on", needs="more history")
    train = _customer_rows(pm, landmark, cut_month)
    test = _customer_rows(pm, cut_month, None)
    train_pm = pm[pm["month"] < cut_month]
    categorical = [c for c in ("contract", "plan") if c in pm]
    numeric = [*COUNT_DRIVERS, CES_DRIVER]
    cox, notes = cox_model(train, test, numeric, categorical, grid)
    aft, family = aft_model(train, test, numeric, categorical, grid)
    predictions = {
        KM: kaplan_meier_model(train, len(test), grid), COX: cox, f"{AFT} ({family})": aft,
        CLOGLOG: cloglog_model(train_pm, test, numeric, categorical, grid),
        BOOSTING: boosting_model(train_pm, test, numeric, categorical, grid, seed),
    }
    origin = months.origin
    cut_date, landmark_date = (origin + pd.DateOffset(months=m) for m in (cut_month, landmark))
    design = (f"Out of time: fitted on the history before {cut_date:%Y-%m} (customer-level models on the "
              f"{len(train):,} customers active in {landmark_date:%Y-%m}, drivers as they stood then; person-month "
              f"models on {len(train_pm):,} customer-months), scored on the {len(test):,} customers active in "
              f"{cut_date:%Y-%m}, followed from their tenure then" + (
                  f" ({len(ids):,} of {len(data.customers):,} customers, a random sample)"
                  if len(ids) < len(data.customers) else "") + ".")
    return test, predictions, notes, design


def _flat_frame(data: CXData) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Flat data's left-truncated lifetimes with the covariates known before the churn period."""
    features = flat_snapshot(data)
    numeric = [c for c in FLAT_COVARIATES if c in features]
    categorical = [c for c in ("contract", "plan") if c in features]
    frame = lifetimes(data)[["customer_id", DURATION, EVENT, ENTRY]].merge(
        features[["customer_id", *numeric, *categorical]], on="customer_id")
    return frame, numeric, categorical


def _split_models(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], grid: np.ndarray,
    max_customers: int | None, seed: int,
) -> tuple[pd.DataFrame, dict[str, ModelPredictions], list[str], str]:
    """Customer-level models fitted on a random half of the lifetimes, predictions for the other half."""
    frame = frame[frame[DURATION] > frame[ENTRY]]
    if max_customers and len(frame) > max_customers:
        frame = frame.sample(max_customers, random_state=seed)
    half = np.random.default_rng(seed).permutation(len(frame)) < len(frame) // 2
    train, test = frame[half].reset_index(drop=True), frame[~half].reset_index(drop=True)
    train = train.assign(**{EVENT: train[EVENT].astype(float)})
    cox, notes = cox_model(train, test, numeric, categorical, grid)
    aft, family = aft_model(train, test, numeric, categorical, grid)
    predictions = {KM: kaplan_meier_model(train, len(test), grid), COX: cox, f"{AFT} ({family})": aft}
    design = (f"Out of sample (no dates to cut at): fitted on {len(train):,} randomly chosen customers, scored on "
              f"the other {len(test):,}, on lifetimes with delayed entry; covariates "
              f"{', '.join([*categorical, *numeric])}.")
    return test, predictions, notes, design


def compare_lifetimes(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str] = (),
    # the evaluation settings of `compare_lifetime_models`, with its defaults
    horizons: Sequence[int] = (3, 6, 12), n_boot: int = 100, max_customers: int | None = 6000, seed: int = 0,
) -> LifetimeModelComparison:
    """Kaplan-Meier, Cox and the best AFT fitted on a random half of one-row-per-customer lifetimes, scored on the rest.

    Parameters
    ----------
    frame : DataFrame
        `duration_months` (whole months), `event`, `entry_months` (left truncation) and the covariates.
    numeric, categorical : sequence of str
        Covariate columns of the Cox and AFT models.
    horizons, n_boot, max_customers, seed
        As in `compare_lifetime_models`.

    Returns
    -------
    LifetimeModelComparison
        As `compare_lifetime_models`, with the person-month models skipped (no months to follow).
    """
    grid = np.arange(1.0, float(max(horizons)) + 1.0)
    test, predictions, notes, design = _split_models(frame, numeric, categorical, grid, max_customers, seed)
    return _judge(test, predictions, horizons, n_boot, seed, design, notes)


def _judge(
    test: pd.DataFrame, predictions: dict[str, ModelPredictions], horizons: Sequence[int], n_boot: int, seed: int,
    design: str, notes: list[str], skipped: dict[str, str] | None = None,
) -> LifetimeModelComparison:
    """Score the models on the test lifetimes and calibrate the one with the lowest integrated Brier score."""
    time, event, entry = (test[c].to_numpy(float) for c in (DURATION, EVENT, ENTRY))
    scores = score_models(time, event > 0, entry, predictions, horizons, n_boot=n_boot, seed=seed, reference=KM)
    table = scores.table
    ibs = table[(table["metric"] == "ibs") & (table["model"] != KM)]
    best = str(ibs.loc[ibs["estimate"].idxmin(), "model"])
    horizon = float(max(horizons))
    calibration = calibration_at(time, event > 0, entry, predictions[best].at([horizon])[:, 0], horizon, model=best)
    return LifetimeModelComparison(scores, calibration, design, skipped or {}, notes)


def compare_lifetime_models(
    data: CXData,
    cut: str | pd.Timestamp | None = None,
    horizons: Sequence[int] = (3, 6, 12),
    n_boot: int = 100,
    max_customers: int | None = 6000,
    seed: int = 0,
) -> LifetimeModelComparison:
    """Fit lifetime models before a cut and score them after it, against the Kaplan-Meier reference.

    Parameters
    ----------
    data : CXData
        Event data (person-months are built from its dates and contacts) or flat data (one row per customer).
    cut : str or Timestamp, optional
        First calendar month of the evaluation period (event data only); default: the last month that leaves
        the last horizon plus one month of follow-up.
    horizons : sequence of int
        Months of tenure at which AUC, Brier score and calibration (at the last) are computed; the integrated
        Brier score spans the first to the last.
    n_boot : int
        Customer-level bootstrap resamples of the evaluated customers for the 95% CIs.
    max_customers : int or None
        Random sample of customers the comparison rests on (None: all); stated in `design`.
    seed : int
        Seed of the sample, the half split of flat data, the boosting and the bootstrap.

    Returns
    -------
    LifetimeModelComparison
        `.summary()` (model, metric, horizon, estimate, ci_low, ci_high), `.best_for`, `.calibration` of the
        model with the lowest integrated Brier score, `.skipped` models with the reason.

    References
    ----------
    .. [1] Steyerberg, E.W. (2019). Clinical Prediction Models, 2nd ed. Springer, ch. 17 (temporal validation).
    .. [2] Tutz, G., Schmid, M. (2016). Modeling Discrete Time-to-Event Data. Springer (person-month models).
    """
    grid = np.arange(1.0, float(max(horizons)) + 1.0)
    if not data.customers["end_date"].notna().any():
        raise NotEstimableError("no customer has a recorded end, so no lifetime model can be judged", needs="churners")
    can_pm, why = can_build_person_months(data)
    if not can_pm:
        frame, numeric, categorical = _flat_frame(data)
        test, predictions, notes, design = _split_models(frame, numeric, categorical, grid, max_customers, seed)
        design += " CX scores recorded with the churn flag are left out: they describe who left."
        return _judge(test, predictions, horizons, n_boot, seed, design, notes, {CLOGLOG: why, BOOSTING: why})
    test, predictions, notes, design = _event_data_models(data, cut, grid, max_customers, seed)
    return _judge(test, predictions, horizons, n_boot, seed, design, notes)


def try_compare_lifetime_models(
    data: CXData, cut: str | pd.Timestamp | None = None, horizons: Sequence[int] = (3, 6, 12), n_boot: int = 100,
    max_customers: int | None = 6000, seed: int = 0,
) -> tuple[LifetimeModelComparison | None, NotEstimableError | None]:
    """`compare_lifetime_models`, or None and why it cannot run on this data (e.g. nobody has left).

    Returns
    -------
    tuple
        The comparison and None, or None and the error naming the reason and the missing input.
    """
    try:
        return compare_lifetime_models(data, cut, horizons, n_boot, max_customers, seed), None
    except NotEstimableError as error:  # raised where the data falls short, naming what is missing
        return None, error
    except (ValueError, np.linalg.LinAlgError) as error:  # a fit that fails on thin data (singular, no convergence)
        return None, NotEstimableError(f"the models cannot be fitted and judged on this data ({error})",
                                       needs="more customers")
