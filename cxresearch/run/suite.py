"""Run the notebook suite with papermill, render HTML, write manifest + index and publish the run atomically.

A run works in `<out_dir>/.tmp-<run_id>/` and is renamed to `<out_dir>/<run_id>/` when complete:

    notebooks/<name>.ipynb      executed notebooks (a failed one is kept up to its failing cell)
    html/<name>.html            researcher reports, with code
    html/00_executive_summary.html   the executive version: no code, no prompts, no `remove-cell` cells
    results/<name>.json         what each notebook wrote (the results contract)
    manifest.json               what ran, with which data and parameters, how long, what failed
    index.html                  a self-contained page linking all of the above

`<out_dir>/latest` (a relative symlink) moves to the run only when every notebook succeeded.

Notebooks execute with the notebooks directory as working directory, so they behave exactly as when a
researcher opens them in JupyterLab; every path the suite injects (data_source, results_dir) is absolute.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import platform
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from cxresearch.data.schema import CXData
from cxresearch.data.sources import resolve as resolve_source
from cxresearch.features.shared import write_shared
from cxresearch.report.html import render_html, render_index
from cxresearch.run.kernel import execute_notebook, stderr_to
from cxresearch.run.parameters import coerce_parameters, declared_parameters
from cxresearch.run.runs import point_latest, previous_results, prune_runs, run_lock
from cxresearch.run.warm import THREAD_VARIABLES, warm_kernels

#: Runs last, reads only the other notebooks' results files; rendered without code.
EXECUTIVE_SUMMARY = "00_executive_summary"

#: Parameters the suite sets itself: each run has its own data source argument and results directory.
RESERVED_PARAMETERS = ("data_source", "results_dir", "previous_results_dir", "shared_tables")

#: Defaults passed to every notebook that declares them, so the manifest states them explicitly.
DEFAULT_PARAMETERS: dict[str, Any] = {"seed": 0, "as_of": ""}

#: Notebooks run side by side unless told otherwise: two, or one on a single core.
DEFAULT_JOBS = min(2, os.cpu_count() or 1)

#: Distributions whose versions go into the manifest (besides Python itself).
VERSIONED_PACKAGES = (
    "cxresearch", "pandas", "numpy", "lifelines", "statsmodels", "scikit-learn", "papermill",
)

Status = Literal["ok", "failed", "skipped"]


@dataclass
class NotebookRun:
    """One notebook of a run; paths are relative to the run directory (None when the file does not exist)."""

    name: str
    status: Status
    seconds: float
    notebook_path: str | None
    html_path: str | None
    results_path: str | None
    error: str | None = None
    parameters: list[str] = field(default_factory=list)


@dataclass
class SuiteRun:
    """A whole suite run, as recorded in its manifest."""

    run_id: str
    started: str
    finished: str
    seconds: float
    data_source: str
    data_fingerprint: str
    parameters: dict[str, Any]
    notebooks: list[NotebookRun]
    run_dir: Path
    versions: dict[str, str | None]
    suite: str = ""  # the suite file's name, when the run came from one
    sample: dict = field(default_factory=dict)  # the data's `customer_sample`, when it is a sample of a base

    @property
    def status(self) -> Literal["ok", "failed"]:
        """ok only when every notebook succeeded, else failed."""
        return "ok" if all(nb.status == "ok" for nb in self.notebooks) else "failed"

    @property
    def exit_code(self) -> int:
        """Process exit code: 0 all ok, 1 a notebook failed."""
        return 0 if self.status == "ok" else 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, including status and exit code."""
        extra = {"run_dir": str(self.run_dir), "status": self.status, "exit_code": self.exit_code}
        return {**asdict(self), **extra}


@dataclass(frozen=True)
class _Task:
    """What a worker process needs to execute and render one notebook."""

    name: str
    source: Path
    run_dir: Path
    cwd: Path
    parameters: dict[str, Any]
    executive: bool
    threads: int = 1  # BLAS/OpenMP threads for the notebook's kernel
    warm_socket: str = ""  # the run's warm-kernel server (`run.warm`), '' for cold kernels




