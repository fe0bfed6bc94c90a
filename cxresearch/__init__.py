"""cxresearch: how satisfaction, effort and service contacts predict churn, lifetime and value."""

from typing import Any

__all__ = ["load_run"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`cxresearch.load_run`, imported on first use so that `import cxresearch` stays fast."""
    if name == "load_run":
        from cxresearch.run.runs import load_run

        return load_run
    raise AttributeError(f"module 'cxresearch' has no attribute {name!r}")
