"""Warm kernels: forked from one server per run, same results as cold kernels, gone when their launcher is."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from cxresearch.run.kernel import execute_notebook, kernel_manager
from cxresearch.run.suite import run_suite
from cxresearch.run.warm import notebook_imports, warm_kernels

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"
NOTEBOOKS = ["10_alpha", "20_beta", "00_executive_summary"]


def _results(run_dir: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "results").glob("*.json"))}


@pytest.fixture(scope="module")
def warm_and_cold(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict], dict[str, dict]]:
    """The fixture suite's results with warm kernels on two jobs, and with cold kernels one at a time."""
    data = tmp_path_factory.mktemp("data")
    (data / "base.txt").write_text("7")
    runs = []
    for warm, jobs in ((True, 2), (False, 1)):
        out = tmp_path_factory.mktemp("reports")
        run = run_suite(str(data), out_dir=out, notebooks_dir=FIXTURES, jobs=jobs, notebooks=NOTEBOOKS, warm=warm)
        assert run.status == "ok", [nb.error for nb in run.notebooks]
        runs.append(_results(run.run_dir))
    return runs[0], runs[1]


def test_warm_kernels_are_forked_from_one_server(warm_and_cold: tuple[dict, dict]) -> None:
    warm, _ = warm_and_cold
    alpha, beta = warm["10_alpha"], warm["20_beta"]
    assert alpha["worker_pid"] != beta["worker_pid"]  # two workers ...
    assert alpha["kernel_parent"] == beta["kernel_parent"]  # ... whose kernels share a parent: the server
    assert alpha["kernel_parent"] not in (alpha["worker_pid"], beta["worker_pid"])


def test_cold_kernels_are_started_by_their_worker(warm_and_cold: tuple[dict, dict]) -> None:
    _, cold = warm_and_cold
    assert cold["10_alpha"]["kernel_parent"] == cold["10_alpha"]["worker_pid"]


def test_warm_parallel_and_cold_serial_runs_agree(warm_and_cold: tuple[dict, dict]) -> None:
    warm, cold = warm_and_cold
    for name in ("10_alpha", "20_beta"):
        assert (warm[name]["value"], warm[name]["has_multiplier"]) == (cold[name]["value"], cold[name]["has_multiplier"])
    assert warm["10_alpha"]["value"] == 14 and warm["20_beta"]["value"] == 100
    # The executive summary ran after both analyses in either mode.
    assert warm["00_executive_summary"] == cold["00_executive_summary"] == {"total": 114, "inputs": ["10_alpha", "20_beta"]}


def test_notebook_imports_lists_what_the_code_cells_import() -> None:
    modules = notebook_imports([ROOT / "notebooks" / "01_data_audit.ipynb", FIXTURES / "10_alpha.ipynb"])
    assert {"cxresearch.report.nbtools", "cxresearch.data.audit", "cxresearch.report", "json", "pathlib.Path"} <= set(modules)
    assert not [name for name in modules if name.startswith(".")]


def test_without_a_server_the_launcher_starts_a_cold_kernel(tmp_path: Path) -> None:
    out = tmp_path / "results"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "base.txt").write_text("5")
    parameters = {"data_source": str(tmp_path / "data"), "results_dir": str(out)}
    execute_notebook(FIXTURES / "10_alpha.ipynb", tmp_path / "out.ipynb", parameters, FIXTURES,
                     warm_socket=str(tmp_path / "no-server.sock"))
    alpha = json.loads((out / "10_alpha.json").read_text())
    # The launcher exec'd the kernel itself, so this process started it.
    assert alpha["value"] == 10 and alpha["kernel_parent"] == os.getpid()


async def _kernel_pid(warm_socket: str) -> tuple[object, int]:
    """Start a warm kernel; return its manager and the kernel process's own pid."""
    manager = kernel_manager(warm_socket)(kernel_name="python3")
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    printed: list[str] = []

    def collect(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    await client.execute_interactive("import os; print(os.getpid())", output_hook=collect, timeout=60)
    client.stop_channels()
    return manager, int("".join(printed))


def _gone(pid: int, seconds: float) -> bool:
    """Whether process `pid` has exited within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_killed_launcher_takes_its_kernel_along_and_the_server_stops() -> None:
    with warm_kernels([FIXTURES / "10_alpha.ipynb"], threads=1) as socket_path:
        assert socket_path and Path(socket_path).exists()
        manager, pid = asyncio.run(_kernel_pid(socket_path))
        launcher = manager.provisioner.process
        assert pid != launcher.pid  # a forked kernel, not the launcher itself
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
        assert _gone(pid, 10)
    assert not Path(socket_path).exists()


def test_launcher_is_standard_library_only() -> None:
    source = (ROOT / "cxresearch" / "run" / "warm_launch.py").read_text()
    imported = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= {"__future__", "contextlib", "json", "os", "signal", "socket", "sys"}, imported
