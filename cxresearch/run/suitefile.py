"""Suite files: a YAML file naming which notebooks run, with which parameters, on which data source.

    name: weekly-executive            # required; runs go to <out>/<name>/<run-id>, with their own `latest`
    description: For the Monday brief # optional, free text
    data: demo                        # required; anything `--data` accepts
    notebooks: [02_churn_drivers]     # optional; all notebooks when absent; the executive summary is always added
    parameters: {n_boot: 100}         # optional; checked against the notebooks' parameters cells
    jobs: 2                           # optional (2, 1 on one core); notebooks run in parallel
    keep: 12                          # optional; keep only the newest N runs of this suite
    out: ../reports                   # optional (reports); the reports root
    notebooks_dir: ../notebooks       # optional (notebooks)

Relative paths in the file (`data`, `out`, `notebooks_dir`) are relative to the suite file's directory, so a
suite runs the same from any working directory (cron, CI); `demo` keeps its command-line meaning. Keys left
out take the command line's defaults, relative to the working directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxresearch.data.sources import resolve
from cxresearch.errors import ProblemsError
from cxresearch.run.parameters import ParameterError, coerce_parameters, declared_parameters

#: Keys a suite file may have, and whether each is required.
KEYS = {
    "name": True, "description": False, "data": True, "notebooks": False, "parameters": False,
    "jobs": False, "keep": False, "out": False, "notebooks_dir": False,
}

#: Suite names become directory names: keep them portable.
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")

#: Mirrors `cxresearch.run.suite`: added to every suite, and the parameters the suite sets itself.
_EXECUTIVE_SUMMARY = "00_executive_summary"
_RESERVED = ("data_source", "results_dir", "previous_results_dir")


#: Records one problem: (key, message).
_Report = Callable[[str, str], None]


class SuiteFileError(ProblemsError):
    """A suite file that cannot run as written; one line per problem."""


@dataclass(frozen=True)
class SuiteFile:
    """A validated suite file: paths resolved, notebooks known, parameters converted to their declared types."""

    path: Path
    name: str
    data: str
    notebooks: list[str]
    notebooks_dir: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    jobs: int | None = None
    keep: int | None = None
    out: Path | None = None

    def reports_dir(self, out: Path) -> Path:
        """Where this suite's runs go under the reports root `out`: `<out>/<name>`."""
        return Path(out) / self.name


class _Loader(yaml.SafeLoader):
    """Safe YAML without timestamps: `as_of: 2024-06-30` stays the text the notebooks expect."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_suite(path: str | Path, notebooks_dir: str | Path | None = None) -> SuiteFile:
    """Read and check a suite file without running anything; raises SuiteFileError listing every problem.

    `notebooks_dir` (e.g. from `--notebooks-dir`) replaces the file's own; the data source is only checked
    for form here (loading it is the caller's, as for `--data`).
    """
    path = Path(path)
    doc = _read_yaml(path)
    base = path.resolve().parent
    problems: list[str] = []

    def problem(key: str, message: str) -> None:
        problems.append(f"{path}: {key}: {message}")

    for key in sorted(str(key) for key in doc if key not in KEYS):
        problem(key, f"unknown key (known: {', '.join(KEYS)})")
    for key in (k for k, required in KEYS.items() if required and k not in doc):
        problem(key, "required")

    name = doc.get("name")
    if "name" in doc and not (isinstance(name, str) and _NAME.fullmatch(name)):
        problem("name", f"must be lower-case letters, digits, '-' or '_' (it names a directory), got {name!r}")
    description = doc.get("description", "")
    if not isinstance(description, str):
        problem("description", f"must be text, got {description!r}")
    data = doc.get("data")
    if "data" in doc and not (isinstance(data, str) and data.strip()):
        problem("data", f"must be a data source string (a directory, a mapping .yaml, demo or ADAPTER:ARGUMENT), "
                f"got {data!r}")
    jobs, keep = doc.get("jobs"), doc.get("keep")
    for key, value in (("jobs", jobs), ("keep", keep)):
        if key in doc and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            problem(key, f"must be a whole number of at least 1, got {value!r}")
    paths = {}
    for key in ("out", "notebooks_dir"):
        if key in doc:
            if isinstance(doc[key], str) and doc[key].strip():
                paths[key] = (base / Path(doc[key]).expanduser()).resolve()
            else:
                problem(key, f"must be a path, got {doc[key]!r}")
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir is not None else paths.get(
        "notebooks_dir", Path("notebooks").resolve())
    notebooks = _check_notebooks(doc.get("notebooks"), "notebooks" in doc, nb_dir, problem)
    parameters = _check_parameters(doc.get("parameters", {}), notebooks, nb_dir, problem)

    if problems:
        raise SuiteFileError(problems)
    return SuiteFile(
        path=path.resolve(), name=name, data=data if data == "demo" else resolve(data, cwd=base),
        notebooks=notebooks, notebooks_dir=nb_dir, parameters=parameters, description=description,
        jobs=jobs, keep=keep, out=paths.get("out"),
    )


def _read_yaml(path: Path) -> dict:
    """The file's top-level mapping; unreadable, malformed or non-mapping files raise SuiteFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SuiteFileError([f"{path}: cannot read suite file ({err.strerror or err})"]) from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise SuiteFileError([f"{path}: not valid YAML{line}: {getattr(err, 'problem', None) or err}"]) from None
    if not isinstance(doc, dict):
        raise SuiteFileError([f"{path}: a suite file is a mapping of keys (name, data, notebooks, ...), "
                              f"got {type(doc).__name__}"])
    return doc


def _check_notebooks(value: Any, given: bool, nb_dir: Path, problem: _Report) -> list[str] | None:
    """Notebook names to run (executive summary added), or None when they cannot be determined."""
    if not nb_dir.is_dir():
        problem("notebooks_dir", f"no such directory: {nb_dir}")
        return None
    available = sorted(p.stem for p in nb_dir.glob("*.ipynb"))
    if not given:
        return available
    if not (isinstance(value, list) and value and all(isinstance(item, str) for item in value)):
        problem("notebooks", f"must be a non-empty list of notebook names, got {value!r}")
        return None
    names = list(dict.fromkeys(item.removesuffix(".ipynb") for item in value))
    unknown = [name for name in names if name not in available]
    if unknown:
        problem("notebooks", f"unknown notebook(s) {', '.join(unknown)} (in {nb_dir}: {', '.join(available)})")
        return None
    # The executive summary is the run's front page: a suite always has one.
    return names if _EXECUTIVE_SUMMARY in names or _EXECUTIVE_SUMMARY not in available else [
        *names, _EXECUTIVE_SUMMARY]


def _check_parameters(
    value: Any, notebooks: list[str] | None, nb_dir: Path, problem: _Report
) -> dict[str, Any]:
    """Parameters converted to their declared types; problems are reported per parameter."""
    if not isinstance(value, dict):
        problem("parameters", f"must be a mapping of name: value, got {value!r}")
        return {}
    usable = {}
    for key, item in value.items():
        if key in _RESERVED:
            problem("parameters", f"{key!r} is set by the suite for each run, not by a suite file")
        elif isinstance(item, (dict, list)):
            problem("parameters", f"{key!r} must be a single value, got {item!r}")
        else:
            usable[str(key)] = item
    if notebooks is None or not usable:
        return usable
    declared = {name: declared_parameters(nb_dir / f"{name}.ipynb") for name in notebooks}
    try:
        return coerce_parameters(declared, usable)
    except ParameterError as err:
        for line in err.problems:
            problem("parameters", line.removeprefix("parameter "))
        return usable
