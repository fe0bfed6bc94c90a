"""Notebook parameters: what each notebook's `parameters` cell declares, and checking overrides against it."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxresearch.errors import ProblemsError

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class ParameterError(ProblemsError):
    """Overrides that do not fit the notebooks' parameters cells; one line per problem."""


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter: its name, default value and the type that default has."""

    name: str
    default: Any
    kind: type


def declared_parameters(notebook: str | Path) -> dict[str, ParameterSpec]:
    """The parameters a notebook's `parameters` cell declares (top-level `name = value` lines), typed by their
    default values.

    Read with Python's own parser rather than papermill's line patterns, which skip a line whose comment holds
    an `=` (e.g. `n = 5  # 0 = all`) and so would make that parameter impossible to override.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    specs = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            default = ast.get_source_segment(cell.source, value)  # an expression: only text overrides fit it
        specs[name] = ParameterSpec(name, default, type(default))
    return specs


def coerce_parameters(
    declared: dict[str, dict[str, ParameterSpec]], overrides: dict[str, Any]
) -> dict[str, Any]:
    """Overrides converted to each parameter's declared type; unknown names and bad values raise ParameterError.

    `declared` maps notebook name to its parameters. Text values (as typed on the command line) are parsed
    into the declared type: `3` for an int, `0.5` for a float, `true`/`false` for a bool.
    """
    problems: list[str] = []
    coerced: dict[str, Any] = {}
    for name, value in overrides.items():
        specs = {nb: p[name] for nb, p in declared.items() if name in p}
        if not specs:
            known = sorted({n for p in declared.values() for n in p})
            problems.append(f"parameter {name!r} is not declared by any notebook (known: {', '.join(known)})")
            continue
        # int first: an int serves a notebook declaring 3.0 as well, while a float breaks one indexing with 3
        kinds = sorted({spec.kind for spec in specs.values()}, key=lambda kind: (kind is not int, kind.__name__))
        try:
            converted = [_convert(value, kind) for kind in kinds]
        except (TypeError, ValueError, SyntaxError):
            wanted = " or ".join(sorted(k.__name__ for k in kinds))
            where = ", ".join(sorted(specs))
            problems.append(f"parameter {name!r} expects {wanted} (declared in {where}), got {value!r}")
            continue
        # Notebooks declaring it with different types (3 and 3.0) get the first (the int); the values are equal.
        coerced[name] = converted[0]
    if problems:
        raise ParameterError(problems)
    return coerced


def _convert(value: Any, kind: type) -> Any:
    """`value` as `kind`, parsing text; raises ValueError/TypeError when it does not fit."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            return int(value.strip())
        raise TypeError(value)
    if kind is float:
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
        raise TypeError(value)
    if kind is str:
        if isinstance(value, str):
            return value
        raise TypeError(value)
    if kind is type(None):
        return value
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        parsed = ast.literal_eval(value)
        if isinstance(parsed, kind):
            return parsed
    raise TypeError(value)
