"""Why simulated customers leave: churn reasons as competing risks with cause-specific hazards.

The monthly churn hazard h(t, x) of `cxresearch.data.simulate` is split between the reasons of
`cxresearch.data.schema.END_REASONS`: reason k's hazard is h_k(t, x) = h(t, x) pi_k(x) with multinomial-logit
shares

    log(pi_k / pi_moved) = gamma_k0 + sum_j gamma_kj x_j,    sum_k pi_k = 1,

so log(h_k / h_moved) = gamma_k0 + gamma_k . x exactly, and given that a customer churns, the reason is k with
probability pi_k(x). Moving away is the constant-background reference. The drivers x are measured when the
customer churns: the experienced effort (CES), unresolved contacts and channel inconsistencies of the 3 calendar
months before the churn month (the hazard's own trailing window) raise the service share; the monthly margin
(what the customer pays, net of cost) and the plan act on the price and competitor shares; involuntary exits
(non-payment) and other reasons are small constant shares. All drivers but the effort are exactly what the
tables show (contacts of those months, `monthly_margin`, `plan`); the effort is the experienced CES of every
reactive contact, of which the surveys record about 60%.

Reasons are drawn after the churn times are fixed, from a generator of their own (seeded by the world's seed and
`REASON_STREAM`): a world with reasons has value for value the tables of the same world without them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxresearch.data.schema import END_REASONS
from cxresearch.data.simulate_arrays import concat, label_text
from cxresearch.data.simulate_months import Journeys, Population
from cxresearch.data.simulate_parameters import PLAN_SHARE

#: Second seed word of the reasons' own random stream ("reasons" in ASCII).
REASON_STREAM = int.from_bytes(b"reasons", "big")
#: The reference reason: a constant background hazard (log relative hazard 0 by definition).
REASON_REFERENCE = "moved"
#: Drivers of the reason shares and the unit each log relative hazard is per.
REASON_DRIVERS: dict[str, str] = {
    "ces_mean_90d": "one point (CES 1-7, 7 = high effort) of the mean experienced effort of the reactive contacts "
                    "in the 3 calendar months before the churn month, centred at 4; 0 without reactive contacts",
    "unresolved_90d": "one more reactive contact not resolved at first contact in the 3 calendar months before "
                      "the churn month",
    "inconsistency_90d": "one more channel_inconsistency contact in the 3 calendar months before the churn month",
    "monthly_margin": "one currency unit more of monthly_margin (the customer's monthly charge net of cost)",
    "plan[standard]": "plan standard instead of basic",
    "plan[premium]": "plan premium instead of basic",
}
#: gamma: log(pi_k / pi_moved) per unit of each driver (`REASON_DRIVERS`), and its value at all drivers 0.
REASON_LOG_RELATIVE_HAZARD: dict[str, dict[str, float]] = {
    "price": {"intercept": -0.35, "monthly_margin": 0.04, "plan[standard]": -0.25, "plan[premium]": -0.50},
    "competitor": {"intercept": 0.40, "monthly_margin": 0.02, "plan[standard]": 0.20, "plan[premium]": 0.40},
    "service": {"intercept": 0.60, "ces_mean_90d": 0.35, "unresolved_90d": 0.45, "inconsistency_90d": 0.60},
    "involuntary": {"intercept": -0.70},
    "other": {"intercept": -0.70},
}
#: The company's own labels (`end_reason_detail`) within each reason, with their shares.
REASON_DETAIL: dict[str, dict[str, float]] = {
    "price": {"Price too high": 0.5, "Bill increase": 0.3, "Extra data charges": 0.2},
    "competitor": {"Competitor made better offer": 0.5, "Competitor had better devices": 0.3,
                   "Competitor offered more data": 0.2},
    "service": {"Network reliability": 0.3, "Attitude of support person": 0.25, "Unresolved complaint": 0.25,
                "Product dissatisfaction": 0.2},
    "moved": {"Moved": 0.9, "Deceased": 0.1},
    "involuntary": {"Non-payment": 0.85, "Account closed by us": 0.15},
    "other": {"Don't know": 0.6, "Other": 0.4},
}
_DETAIL_LABELS: tuple[str, ...] = tuple(label for labels in REASON_DETAIL.values() for label in labels)


@dataclass
class EndReasons:
    """Each leaver's reason: customer index, drivers at churn (`REASON_DRIVERS` columns), probability of each
    reason (columns `END_REASONS`), and the drawn reason and detail label (codes into `END_REASONS` and the
    detail labels)."""

    cust: np.ndarray
    drivers: pd.DataFrame
    probability: pd.DataFrame
    reason: np.ndarray
    detail: np.ndarray

    def columns(self, n: int) -> dict[str, pd.api.extensions.ExtensionArray]:
        """`end_reason` and `end_reason_detail` for all `n` customers as `TEXT_DTYPE` text, missing if active."""
        reason, detail = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.int16)
        reason[self.cust], detail[self.cust] = self.reason, self.detail
        left = np.zeros(n, dtype=bool)
        left[self.cust] = True
        return {"end_reason": label_text(END_REASONS, reason, left),
                "end_reason_detail": label_text(_DETAIL_LABELS, detail, left)}

    def latent(self, customer_id: pd.Series) -> pd.DataFrame:
        """Per leaver: `customer_id`, `end_reason`, the drivers at churn and each reason's probability `p_<reason>`."""
        return pd.concat([
            pd.DataFrame({"customer_id": customer_id.to_numpy()[self.cust],
                          "end_reason": np.array(END_REASONS)[self.reason]}),
            self.drivers, self.probability.add_prefix("p_"),
        ], axis=1)

    def tally(self) -> ReasonTally:
        """What `reasons_truth` needs of these leavers: their number, each reason's summed probability and draws."""
        return ReasonTally(len(self.reason), self.probability[list(END_REASONS)].to_numpy().sum(axis=0),
                           np.bincount(self.reason, minlength=len(END_REASONS)))