def run_suite(
    data_source: str,
    out_dir: str | Path = "reports",
    notebooks_dir: str | Path = "notebooks",
    parameters: dict[str, Any] | None = None,
    jobs: int = DEFAULT_JOBS,
    data_fingerprint: str = "",
    progress: Callable[[str], None] | None = None,
    notebooks: list[str] | None = None,
    keep: int | None = None,
    wait: bool = False,
    suite: str = "",
    data: CXData | None = None,
    warm: bool = True,
) -> SuiteRun:
    """Execute the notebooks (analyses in parallel, executive summary last), render and publish one run.

    `data` is `data_source` already loaded and validated (e.g. by the CLI): it is then shared with every
    notebook as Parquet in the run directory with its default feature snapshot, instead of each notebook
    validating the source and building features again (see `features.shared`).

    Overrides are checked against the notebooks' parameters cells before anything runs (`ParameterError`).
    One run at a time per `out_dir`: a second one waits when `wait`, else raises `SuiteBusyError`. After a
    successful run only the newest `keep` runs are kept (None keeps all; `latest` is never removed).
    With `warm`, kernels are forked from a process that has imported what the notebooks import (`run.warm`)
    instead of each starting Python and importing it again.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if keep is not None and keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    reserved = sorted(set(parameters or {}) & set(RESERVED_PARAMETERS))
    if reserved:
        raise ValueError(f"parameters {reserved} are set by the suite, not by overrides")
    report = progress or (lambda _message: None)
    notebooks_dir = Path(notebooks_dir).resolve()
    names = _select_notebooks(notebooks_dir, notebooks)
    declared = {name: declared_parameters(notebooks_dir / f"{name}.ipynb") for name in names}
    values = {**DEFAULT_PARAMETERS, **coerce_parameters(declared, parameters or {})}
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(out_dir, wait, report), _sigterm_as_interrupt():
        run = _run(data_source, out_dir, notebooks_dir, names, values, jobs, data_fingerprint, report, suite, data,
                   warm)
        if run.status == "ok":
            point_latest(out_dir, run.run_id)
            if keep is not None:
                for old in prune_runs(out_dir, keep):
                    report(f"removed old run {old}")
    return run


def _run(
    data_source: str, out_dir: Path, notebooks_dir: Path, names: list[str], values: dict[str, Any], jobs: int,
    data_fingerprint: str, report: Callable[[str], None], suite: str = "", data: CXData | None = None,
    warm: bool = True,
) -> SuiteRun:
    """Execute, render and move one complete run into `out_dir/<run_id>`; nothing is left behind on failure."""
    started = datetime.now(UTC)
    # Timestamp first so run directories sort chronologically; the suffix keeps same-second runs apart.
    run_id = f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    tmp_dir, run_dir = out_dir / f".tmp-{run_id}", out_dir / run_id
    source = resolve_source(data_source)
    try:
        for sub in ("notebooks", "html", "results"):
            (tmp_dir / sub).mkdir(parents=True)
        injected = {
            **values, "data_source": source, "results_dir": str(tmp_dir / "results"),
            # The executive summary compares its key figures with the last good run on the same data source.
            "previous_results_dir": previous_results(out_dir, source),
        }
        if data is not None:
            # Notebooks declaring `shared_tables` read the validated copy and cached features from there.
            injected["shared_tables"] = str(_share(data, source, tmp_dir / "shared", values, report))
        threads = max(1, (os.cpu_count() or 1) // min(jobs, max(1, len(names) - 1)))
        sources = [notebooks_dir / f"{name}.ipynb" for name in names]
        report(f"run {run_id}: {len(names)} notebooks, {jobs} jobs, data {source}")
        with warm_kernels(sources, threads, tmp_dir / "logs" / "warm-kernels.log") if warm else contextlib.nullcontext("") as warm_socket:
            tasks = [
                _Task(path.stem, path, tmp_dir, notebooks_dir, injected, executive=path.stem == EXECUTIVE_SUMMARY,
                      threads=threads, warm_socket=warm_socket)
                for path in sources
            ]
            runs = _execute_all(tasks, jobs, report)
        finished = datetime.now(UTC)
        run = SuiteRun(
            run_id=run_id,
            started=started.isoformat(timespec="seconds"),
            finished=finished.isoformat(timespec="seconds"),
            seconds=round((finished - started).total_seconds(), 1),
            data_source=source,
            data_fingerprint=data_fingerprint,
            parameters=values,
            notebooks=runs,
            run_dir=run_dir,
            versions=_versions(),
            suite=suite,
            sample=dict(data.metadata.get("customer_sample") or {}) if data is not None else {},
        )
        # Every path inside is relative, so the run directory can be moved, archived or served as is.
        manifest = {key: value for key, value in run.to_dict().items() if key != "run_dir"}
        (tmp_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        (tmp_dir / "index.html").write_text(render_index(run, EXECUTIVE_SUMMARY), encoding="utf-8")
        # The validated copy duplicates the source; the feature tables stay for follow-up work (`load_run`).
        shutil.rmtree(tmp_dir / "shared" / "data", ignore_errors=True)
        os.rename(tmp_dir, run_dir)
    except BaseException:
        # Interrupted or broken: leave nothing half-written behind.
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return run


def _share(
    data: CXData, source: str, directory: Path, values: dict[str, Any], report: Callable[[str], None]
) -> Path:
    """Write the validated data and the default feature snapshot for the notebooks to share; return where."""
    started = time.perf_counter()
    snapshots = []
    if data.shape == "events":
        snapshots.append({
            "as_of": values.get("as_of") or None,
            "window_months": values.get("window_months", 3),
            "horizon_months": values.get("horizon_months", 3),
        })
    write_shared(data, source, directory, snapshots)
    report(f"shared tables: validated data and feature snapshot written once in {time.perf_counter() - started:.1f} s")
    return directory


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (what schedulers send) like Ctrl-C, so an interrupted run cleans up after itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt("terminated (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _select_notebooks(notebooks_dir: Path, requested: list[str] | None) -> list[str]:
    """Notebook names to run, analyses sorted and the executive summary last; missing ones are an error."""
    if requested is None:
        names = [path.stem for path in notebooks_dir.glob("*.ipynb")]
    else:
        names = [name.removesuffix(".ipynb") for name in requested]
        missing = [name for name in names if not (notebooks_dir / f"{name}.ipynb").is_file()]
        if missing:
            raise FileNotFoundError(f"no such notebooks in {notebooks_dir}: {', '.join(missing)}")
    if not names:
        raise FileNotFoundError(f"no notebooks to run in {notebooks_dir}")
    return sorted(set(names), key=lambda name: (name == EXECUTIVE_SUMMARY, name))


def _execute_all(tasks: list[_Task], jobs: int, report: Callable[[str], None]) -> list[NotebookRun]:
    """Analyses on `jobs` worker processes, then the executive summary; results in `tasks` order."""
    analyses = [task for task in tasks if not task.executive]
    executive = [task for task in tasks if task.executive]
    context = multiprocessing.get_context("spawn")  # fork would copy the parent's threads and event loop
    stop = context.Event()
    done: dict[str, NotebookRun] = {}

    def collect(future: Future, task: _Task) -> None:
        """Record a finished notebook and report it."""
        try:
            nb = future.result()
        except BrokenProcessPool:
            partial = _relative(task.run_dir / "notebooks" / f"{task.name}.ipynb", task.run_dir)
            error = "a worker process died (BrokenProcessPool)"
            nb = NotebookRun(task.name, "failed", 0.0, partial, None, None, error)
        done[task.name] = nb
        line = f"[{len(done)}/{len(tasks)}] {nb.name} {nb.status} ({nb.seconds:.1f} s)"
        report(f"{line}: {nb.error}" if nb.error else line)

    workers = max(1, min(jobs, len(analyses)))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(stop,)) as pool:
        try:
            futures = {pool.submit(_execute, task): task for task in analyses}
            for future in as_completed(futures):
                collect(future, futures[future])
            # Reuse a warm worker (papermill and nbconvert already imported) for the summary.
            for task in executive:
                try:
                    future = pool.submit(_execute, task)
                except BrokenProcessPool as err:  # a worker died (e.g. out of memory): still publish the run
                    future = Future()
                    future.set_exception(err)
                collect(future, task)
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [done[task.name] for task in tasks]


#: In each worker process: the parent's stop request, and whether a notebook is executing right now.
_stop: Any = threading.Event()  # replaced by the parent's event in pool workers
_busy = threading.Event()


def _init_worker(stop: Any) -> None:
    """Worker initializer: when the parent gives up, interrupt the running notebook (and so its kernel)."""
    global _stop
    _stop = stop
    # A worker started from a shell's background job inherits SIGINT ignored; the stop request needs it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=_interrupt_when_stopped, daemon=True).start()


def _interrupt_when_stopped() -> None:
    """Once the parent stops, interrupt a busy worker: papermill's `finally` then shuts its kernel down."""
    _stop.wait()
    # Idle workers are left alone: they exit on the pool's shutdown, and killing one while it holds the
    # call queue's lock would block the others forever.
    if _busy.is_set():
        os.kill(os.getpid(), signal.SIGINT)


