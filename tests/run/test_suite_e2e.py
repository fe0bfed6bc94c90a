"""End to end: the real notebook suite on a small simulated world, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxresearch import load_run
from cxresearch.report.results import read_results
from cxresearch.run.cli import app

ROOT = Path(__file__).resolve().parents[2]
ANALYSES = ["01_data_audit", "02_churn_drivers", "03_customer_lifetime", "04_loyalty_metrics", "05_retention_economics",
            "06_churn_reasons", "07_lifetime_models", "08_value_at_stake", "09_experiments"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The scheduled command run twice on the same small world: (first run, second run = latest). The first starts
    every kernel from scratch, the second forks them from the warm-kernel server: the results must not differ.
    (Both run two notebooks at a time: with one, each kernel's BLAS uses two threads and sums in another order.)"""
    base = tmp_path_factory.mktemp("e2e")
    runner = CliRunner()
    world = base / "world"
    sim = runner.invoke(app, ["simulate", "--customers", "4000", "--months", "24", "--seed", "11", "--out", str(world)])
    assert sim.exit_code == 0, sim.output
    dirs = []
    for kernels in ("--cold-kernels", "--warm-kernels"):
        result = runner.invoke(
            app,
            ["run", "--data", str(world), "--out", str(base / "reports"), "--jobs", "2", kernels,
             "--notebooks-dir", str(ROOT / "notebooks"), "--param", "n_boot=50"],
        )
        assert result.exit_code == 0, result.output
        latest = base / "reports" / "latest"
        assert latest.is_symlink()
        dirs.append(latest.resolve())
    assert dirs[0] != dirs[1]
    return dirs[0], dirs[1]


@pytest.fixture(scope="module")
def run_dir(two_runs: tuple[Path, Path]) -> Path:
    return two_runs[1]