@dataclass
class ReasonTally:
    """Leavers of one chunk of a world: how many, the sum of each reason's probability and each reason's draws."""

    n: int
    probability_sum: np.ndarray
    drawn: np.ndarray


def reasons_truth(tallies: list[ReasonTally]) -> dict:
    """`truth.json`'s `churn_reasons` from the leavers of every chunk: the log relative hazards, the true shares
    and what each number is."""
    n = sum(t.n for t in tallies)
    share = sum(t.probability_sum for t in tallies) / max(n, 1)
    drawn = sum(t.drawn for t in tallies) / max(n, 1)
    return {
        "model": "cause-specific hazards h_k(t, x) = h(t, x) pi_k(x), multinomial-logit shares pi_k",
        "definition": (
            "log_relative_hazard[cause][driver] is gamma_k: the change of log(h_k / h_moved), which equals "
            "log(pi_k / pi_moved), per unit of the driver (units in `drivers`); [cause]['intercept'] is its "
            "value at all drivers 0. `moved` is the reference (all 0). A multinomial logit of end_reason "
            "among churners on the drivers estimates these values. share[reason] is the true share of "
            "churn by reason among the simulated churners (the mean of pi_k(x) over them); share_drawn the "
            "share of the reasons actually drawn."
        ),
        "reference": REASON_REFERENCE,
        "drivers": REASON_DRIVERS,
        "log_relative_hazard": {cause: {"intercept": gammas["intercept"],
                                        **{d: gammas.get(d, 0.0) for d in REASON_DRIVERS}}
                                for cause, gammas in REASON_LOG_RELATIVE_HAZARD.items()},
        "share": {r: round(float(s), 6) for r, s in zip(END_REASONS, share)},
        "share_drawn": {r: round(float(s), 6) for r, s in zip(END_REASONS, drawn)},
        "n_churners": n,
        "detail_labels": {r: list(labels) for r, labels in REASON_DETAIL.items()},
        "notes": [
            ("Reason k's cause-specific hazard is h(t, x) pi_k(x): its log hazard ratio per unit of a driver "
            "is the all-cause coefficient plus the change of log pi_k, which depends on x; only the "
            "differences to moved (these gammas) are constant."),
            ("The effort driver is the experienced CES of every reactive contact; the surveys record about "
            "60% of them (missing completely at random), so a model on surveyed CES is attenuated."),
        ],
    }


