"""cxresearch: how satisfaction, effort and service contacts predict churn, lifetime and value."""

from cxresearch.runs import load_run

__all__ = ["load_run"]
__version__ = "0.1.0"
