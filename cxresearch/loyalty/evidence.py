"""The evidence table's rows: a claim's estimate with its interval, the verdict rule, and the family's adjustment.

Every verdict follows a rule declared before looking at the data (`VerdictRule`): a claim is *supported* when
its CI excludes no effect in the claimed direction, *not supported* when it excludes it in the other
direction or lies inside a stated equivalence margin around no effect, and *inconclusive* otherwise. A claim
the data cannot test (no surveys, no proactive contacts, no referrals...) still gets a row, with the reason; a
test that needs a design the data does not hold (a randomised campaign) is left out, with the reason in
`EvidenceTable.absent`.

Multiplicity. Up to 14 rows are tested at once, so at 5% each a world where no claim holds would still show one
"supported" or "not supported" verdict more often than not (1 - 0.95**14 = 51%). The rule therefore controls the
family-wise error with Holm's step-down adjustment (Holm 1979) over the tested rows: each row's p-value (two-sided,
against the value its verdict turns on: no effect, or the margin of a no-harm claim) is Holm-adjusted
(`p_adjusted`), and its verdict is read from its CI at the row's Holm level, 1 - 0.05 / (m - k + 1) for the
k-th smallest of m p-values while the step-down rejects, and the level of the first row it stops at for the rest
(`level`, `adj_ci_low`, `adj_ci_high`): a row excludes its null exactly when its adjusted p is below 5%. Holm,
not Benjamini-Hochberg: each verdict is read and acted on by itself on the executive page, so the chance that any
of them is wrong is the risk that matters, not the expected share of wrong ones; the family is small, so the loss
of power is small; and rows 1a/1a_cox and 1b/1b_cox reuse the same answers, a dependence Holm needs no
assumption about (Benjamini-Hochberg needs positive dependence). The unadjusted 95% CI stays in `ci_low`,
`ci_high`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cxresearch.stats.estimate import Estimate
from cxresearch.stats.multiplicity import ALPHA, holm
from cxresearch.stats.sampling import Sample

#: Ending of the id of a claim tested on a randomised experiment (e.g. 4a_rct beside the observational 4a).
RANDOMISED_SUFFIX = "_rct"
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, CANNOT_TEST = "supported", "not supported", "inconclusive", "cannot test"
#: Fewest churners (or referrers) a test needs before it is attempted.
MIN_EVENTS = 10
#: Columns of the evidence table, in order.
COLUMNS: tuple[str, ...] = (
    "id", "claim", "test", "estimate", "ci_low", "ci_high", "unit", "verdict", "rule", "n", "note", "needs",
    "p_value", "p_adjusted", "level", "adj_ci_low", "adj_ci_high", "adjustment",
)
#: Multiplicity adjustments `evaluate_claims` knows: Holm's step-down, or none (each row at 5%, for comparison).
ADJUSTMENTS = ("holm", "none")


@dataclass(frozen=True)
class VerdictRule:
    """A pre-declared verdict rule on an estimate's 95% CI.

    `direction` is the claimed direction relative to `null` (``"greater"`` or ``"less"``). With
    ``equivalence=False`` the claim is an effect: supported if the CI excludes `null` in that direction, not
    supported if it excludes it the other way or lies within `margin`. With ``equivalence=True`` the claim is
    *no harmful effect*: supported if the CI rules out anything beyond the `margin` bound in `direction`, not
    supported if the CI excludes `null` in `direction`.
    """

    null: float
    direction: str
    margin: tuple[float, float] | None = None
    equivalence: bool = False

    def __post_init__(self) -> None:
        if self.direction not in ("greater", "less"):
            raise ValueError(f"direction must be 'greater' or 'less', not {self.direction!r}")
        if self.equivalence and self.margin is None:
            raise ValueError("an equivalence rule needs a margin")

    @property
    def boundary(self) -> float:
        """The value the verdict turns on: `null` for an effect claim, the margin bound for a no-harm claim."""
        if not self.equivalence:
            return self.null
        return self.margin[1] if self.direction == "greater" else self.margin[0]

    def verdict(self, ci_low: float | None, ci_high: float | None) -> str:
        """'supported', 'not supported' or 'inconclusive' for a CI (inconclusive when it is undefined)."""
        if ci_low is None or ci_high is None or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
            return INCONCLUSIVE
        up = self.direction == "greater"
        beyond_null = ci_low > self.null if up else ci_high < self.null
        if self.equivalence:
            bound = self.margin[1] if up else self.margin[0]
            if beyond_null:
                return NOT_SUPPORTED
            return SUPPORTED if (ci_high < bound if up else ci_low > bound) else INCONCLUSIVE
        if beyond_null:
            return SUPPORTED
        against = ci_high < self.null if up else ci_low > self.null
        within = self.margin is not None and self.margin[0] <= ci_low and ci_high <= self.margin[1]
        return NOT_SUPPORTED if against or within else INCONCLUSIVE

    def describe(self, ci: str = "95% CI") -> str:
        """The rule in plain words, for intervals called `ci` ("95% CI", "Holm-adjusted CI")."""
        side, other = ("above", "below") if self.direction == "greater" else ("below", "above")
        if self.equivalence:
            bound = self.margin[1] if self.direction == "greater" else self.margin[0]
            return (f"supported if the {ci} lies {'below' if side == 'above' else 'above'} {bound:g}; "
                    f"not supported if it lies entirely {side} {self.null:g}; otherwise inconclusive")
        text = f"supported if the {ci} lies entirely {side} {self.null:g}; not supported if it lies {other} it"
        if self.margin is not None:
            text += f" or within {self.margin[0]:g} to {self.margin[1]:g}"
        return text + "; otherwise inconclusive"


def ratio_rule(direction: str, margin: float = 1.05) -> VerdictRule:
    """A rule for a ratio (odds, rate ratio) whose no-effect value is 1, equivalence margin 1/margin..margin.

    Parameters
    ----------
    direction
        "greater" or "less": the claimed direction of the ratio.
    margin
        Equivalence margin of a ratio: 1/margin to margin counts as no effect.

    Returns
    -------
    VerdictRule
        The rule with null 1 and margin (1/margin, margin).
    """
    return VerdictRule(1.0, direction, (round(1.0 / margin, 3), margin))


def _z(alpha: float) -> float:
    """The two-sided normal quantile of a (1 - alpha) interval."""
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


@dataclass(frozen=True)
class LogNormalInterval:
    """A Wald interval on the log scale (odds, hazard and rate ratios): `log_estimate` and its standard error."""

    log_estimate: float
    se: float

    def ci(self, alpha: float) -> tuple[float, float]:
        """The (1 - alpha) interval of the ratio."""
        half = _z(alpha) * self.se
        return float(np.exp(self.log_estimate - half)), float(np.exp(self.log_estimate + half))

    def p_value(self, boundary: float) -> float:
        """Two-sided Wald p-value of ratio = `boundary`."""
        return float(2.0 * stats.norm.sf(abs(self.log_estimate - np.log(boundary)) / self.se))


@dataclass(frozen=True)
class WilsonInterval:
    """A share in percent, `count` of `n`: the Wilson interval and the score test it inverts (Wilson 1927)."""

    count: int
    n: int

    def ci(self, alpha: float) -> tuple[float, float]:
        """The (1 - alpha) Wilson interval, percent, within [0, 100] and around the share."""
        low, high = proportion_confint(self.count, self.n, alpha=alpha, method="wilson")
        share = 100.0 * self.count / self.n
        return float(np.clip(100.0 * low, 0.0, share)), float(np.clip(100.0 * high, share, 100.0))

    def p_value(self, boundary: float) -> float:
        """Two-sided score-test p-value of share = `boundary` percent."""
        p0 = boundary / 100.0
        z = (self.count / self.n - p0) / np.sqrt(p0 * (1.0 - p0) / self.n)
        return float(2.0 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile-bootstrap interval from the `draws` of an estimate (Efron & Tibshirani 1993)."""

    draws: tuple[float, ...]

    def ci(self, alpha: float) -> tuple[float, float]:
        """The (1 - alpha) percentile interval."""
        low, high = np.percentile(np.asarray(self.draws), [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
        return float(low), float(high)

    def p_value(self, boundary: float) -> float:
        """Twice the share of draws on the far side of `boundary` (at most 1)."""
        draws = np.asarray(self.draws)
        return float(min(1.0, 2.0 * min(np.mean(draws <= boundary), np.mean(draws >= boundary))))


Interval = LogNormalInterval | WilsonInterval | BootstrapInterval


@dataclass(frozen=True)
class Evidence:
    """One row of the evidence table: a claim, how it was tested, the estimate with 95% CI and the verdict.

    After the family's adjustment (`adjust`): `p_value` (two-sided, against the rule's `boundary`), `p_adjusted`,
    the confidence `level` of the CI the verdict was read from and that CI (`adj_ci_low`, `adj_ci_high`).
    """

    id: str
    claim: str
    test: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    verdict: str
    rule: str
    n: int | None = None
    note: str = ""
    #: for a claim that cannot be tested: the missing input, in the vocabulary of `Results.skip(needs=...)`
    needs: str = ""
    p_value: float | None = None
    p_adjusted: float | None = None
    level: float | None = None
    adj_ci_low: float | None = None
    adj_ci_high: float | None = None
    adjustment: str = ""
    judge: VerdictRule | None = field(default=None, repr=False, compare=False)
    interval: Interval | None = field(default=None, repr=False, compare=False)

    @classmethod
    def judged(cls, id: str, claim: str, test: str, estimate: float, interval: Interval, unit: str,
               rule: VerdictRule, n: int | None = None, note: str = "") -> Evidence:
        """A tested claim: its 95% CI from `interval`, its verdict given by `rule` on it (before any adjustment)."""
        low, high = interval.ci(ALPHA)
        return cls(id, claim, test, float(estimate), low, high, unit, rule.verdict(low, high), rule.describe(), n,
                   note, p_value=interval.p_value(rule.boundary), p_adjusted=interval.p_value(rule.boundary),
                   level=1.0 - ALPHA, adj_ci_low=low, adj_ci_high=high, adjustment="none", judge=rule,
                   interval=interval)

    @classmethod
    def untestable(cls, id: str, claim: str, test: str, reason: str, needs: str = "") -> Evidence:
        """A claim this data cannot test, with the reason in `note` and the missing input in `needs`."""
        return cls(id, claim, test, None, None, None, "", CANNOT_TEST, "", None, reason, needs)

    @property
    def tested(self) -> bool:
        """Whether the claim was tested (it has an estimate and a verdict rule)."""
        return self.verdict != CANNOT_TEST and self.judge is not None

    def at_level(self, alpha: float, p_adjusted: float, adjustment: str) -> Evidence:
        """This row judged on its CI at level 1 - `alpha`, with the family's `p_adjusted`."""
        low, high = self.interval.ci(alpha)
        ci = f"{adjustment.capitalize()}-adjusted CI" if adjustment != "none" else "95% CI"
        return replace(self, verdict=self.judge.verdict(low, high), rule=self.judge.describe(ci),
                       p_adjusted=float(p_adjusted), level=1.0 - float(alpha), adj_ci_low=low, adj_ci_high=high,
                       adjustment=adjustment)


def adjust(rows: Sequence[Evidence], adjustment: str = "holm", alpha: float = ALPHA) -> list[Evidence]:
    """The rows with the tested ones judged together: Holm-adjusted p-values and levels (`holm`), or each at
    `alpha` (`adjustment` "none"). Untestable rows pass through.

    Parameters
    ----------
    rows
        The evidence rows, tested and untestable.
    adjustment
        "holm" or "none".
    alpha
        Family-wise error rate.

    Returns
    -------
    list of Evidence
        The rows in the same order, tested ones re-judged at their adjusted level.
    """
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, not {adjustment!r}")
    tested = [i for i, r in enumerate(rows) if r.tested]
    p_values = [rows[i].p_value for i in tested]
    if adjustment == "holm":
        adjusted, levels = holm(p_values, alpha)
    else:
        adjusted, levels = np.asarray(p_values, dtype=float), np.full(len(tested), alpha)
    out = list(rows)
    for i, p_adj, level in zip(tested, adjusted, levels, strict=True):
        out[i] = rows[i].at_level(level, p_adj, adjustment)
    return out


@dataclass(frozen=True)
class EvidenceTable:
    """The evidence table: one `Evidence` row per claim (or claim part)."""

    rows: tuple[Evidence, ...]
    #: (analysis, sample) for each test that ran on a random sample of customers beyond the data it was given
    samples: tuple[tuple[str, Sample], ...] = ()
    #: how the churn claims' data was built, in words ("8 monthly snapshots from ... to ..."), for the report
    design: str = ""
    #: the multiplicity adjustment the verdicts use ("holm" or "none")
    adjustment: str = "holm"
    #: claims left out of the table because the data holds no design for them (e.g. the randomised test of
    #: claim 4a without a proactive campaign), as untestable rows carrying the reason and the missing input
    absent: tuple[Evidence, ...] = ()

    def summary(self) -> pd.DataFrame:
        """The rows as a DataFrame with `COLUMNS`."""
        return pd.DataFrame([{c: getattr(r, c) for c in COLUMNS} for r in self.rows], columns=list(COLUMNS))

    def _repr_html_(self) -> str:
        """The summary as an HTML table (notebook display)."""
        return self.summary().to_html()

    def verdict(self, id: str) -> str:
        """The verdict of the row `id`."""
        return self.row(id).verdict

    def row(self, id: str) -> Evidence:
        """The row `id`."""
        for row in self.rows:
            if row.id == id:
                return row
        raise KeyError(f"no claim {id!r}; claims are {[r.id for r in self.rows]}")

    def untestable(self) -> list[Evidence]:
        """Rows the data could not test."""
        return [r for r in self.rows if r.verdict == CANNOT_TEST]

    def untestable_summary(self) -> dict[str, list[str]]:
        """The untestable claims in compact form for the executive summary: `{"needs": [...], "claims": [...]}`,
        the missing inputs most often named first."""
        rows = self.untestable()
        needs = pd.Series([r.needs for r in rows if r.needs], dtype=object)
        return {"needs": list(needs.value_counts(sort=True).index) if len(needs) else [],
                "claims": [f"{r.id}: {r.claim}" for r in rows]}

    def rule_statement(self) -> str:
        """The pre-declared rule for the whole table, with its multiplicity adjustment, in words."""
        levels = [r.level for r in self.rows if r.verdict != CANNOT_TEST and r.level is not None]
        randomised = [r.id for r in self.rows if r.id.endswith(RANDOMISED_SUFFIX) and r.verdict != CANNOT_TEST]
        causal = ("'Supported' means the association is there in the claimed direction; with no randomised "
                  "experiment in the data it does not show that the CX factor causes churn.")
        if randomised:
            causal = ("'Supported' means the association is there in the claimed direction, which does not show "
                      f"that the CX factor causes churn; row{'s' if len(randomised) > 1 else ''} "
                      f"{', '.join(randomised)} compare{'' if len(randomised) > 1 else 's'} a randomised campaign "
                      "with its holdout, so there it is a cause.")
        if not levels:
            return "No claim could be tested on this data."
        if len(levels) == 1:
            return f"One claim was tested, on its own 95% CI: with one test there is nothing to adjust for. {causal}"
        if self.adjustment == "none":
            return (f"Each of the {len(levels)} tested claims is judged on its own 95% CI (no multiplicity "
                    f"adjustment). {causal}")
        return (f"The {len(levels)} tested claims are judged together: Holm's adjustment keeps the chance of any "
                f"wrong 'supported' or 'not supported' verdict among them at most {ALPHA:.0%}, so each verdict is "
                f"read from its CI at its Holm level ({_level_words(min(levels))} to {_level_words(max(levels))} "
                f"here) and its adjusted p-value is shown. {causal}")

    def findings(self) -> list[str]:
        """One plain-words sentence per tested row: claim, verdict, estimate with 95% CI and the adjusted level."""
        # a caution (e.g. a score recorded after the churn decision) travels with the finding
        return [f"{r.claim}: {r.verdict} ({r.unit} {r.estimate:.2f}, 95% CI {r.ci_low:.2f} to {r.ci_high:.2f}"
                + self._adjusted_words(r) + ")"
                + (f"; {r.note[r.note.index('caution'):]}." if "caution" in r.note else ".")
                for r in self.rows if r.verdict != CANNOT_TEST]

    def _adjusted_words(self, row: Evidence) -> str:
        """'; Holm-adjusted p = 0.012, 99.6% CI 1.01 to 1.20' for an adjusted row, '' otherwise."""
        alone = sum(r.verdict != CANNOT_TEST for r in self.rows) == 1
        if row.adjustment in ("", "none") or row.p_adjusted is None or alone:
            return ""
        return (f"; {row.adjustment.capitalize()}-adjusted p {_p_words(row.p_adjusted)}, {_level_words(row.level)} "
                f"CI {row.adj_ci_low:.2f} to {row.adj_ci_high:.2f}")

    def to_estimates(self, prefix: str = "claim") -> dict[str, Estimate]:
        """Each tested row as an `Estimate` keyed `<prefix>_<id>`; the verdict goes in its note."""
        return {
            f"{prefix}_{r.id}": Estimate(r.estimate, r.unit, r.claim, r.ci_low, r.ci_high, r.n,
                                         note=f"{r.verdict}: {r.rule}" + self._adjusted_words(r))
            for r in self.rows if r.verdict != CANNOT_TEST
        }


def _p_words(p: float) -> str:
    """'= 0.0123' (three significant digits), or '< 0.001' below that."""
    return "< 0.001" if p < 0.001 else f"= {p:.3g}"


def _level_words(level: float | None) -> str:
    """A confidence level as a percentage with the decimals it needs (95%, 99.5%, 99.62%)."""
    return "" if level is None else f"{100 * level:.2f}".rstrip("0").rstrip(".") + "%"
