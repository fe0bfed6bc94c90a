"""The suite runner on tiny fixture notebooks: parameters, failures, HTML, manifest, index and publishing."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from cxresearch.run.kernel import ThisInterpreterKernel, execute_notebook
from cxresearch.run.parameters import ParameterError
from cxresearch.run.runs import SuiteBusyError
from cxresearch.run.suite import SuiteRun, run_suite

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
ANALYSES = ["10_alpha", "20_beta", "30_broken"]
FINGERPRINT = "fp<&>"


@dataclass
class Runs:
    """A successful run followed by a failing one, in the same reports directory."""

    out: Path
    good: SuiteRun
    bad: SuiteRun
    good_messages: list[str]
    bad_messages: list[str]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    data = tmp_path_factory.mktemp("data")
    (data / "base.txt").write_text("7")
    out = tmp_path_factory.mktemp("reports")
    good_messages: list[str] = []
    good = run_suite(
        str(data), out_dir=out, notebooks_dir=FIXTURES, parameters={"multiplier": 3}, jobs=2,
        data_fingerprint=FINGERPRINT, progress=good_messages.append,
        notebooks=["10_alpha", "20_beta", "00_executive_summary"],
    )
    bad_messages: list[str] = []
    bad = run_suite(
        str(data), out_dir=out, notebooks_dir=FIXTURES, parameters={"multiplier": "3"},
        jobs=2, data_fingerprint=FINGERPRINT, progress=bad_messages.append,
    )
    return Runs(out, good, bad, good_messages, bad_messages)


def _results(run: SuiteRun, name: str) -> dict:
    return json.loads((run.run_dir / "results" / f"{name}.json").read_text())


def _html(run: SuiteRun, name: str) -> str:
    return (run.run_dir / "html" / f"{name}.html").read_text()


def test_parameters_are_injected(runs: Runs) -> None:
    assert _results(runs.good, "10_alpha")["value"] == 7 * 3  # base from data_source, multiplier override
    assert _results(runs.good, "20_beta")["value"] == 100
    assert _results(runs.good, "00_executive_summary") == {"total": 121, "inputs": ["10_alpha", "20_beta"]}


def test_overrides_reach_only_notebooks_that_declare_them(runs: Runs) -> None:
    beta = next(nb for nb in runs.bad.notebooks if nb.name == "20_beta")
    assert beta.parameters == ["data_source", "results_dir", "seed"]
    assert _results(runs.bad, "20_beta")["has_multiplier"] is False
    assert _results(runs.bad, "10_alpha")["has_multiplier"] is True
    executed = nbformat.read(runs.bad.run_dir / "notebooks" / "20_beta.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "multiplier" not in injected.source


def test_success_publishes_and_moves_latest(runs: Runs) -> None:
    assert runs.good.exit_code == 0 and runs.good.status == "ok"
    assert {nb.status for nb in runs.good.notebooks} == {"ok"}
    latest = runs.out / "latest"
    assert os.readlink(latest) == runs.good.run_id  # relative link
    assert latest.resolve() == runs.good.run_dir.resolve()


def test_failure_is_published_but_latest_stays(runs: Runs) -> None:
    assert runs.bad.exit_code == 1 and runs.bad.status == "failed"
    assert runs.bad.run_dir.is_dir() and runs.bad.run_id > runs.good.run_id
    assert os.readlink(runs.out / "latest") == runs.good.run_id
    statuses = {nb.name: nb.status for nb in runs.bad.notebooks}
    assert statuses == {
        "10_alpha": "ok", "20_beta": "ok", "30_broken": "failed", "00_executive_summary": "ok",
    }
    broken = next(nb for nb in runs.bad.notebooks if nb.name == "30_broken")
    assert broken.error is not None and broken.error.startswith("ValueError: boom (cell")
    assert broken.results_path is None
    assert "boom" in _html(runs.bad, "30_broken")
    assert "before the failure" in _html(runs.bad, "30_broken")


def test_manifest(runs: Runs) -> None:
    manifest = json.loads((runs.bad.run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == runs.bad.run_id
    assert manifest["status"] == "failed" and manifest["exit_code"] == 1
    assert manifest["data_fingerprint"] == FINGERPRINT and Path(manifest["data_source"]).is_absolute()
    assert manifest["parameters"] == {"seed": 0, "as_of": "", "multiplier": 3}  # text "3" became the int 3
    assert {"python", "cxresearch", "pandas", "numpy", "papermill"} <= set(manifest["versions"])
    assert [nb["name"] for nb in manifest["notebooks"]] == [*ANALYSES, "00_executive_summary"]
    for nb in manifest["notebooks"]:
        for key in ("notebook_path", "html_path", "results_path"):
            if nb[key] is not None:
                assert not Path(nb[key]).is_absolute()
                assert (runs.bad.run_dir / nb[key]).is_file()
        assert nb["notebook_path"] and nb["html_path"]
        assert (nb["error"] is None) == (nb["status"] == "ok")


def test_executive_html_has_no_code(runs: Runs) -> None:
    executive = _html(runs.good, "00_executive_summary")
    assert "Executive summary fixture" in executive  # markdown
    assert "Total value: 121 from 2 notebooks" in executive  # output
    assert "total_marker_expression" not in executive  # code
    assert "PLUMBING_OUTPUT_MARKER" not in executive  # remove-cell
    researcher = _html(runs.good, "10_alpha")
    assert "multiplier" in researcher
    code_and_prompts = ('class="jp-CodeMirrorEditor', 'class="jp-InputPrompt', 'class="jp-OutputPrompt')
    for element in code_and_prompts:
        assert element not in executive and element in researcher  # code cells and prompts


def test_index_links_everything(runs: Runs) -> None:
    index = (runs.bad.run_dir / "index.html").read_text()
    for nb in runs.bad.notebooks:
        assert f'href="{nb.html_path}"' in index
    assert index.index("html/00_executive_summary.html") < index.index("html/10_alpha.html")
    assert runs.bad.run_id in index and "ValueError: boom" in index
    assert "fp&lt;&amp;&gt;" in index and FINGERPRINT not in index
    assert "<link" not in index and "<script" not in index  # self-contained


def test_jobs_run_in_parallel(runs: Runs) -> None:
    alpha, beta = _results(runs.good, "10_alpha"), _results(runs.good, "20_beta")
    assert alpha["worker_pid"] != beta["worker_pid"]
    assert alpha["start"] < beta["end"] and beta["start"] < alpha["end"]


def test_progress_lines(runs: Runs) -> None:
    lines = [m for m in runs.bad_messages if m.startswith("[")]
    assert len(lines) == 4 and lines[-1].startswith("[4/4] 00_executive_summary ok (")
    assert all(re.match(r"\[\d/4\] \w+ (ok|failed) \(\d+\.\d s\)", line) for line in lines)
    broken = [line for line in lines if re.match(r"\[[123]/4\] 30_broken failed", line)]
    assert len(broken) == 1 and "ValueError: boom" in broken[0]


def test_nothing_temporary_left(runs: Runs) -> None:
    leftovers = [p.name for p in runs.out.iterdir() if p.name.startswith(".") and p.name != ".lock"]
    assert leftovers == []
    assert sorted(p.name for p in runs.out.iterdir()) == sorted([".lock", runs.good.run_id, runs.bad.run_id, "latest"])


def test_interrupt_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base.txt").write_text("1")
    out = tmp_path / "reports"

    def interrupt(message: str) -> None:
        if message.startswith("[1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(str(tmp_path / "data"), out_dir=out, notebooks_dir=FIXTURES, jobs=2, progress=interrupt,
                  notebooks=["10_alpha", "20_beta", "00_executive_summary"])
    assert [p.name for p in out.iterdir()] == [".lock"]


def test_sigterm_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base.txt").write_text("1")
    out = tmp_path / "reports"

    def terminate(message: str) -> None:
        if message.startswith("[1/"):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        run_suite(str(tmp_path / "data"), out_dir=out, notebooks_dir=FIXTURES, jobs=2, progress=terminate,
                  notebooks=["10_alpha", "20_beta", "00_executive_summary"])
    assert [p.name for p in out.iterdir()] == [".lock"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_parameters_are_checked_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as err:
        run_suite("data", out_dir=tmp_path / "r", notebooks_dir=FIXTURES,
                  parameters={"unknown_knob": 5, "multiplier": "three", "seed": "1.5"})
    assert len(err.value.problems) == 3
    assert "'unknown_knob' is not declared" in err.value.problems[0]
    assert "'multiplier' expects int" in err.value.problems[1]
    assert not (tmp_path / "r").exists()


def test_a_second_run_refuses_while_one_is_in_progress(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    with open(out / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(SuiteBusyError, match="in progress"):
            run_suite("data", out_dir=out, notebooks_dir=FIXTURES, notebooks=["20_beta"])
    assert [p.name for p in out.iterdir()] == [".lock"]


def test_keep_prunes_old_runs_but_not_latest(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base.txt").write_text("1")
    out = tmp_path / "reports"
    for old in ("20200101-000000-aaaaaa", "20200102-000000-bbbbbb", "20200103-000000-cccccc"):
        (out / old).mkdir(parents=True)
    run = run_suite(str(tmp_path / "data"), out_dir=out, notebooks_dir=FIXTURES, notebooks=["20_beta"], keep=2)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(
        ["20200103-000000-cccccc", run.run_id, "latest"]
    )


def test_bad_arguments_fail_before_running(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="results_dir"):
        run_suite("data", out_dir=tmp_path, notebooks_dir=FIXTURES, parameters={"results_dir": "x"})
    with pytest.raises(FileNotFoundError, match="99_missing"):
        run_suite("data", out_dir=tmp_path, notebooks_dir=FIXTURES, notebooks=["99_missing"])
    with pytest.raises(ValueError, match="jobs"):
        run_suite("data", out_dir=tmp_path, notebooks_dir=FIXTURES, jobs=0)
    assert list(tmp_path.iterdir()) == []


def test_kernel_is_this_interpreter() -> None:
    assert ThisInterpreterKernel(kernel_name="python3").kernel_spec.argv[0] == sys.executable


def _fake_papermill(
    monkeypatch: pytest.MonkeyPatch, outcomes: list[BaseException | None], ran_a_cell: bool
) -> list[dict]:
    """Replace papermill.execute_notebook by one that writes a notebook and raises `outcomes` in turn."""
    import papermill

    calls: list[dict] = []

    def execute_notebook(source: str, output: str, **kwargs: object) -> None:
        calls.append(kwargs)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
        nb.cells[0].metadata["papermill"] = {"start_time": "2024-01-01T00:00:00" if ran_a_cell else None}
        nbformat.write(nb, output)
        outcome = outcomes[len(calls) - 1]
        if outcome is not None:
            raise outcome

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)
    return calls


def test_kernel_start_failure_is_retried_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_papermill(monkeypatch, [RuntimeError("Kernel didn't respond"), None], ran_a_cell=False)
    execute_notebook(FIXTURES / "10_alpha.ipynb", tmp_path / "out.ipynb", {}, FIXTURES)
    assert len(calls) == 2 and calls[0]["kernel_name"] == "python3"

    outcomes = [TimeoutError("start"), TimeoutError("start again")]
    calls = _fake_papermill(monkeypatch, outcomes, ran_a_cell=False)
    with pytest.raises(TimeoutError, match="again"):
        execute_notebook(FIXTURES / "10_alpha.ipynb", tmp_path / "out.ipynb", {}, FIXTURES)
    assert len(calls) == 2


def test_kernel_death_after_cells_ran_is_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_papermill(monkeypatch, [RuntimeError("Kernel died"), None], ran_a_cell=True)
    with pytest.raises(RuntimeError, match="Kernel died"):
        execute_notebook(FIXTURES / "10_alpha.ipynb", tmp_path / "out.ipynb", {}, FIXTURES)
    assert len(calls) == 1
