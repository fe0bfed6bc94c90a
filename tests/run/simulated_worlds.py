"""Small simulated worlds for the command-line tests, written through `cxresearch simulate`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxresearch.run.cli import app


def simulated_world(tmp_path_factory: pytest.TempPathFactory, name: str, customers: int, months: int, seed: int) -> Path:
    """A world of `customers` over `months` (campaigns included) written by the CLI to a fresh directory."""
    out = tmp_path_factory.mktemp(name) / "world"
    result = CliRunner().invoke(app, ["simulate", "--customers", str(customers), "--months", str(months), "--seed",
                                      str(seed), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