def draw_end_reasons(seed: int, pop: Population, journeys: Journeys,
                     stream: tuple[int, ...] = ()) -> EndReasons:
    """Each leaver's reason (multinomial-logit shares at its drivers) and detail label, from the reasons' own
    stream `(seed, REASON_STREAM, *stream)`.

    Parameters
    ----------
    seed
        The world's seed; with `REASON_STREAM` it seeds the reasons' generator.
    pop
        The customers (margin and plan).
    journeys
        The finished monthly process (who left when, with their trailing-window drivers).
    stream
        More seed words: a chunk's number in a world simulated in chunks; () for a whole world.

    Returns
    -------
    EndReasons
        Per leaver: drivers, reason probabilities, drawn reason and detail label.
    """
    rng = np.random.default_rng([seed, REASON_STREAM, *stream])
    leavers = concat(journeys.leavers)
    cust = leavers["cust"]
    drivers = reason_drivers(leavers, pop)
    logits = np.column_stack([
        _linear_predictor(REASON_LOG_RELATIVE_HAZARD.get(r, {}), drivers) for r in END_REASONS
    ])
    probability = np.exp(logits - logits.max(axis=1, keepdims=True))
    probability /= probability.sum(axis=1, keepdims=True)
    reason = _categorical(rng, probability)
    detail = np.zeros(len(cust), dtype=np.int16)
    first = 0
    for code, labels in enumerate(REASON_DETAIL.values()):
        mine = reason == code
        shares = np.tile(np.array(list(labels.values())), (int(mine.sum()), 1))
        detail[mine] = first + _categorical(rng, shares)
        first += len(labels)
    return EndReasons(cust=cust, drivers=drivers, probability=pd.DataFrame(probability, columns=list(END_REASONS)),
                      reason=reason.astype(np.int8), detail=detail)


def reason_drivers(leavers: dict[str, np.ndarray], pop: Population) -> pd.DataFrame:
    """The drivers of `REASON_DRIVERS` per leaver, from its window at churn and its margin and plan."""
    cust = leavers["cust"]
    plan = pop.plan[cust]
    levels = tuple(PLAN_SHARE)
    return pd.DataFrame({
        "ces_mean_90d": leavers["ces_mean"] - 4.0,
        "unresolved_90d": leavers["unresolved"].astype(float),
        "inconsistency_90d": leavers["inconsistency"].astype(float),
        "monthly_margin": pop.margin[cust],
        "plan[standard]": (plan == levels.index("standard")).astype(float),
        "plan[premium]": (plan == levels.index("premium")).astype(float),
    })


def _linear_predictor(gammas: dict[str, float], drivers: pd.DataFrame) -> np.ndarray:
    """gamma_0 + gamma . x per row of `drivers` (0 for the reference reason)."""
    out = np.full(len(drivers), gammas.get("intercept", 0.0))
    for name, value in gammas.items():
        if name != "intercept":
            out += value * drivers[name].to_numpy()
    return out


def _categorical(rng: np.random.Generator, probability: np.ndarray) -> np.ndarray:
    """One category per row of `probability` (rows summing to 1), by the inverse CDF of a uniform draw."""
    u = rng.random(len(probability))
    return np.minimum((np.cumsum(probability, axis=1) < u[:, None]).sum(axis=1), probability.shape[1] - 1)