def test_same_data_and_seed_give_identical_results_files(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    names = sorted(p.name for p in (first / "results").glob("*.json"))
    assert names == sorted(f"{name}.json" for name in ANALYSES)
    for name in names:
        assert (first / "results" / name).read_bytes() == (second / "results" / name).read_bytes(), name


def test_second_run_compares_with_the_first(run_dir: Path) -> None:
    html = (run_dir / "html" / "00_executive_summary.html").read_text()
    assert "What changed since the last run" in html
    assert "no: within noise" in html and "yes: a real change" not in html  # same data, same figures
    assert "nothing to compare with yet" not in html


def test_manifest_lists_every_notebook_ok(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    statuses = {nb["name"]: nb["status"] for nb in manifest["notebooks"]}
    assert statuses == {name: "ok" for name in ["00_executive_summary", *ANALYSES]}
    assert manifest["data"]["fingerprint"] if "data" in manifest else manifest["data_fingerprint"]
    for nb in manifest["notebooks"]:
        for key in ("notebook_path", "html_path", "results_path"):
            if nb.get(key):
                assert (run_dir / nb[key]).exists(), nb[key]


def test_notebooks_share_the_validated_data_and_features(run_dir: Path) -> None:
    shared = run_dir / "shared"
    assert not (shared / "data").exists()  # the validated copy of the source is not kept
    snapshots = {p.name for p in (shared / "features").glob("snapshot-*.parquet")}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    default = [s for s in snapshots if s.endswith(f"-w3-h{manifest['parameters'].get('horizon_months', 3)}.parquet")]
    # The default snapshot the suite wrote, and 02's out-of-time one, cached only because 02 read the shared
    # copy (a notebook that loads its source itself has no feature cache).
    assert len(default) >= 2, sorted(snapshots)


def test_results_carry_numbers_close_to_the_simulated_truth(run_dir: Path) -> None:
    churn = read_results(run_dir / "results" / "02_churn_drivers.json")
    truth = json.loads((run_dir.parents[1] / "world" / "truth.json").read_text())
    # Contract is the strongest driver: the window odds ratio must agree with the true hazard ratio in
    # direction and sit within a factor of 1.6 of it (window ORs approximate HRs when churn is rare).
    for level in ("one_year", "two_year"):
        est = churn.estimates[f"churn_or_contract[{level}]"]
        true_hr = truth["coefficients"][f"contract[{level}]"]["hazard_ratio"]
        assert est.value < 1 and true_hr / 1.6 < est.value < true_hr * 1.6
    assert 1 < churn.estimates["churn_rate_window"].value < 20
    lifetime = read_results(run_dir / "results" / "03_customer_lifetime.json")
    median = lifetime.estimates["median_lifetime_months"]
    assert median.ci_low < median.value < median.ci_high
    loyalty = read_results(run_dir / "results" / "04_loyalty_metrics.json")
    assert -100 <= loyalty.estimates["nps_score"].value <= 100
    economics = read_results(run_dir / "results" / "05_retention_economics.json")
    clv = economics.estimates["clv_per_customer"]
    assert 0 < clv.ci_low < clv.value < clv.ci_high


def test_executive_html_has_no_code_and_every_kpi(run_dir: Path) -> None:
    html = (run_dir / "html" / "00_executive_summary.html").read_text()
    for code_marker in ("load_suite_results", "import ", "nbtools"):
        assert code_marker not in html
    assert "Key figures" in html and "How to read this" in html
    assert html.count("data:image/png;base64") >= 3
    assert "not available in this run" not in html


def test_index_links_every_report(run_dir: Path) -> None:
    index = (run_dir / "index.html").read_text()
    for name in ["00_executive_summary", *ANALYSES]:
        assert f"{name}.html" in index


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_executive_html_in_a_real_browser(run_dir: Path, tmp_path: Path) -> None:
    """It renders offline: no console errors, no requests beyond the file, readable non-overlapping charts."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    page_file = run_dir / "html" / "00_executive_summary.html"
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        console_errors: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        boxes = page.eval_on_selector_all(
            "img", "els => els.map(e => { const r = e.getBoundingClientRect();"
                   " return [e.naturalWidth, e.naturalHeight, r.top + window.scrollY, r.height]; })"
        )
        screenshot = tmp_path / "executive_summary.png"
        page.screenshot(path=str(screenshot), full_page=True)
        text = page.inner_text("body")
        browser.close()
    # One number per question, and no confidence interval on a figure that rests on an assumed input.
    retention = text[text.index("Is retention cheaper than acquisition?"):text.index("What CX writing claims")]
    assert "over the assumed inputs" in text and "CI" not in retention.replace("not a confidence interval", "")
    assert text.count("What goes with churn") == 1 and "not repeated here" in text
    assert requests == [page_file.as_uri()]
    assert console_errors == []
    assert screenshot.stat().st_size > 50_000
    assert len(boxes) >= 4, "the brief shows at least four charts"
    for width, height, _, _ in boxes:
        assert width >= 400 and height >= 200, "a chart is missing or too small to read"
    tops = sorted((top, top + h) for _, _, top, h in boxes)
    assert all(prev_end <= next_top + 1 for (_, prev_end), (next_top, _) in zip(tops, tops[1:])), "charts overlap"


def test_executive_html_has_no_customer_identifiers(run_dir: Path) -> None:
    world = run_dir.parents[1] / "world"
    ids = pd.read_parquet(world / "customers.parquet", columns=["customer_id"])["customer_id"]
    html = (run_dir / "html" / "00_executive_summary.html").read_text()
    assert not any(customer_id in html for customer_id in ids.sample(500, random_state=0))


def test_load_run_brings_back_figures_tables_and_estimates(run_dir: Path) -> None:
    run = load_run("latest", reports_dir=run_dir.parent)
    assert run.run_dir == run_dir
    assert run.manifest["status"] == "ok"
    nps = run.estimate("04_loyalty_metrics", "nps_score")
    assert nps.ci_low < nps.value < nps.ci_high
    assert {"02_churn_drivers", "05_retention_economics"} <= set(run.estimates()["notebook"])
    assert not run.table("02_churn_drivers", "odds_ratios").empty
    pngs = run.figures("03_customer_lifetime")
    assert pngs and all(png.startswith(b"\x89PNG") for png in pngs)
    with pytest.raises(FileNotFoundError, match="available"):
        load_run("19990101-000000-000000", reports_dir=run_dir.parent)
