"""One proportional-hazards verdict per term, weighing the landmark Schoenfeld check and the tenure check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cxresearch.stats.multiplicity import holm_adjusted
from cxresearch.survival.cox import PHCheck
from cxresearch.survival.display import summary_html

if TYPE_CHECKING:
    from cxresearch.survival.timevarying import TenurePHCheck


#: The verdicts of `ph_verdicts`, in the words the reports use.
PH_CONSTANT = "constant over the lifetime"
PH_CHANGES = "changes with tenure: read its ratios by tenure"
PH_STALE = "fades after the landmark because the driver was measured once (stale covariate), not a PH violation"
PH_UNTESTED = "not tested"

#: The rule behind the verdicts, in words (the notebook states it, the results file records it).
PH_VERDICT_RULE = (
    "Both checks' p-values are Holm-adjusted together as one family. A term changes with tenure when the tenure "
    "check flags it. When only the landmark check flags it, it fades after the landmark because it was measured "
    "once (a stale covariate, not a violation) if it was measured once at the landmark and its hazard ratio after "
    "the cut is closer to 1 than before; otherwise it changes with tenure. A term neither check flags is constant "
    "over the lifetime."
)


def ph_verdicts(tests: pd.DataFrame, measured_once: Sequence[str] = (), alpha: float = 0.05) -> pd.DataFrame:
    """Holm-adjust both proportional-hazards checks' p-values as one family and give each term its verdict.

    The tenure check (person-month model, every driver as it stood each month) tests the lifetime hazard ratio
    directly. The landmark check tests the hazard ratio of drivers measured once at the landmark; a driver whose
    value moves with follow-up (a trailing-window count, tenure) goes stale, so its hazard ratio fades after the
    landmark even when the hazard is proportional in the current value (`PH_VERDICT_RULE` says how the two are
    weighed). Adjusting both checks together keeps the chance of any "changes" verdict at most `alpha` when
    every hazard is proportional.

    Parameters
    ----------
    tests : one row per term (index) with `p_landmark` (scaled-Schoenfeld p-value) and `p_tenure`
        (likelihood-ratio p-value of the tenure interaction), NaN where a check did not test the term, and
        `hr_before`, `hr_after`: the landmark hazard ratio before and after the cut (NaN where not split).
    measured_once : terms measured once at the landmark whose true value moves with follow-up.
    alpha : family-wise error rate over both checks.

    Returns
    -------
    `tests` with p_landmark_holm, p_tenure_holm, measured_once, fades (the ratio after the cut is closer to 1)
    and verdict (`PH_CONSTANT`, `PH_CHANGES`, `PH_STALE` or `PH_UNTESTED`).

    References
    ----------
    Holm (1979), Scand. J. Stat. 6:65-70; van Houwelingen (2007), Scand. J. Stat. 34:70-85 (dynamic prediction by
    landmarking: covariates fixed at the landmark, their effects allowed to vary with the time since it).
    """
    out = tests.copy()
    family = pd.concat({"landmark": out["p_landmark"], "tenure": out["p_tenure"]})
    adjusted = pd.Series(holm_adjusted(family), index=family.index)
    out["p_landmark_holm"] = adjusted["landmark"].to_numpy()
    out["p_tenure_holm"] = adjusted["tenure"].to_numpy()
    out["measured_once"] = out.index.isin(list(measured_once))
    with np.errstate(invalid="ignore"):  # a missing split compares False: not shown to fade
        out["fades"] = np.abs(np.log(out["hr_after"])) < np.abs(np.log(out["hr_before"]))
    out["verdict"] = [_ph_verdict(r.p_landmark_holm, r.p_tenure_holm, r.measured_once, r.fades, alpha)
                      for r in out.itertuples()]
    return out


def _ph_verdict(p_landmark: float, p_tenure: float, measured_once: bool, fades: bool, alpha: float) -> str:
    """One term's verdict from its Holm-adjusted p-values (NaN = not tested), by `PH_VERDICT_RULE`."""
    if p_tenure < alpha:
        return PH_CHANGES
    if p_landmark < alpha:
        return PH_STALE if measured_once and fades else PH_CHANGES
    if np.isnan(p_landmark) and np.isnan(p_tenure):
        return PH_UNTESTED
    return PH_CONSTANT


