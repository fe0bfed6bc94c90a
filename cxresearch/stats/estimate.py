"""One reported number (`Estimate`: value, unit, 95% interval, plain-words label) and p-values as text."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Estimate:
    """One reported number: value with unit, optional 95% interval, and a plain-words label.

    Not every figure can be a number: `bound="lower"` says the true value is *more than* `value` (a median
    lifetime not reached within the follow-up is at least the follow-up), and `value=None` with a `reason` says
    the figure is not estimable from this data. `format` turns each into words, never `nan` or `None`.
    """

    value: float | None
    unit: str
    label: str
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    note: str = ""
    bound: str = ""
    reason: str = ""

    @classmethod
    def not_estimable(cls, unit: str, label: str, reason: str) -> Estimate:
        """A figure this data cannot give, with the reason in plain words."""
        return cls(None, unit, label, reason=reason)

    @property
    def estimable(self) -> bool:
        """Whether there is a number (exact or a bound)."""
        return self.value is not None and math.isfinite(self.value)

    @property
    def exact(self) -> bool:
        """Whether the value is a point estimate (not a bound, not missing)."""
        return self.estimable and not self.bound

    def format(self, digits: int = 1) -> str:
        """Human-readable 'value unit (95% CI low to high)', 'more than value unit', or 'not estimable: reason'."""
        if not self.estimable:
            return f"not estimable ({self.reason})" if self.reason else "not estimable from this data"
        unit = "" if self.unit in ("", "count", "ratio") else (self.unit if self.unit == "%" else f" {self.unit}")
        text = f"{_number(self.value, digits)}{unit}"
        if self.bound == "lower":
            return f"more than {text}" + (f" ({self.reason})" if self.reason else "")
        if self.bound == "upper":
            return f"less than {text}" + (f" ({self.reason})" if self.reason else "")
        if self.ci_low is not None and self.ci_high is not None:
            text += f" (95% CI {_number(self.ci_low, digits)} to {_number(self.ci_high, digits)})"
        return text


def _number(x: float, digits: int) -> str:
    """`x` with thousands separators and `digits` decimals; a value that rounds to zero never reads '-0.00'."""
    text = f"{x:,.{digits}f}"
    return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text


def format_p(p: float) -> str:
    """A p-value as text: 'p < 0.001' for tiny values, else two significant digits."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"