def _execute(task: _Task) -> NotebookRun:
    """Worker: execute one notebook with papermill and render its HTML, failed or not."""
    _busy.set()
    try:
        if _stop.is_set():  # queued before the parent stopped: do not start it
            return NotebookRun(task.name, "skipped", 0.0, None, None, None, "not started: run stopped")
        return _execute_and_render(task)
    finally:
        _busy.clear()


def _execute_and_render(task: _Task) -> NotebookRun:
    """Execute `task` with papermill, render whatever was executed, and describe the outcome."""
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    output = task.run_dir / "notebooks" / f"{task.name}.ipynb"
    html = task.run_dir / "html" / f"{task.name}.html"
    results = task.run_dir / "results" / f"{task.name}.json"
    passed: dict[str, Any] = {}
    status: Status = "ok"
    error = None
    try:
        declared = declared_parameters(task.source)
        # Only what the notebook declares: papermill would inject unknown names anyway (with a warning).
        passed = {name: value for name, value in task.parameters.items() if name in declared}
        # Notebooks run side by side: one BLAS/OpenMP pool per core each, not one per core per notebook,
        # which oversubscribes the machine (evaluate_claims ran 3x slower with two notebooks on 2 cores).
        for variable in THREAD_VARIABLES:
            os.environ.setdefault(variable, str(task.threads))
        with stderr_to(task.run_dir / "logs" / f"{task.name}.log"):
            execute_notebook(task.source, output, passed, task.cwd, task.warm_socket)
    except PapermillExecutionError as err:
        status, error = "failed", f"{err.ename}: {_first_line(err.evalue)} (cell {err.cell_index})"
    except Exception as err:
        status, error = "failed", _one_line(err)
    if output.exists():
        try:
            render_html(output, html, executive=task.executive)
        except Exception as err:
            status, error = "failed", error or f"HTML rendering failed: {_one_line(err)}"
    return NotebookRun(
        name=task.name,
        status=status,
        seconds=round(time.perf_counter() - started, 1),
        notebook_path=_relative(output, task.run_dir),
        html_path=_relative(html, task.run_dir),
        results_path=_relative(results, task.run_dir),
        error=error,
        parameters=sorted(passed),
    )


def _versions() -> dict[str, str | None]:
    """Python and key package versions (None when a package is not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _relative(path: Path, run_dir: Path) -> str | None:
    """`path` relative to the run directory, or None if it was not written."""
    return path.relative_to(run_dir).as_posix() if path.exists() else None


def _first_line(text: str) -> str:
    """First non-empty line of a possibly multi-line message, shortened for one-line displays."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= 200 else line[:199] + "…"


def _one_line(err: BaseException) -> str:
    """`ExceptionType: first line of message`."""
    message = _first_line(str(err))
    return f"{type(err).__name__}: {message}" if message else type(err).__name__