@dataclass
class PHVerdict:
    """One proportional-hazards verdict per term, weighing the landmark Schoenfeld check and the tenure check, with
    family-wise error `alpha` over both (`ph_verdicts`)."""

    table: pd.DataFrame  # `ph_verdicts` output, plus hr_at_<a>, hr_at_<b>: tenure-check hazard ratios
    alpha: float
    cut_months: float | None  # the landmark check's split (months after the landmark); None without that check
    tenures: tuple[int, int] | None  # tenures (months) of the tenure check's hazard ratios; None without it
    labels: dict[str, str] = field(default_factory=dict)  # term -> words for sentences

    @property
    def n_tests(self) -> int:
        """How many p-values the Holm adjustment covers (both checks)."""
        return int(self.table[["p_landmark", "p_tenure"]].notna().sum().sum())

    def terms_with(self, verdict: str) -> list[str]:
        """Terms given `verdict`."""
        return list(self.table.index[self.table["verdict"] == verdict])

    @property
    def changes(self) -> list[str]:
        """Terms whose hazard ratio changes over the lifetime (the proportional-hazards flags)."""
        return self.terms_with(PH_CHANGES)

    def summary(self) -> pd.DataFrame:
        """Per term: both checks' p-values, raw and Holm-adjusted over both, the landmark hazard ratio before and
        after the cut, the tenure check's hazard ratio at two tenures, and the verdict."""
        hr_at = [c for c in self.table.columns if c.startswith("hr_at_")]
        return self.table[["p_landmark", "p_landmark_holm", "p_tenure", "p_tenure_holm", "hr_before", "hr_after",
                           *hr_at, "verdict"]].copy()

    def _repr_html_(self) -> str:
        return summary_html(self.summary(), "One proportional-hazards verdict per term", self.sentences(), digits=4)

    def sentences(self) -> list[str]:
        """The verdicts in plain words: one sentence per term whose ratio changes (or one saying none does), and
        one naming the terms that only fade after the landmark."""
        checks = " and ".join(c for c, ran in (("landmark", self.cut_months is not None),
                                                ("tenure", self.tenures is not None)) if ran)
        family = (f"{self.n_tests} tests of the {checks} check{'s' if ' and ' in checks else ''} Holm-adjusted "
                  f"together, family-wise {self.alpha:.0%}")
        out = [self._changes_sentence(t) for t in self.changes]
        if not out:
            tested = len(self.table) - len(self.terms_with(PH_UNTESTED))
            out.append(f"No hazard ratio changes over the lifetime: none of {tested} terms is flagged as a "
                       f"proportional-hazards violation ({family}), so each can be read as constant.")
        stale = self.terms_with(PH_STALE)
        if stale:
            verb, subject = ("fades", "it was") if len(stale) == 1 else ("fade", "they were")
            out.append(f"{_capital(_join_words([self._name(t) for t in stale]))} {verb} after the landmark only "
                       f"because {subject} measured once there and the measurement goes stale with follow-up (a "
                       "stale covariate, not a proportional-hazards violation).")
        return out

    def to_dict(self) -> dict:
        """The rule, its family-wise level and how many terms got each verdict (for the results file)."""
        return {"alpha": self.alpha, "multiple_testing": "holm over both checks", "n_tests": self.n_tests,
                "rule": PH_VERDICT_RULE, "verdicts": self.table["verdict"].value_counts().to_dict()}

    def _changes_sentence(self, term: str) -> str:
        """A changing term's sentence: the check that flags it and its hazard ratios by tenure or by period."""
        r = self.table.loc[term]
        name = _capital(self._name(term))
        if r["p_tenure_holm"] < self.alpha:
            a, b = self.tenures
            return (f"{name}: its hazard ratio changes with tenure (Holm-adjusted p = {r['p_tenure_holm']:.2g}, "
                    f"person-month check): {r[f'hr_at_{a}']:.2f} at {a} months of tenure, {r[f'hr_at_{b}']:.2f} at "
                    f"{b}; read its ratios by tenure, not one ratio for the whole lifetime.")
        split = (f": {r['hr_before']:.2f} in the first {self.cut_months:g} months after the landmark, "
                 f"{r['hr_after']:.2f} later" if np.isfinite(r["hr_before"]) else "")
        return (f"{name}: its hazard ratio changes over time (Holm-adjusted p = {r['p_landmark_holm']:.2g}, "
                f"landmark check){split}; read its ratios by period, not one ratio for the whole lifetime.")

    def _name(self, term: str) -> str:
        """A term in words: its label, or 'column level' for a categorical level."""
        return self.labels.get(term, term.replace("=", " "))


def combine_ph_checks(
    landmark: PHCheck | None,
    tenure: TenurePHCheck | None,
    measured_once: Sequence[str] = (),
    alpha: float = 0.05,
    labels: dict[str, str] | None = None,
) -> PHVerdict | None:
    """One proportional-hazards verdict per term from the landmark check (`check_proportional_hazards`) and the
    tenure check (`timevarying.check_tenure_proportional_hazards`), either of which may be missing (`ph_verdicts`
    gives the rule); None when neither ran.

    Parameters
    ----------
    landmark : the landmark model's scaled-Schoenfeld check, or None.
    tenure : the person-month model's check over tenure, or None.
    measured_once : the landmark model's terms measured once at the landmark whose true value moves with
        follow-up.
    alpha : family-wise error rate over both checks.
    labels : term -> words for the sentences.

    Returns
    -------
    PHVerdict or None
        The verdict per term, or None when neither check ran.
    """
    if landmark is None and tenure is None:
        return None
    columns = {}
    if tenure is not None:
        columns["p_tenure"] = tenure.tests["p_value"]
        columns.update({f"hr_at_{t}": tenure.tests[f"hr_at_{t}"] for t in tenure.tenures})
    if landmark is not None:
        checked = landmark.summary()
        columns["p_landmark"] = checked["p_value"]
        for phase in ("before", "after"):
            columns[f"hr_{phase}"] = checked.get(f"hazard_ratio_{phase}", pd.Series(np.nan, index=checked.index))
    # the lifetime model's terms first, then the landmark model's own (tenure at the landmark)
    terms = list(dict.fromkeys([*(tenure.tests.index if tenure is not None else []),
                                *(landmark.tests.index if landmark is not None else [])]))
    hr_at = [c for c in columns if c.startswith("hr_at_")]
    tests = pd.DataFrame({c: v.reindex(terms) for c, v in columns.items()}, index=terms).reindex(
        columns=["p_landmark", "p_tenure", "hr_before", "hr_after", *hr_at])
    tests.index.name = "term"
    return PHVerdict(
        table=ph_verdicts(tests.astype(float), measured_once, alpha), alpha=alpha,
        cut_months=landmark.cut_months if landmark is not None else None,
        tenures=tuple(tenure.tenures) if tenure is not None else None, labels=dict(labels or {}),
    )


def _join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capital(text: str) -> str:
    """`text` with its first letter upper-case (the rest untouched)."""
    return text[:1].upper() + text[1:]


