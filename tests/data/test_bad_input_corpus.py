"""A corpus of malformed inputs through the CLI: each is refused (exit 2, one line per problem naming the
table, column and rows, nothing written to reports/, reports/latest untouched) or accepted under a stated,
tested rule.

The table of cases (`CASES`) is the issue's "what each input gets" note: `expect` is the `table.column` (or
`table`, `mapping`, `source`) a problem line must name, or None for accepted inputs, whose `rule` is then
checked on the loaded data.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from test_io import canonical_tables, write_source
from typer.testing import CliRunner

from cxresearch.data.load import load_source
from cxresearch.data.schema import CXData
from cxresearch.run.cli import app

#: A problem line: `table[.column]: ...` (a canonical table, dataset.json or the source itself), or a mapping
#: file's key (`mapping`, `data.sources.NAME`, `as_of`, ...).
PROBLEM_LINE = re.compile(
    r"^(customers|contacts|surveys|transactions|dataset\.json|source|mapping|sources|as_of|observed_from|shape"
    r"|churn_period_months|currency)"
    r"(\.[\w.]+)?: \S"
)


@dataclass(frozen=True)
class Case:
    """One malformed input: how to build it (returns the source string) and what it must get."""

    id: str
    build: Callable[[Path], str]
    expect: str | None  # the table.column a problem line names; None = accepted
    rule: Callable[[CXData], None] | None = None  # for accepted inputs: the cleaning rule, as assertions
    why: str = ""
    says: str = ""  # for refused inputs: text the problem line naming `expect` must contain


# --- builders -------------------------------------------------------------------------------------------


def edited(fmt: str = "csv", **changes: Callable[[pd.DataFrame], object]) -> Callable[[Path], str]:
    """A builder writing the valid world after `changes[table](df)` edits tables in place."""

    def build(root: Path) -> str:
        tables = canonical_tables()
        for table, change in changes.items():
            change(tables[table])
        return str(write_source(root / "src", fmt, tables))

    return build


def setv(column: str, rows: list[int], value: object) -> Callable[[pd.DataFrame], None]:
    """An edit setting `column` to `value` in `rows` (as object, so any value fits)."""

    def change(df: pd.DataFrame) -> None:
        df[column] = df[column].astype(object)
        df.loc[rows, column] = value

    return change


def raw_file(table: str, transform: Callable[[bytes], bytes], fmt: str = "csv") -> Callable[[Path], str]:
    """A builder writing the valid world, then replacing `<table>.<fmt>`'s bytes by `transform(bytes)`."""

    def build(root: Path) -> str:
        source = write_source(root / "src", fmt)
        path = source / f"{table}.{fmt}"
        path.write_bytes(transform(path.read_bytes()))
        return str(source)

    return build


def on_disk(action: Callable[[Path], None]) -> Callable[[Path], str]:
    """A builder writing the valid world as CSV, then doing `action(source_dir)`."""

    def build(root: Path) -> str:
        source = write_source(root / "src", "csv")
        action(source)
        return str(source)

    return build


def replace_with_dir(source: Path) -> None:
    (source / "customers.csv").unlink()
    (source / "customers.csv").mkdir()


def symlink_loop(source: Path) -> None:
    (source / "contacts.csv").unlink()
    (source / "contacts.csv").symlink_to(source / "contacts.csv")


def csv_as_parquet(source: Path) -> None:
    (source / "surveys.csv").rename(source / "surveys.parquet")


def mapping(text: str, files: dict[str, str] | None = None) -> Callable[[Path], str]:
    """A builder writing a mapping YAML (and source files) and returning the mapping's path."""

    def build(root: Path) -> str:
        root.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {}).items():
            (root / name).write_text(content)
        (root / "mapping.yaml").write_text(text)
        return str(root / "mapping.yaml")

    return build


def one_row(df: pd.DataFrame) -> None:
    df.drop(index=df.index[1:], inplace=True)


def no_rows(df: pd.DataFrame) -> None:
    df.drop(index=df.index, inplace=True)


def dup_header(raw: bytes) -> bytes:
    header, rest = raw.split(b"\n", 1)
    lines = [line + b",x" for line in rest.splitlines()]
    return header + b",plan\n" + b"\n".join(lines) + b"\n"


FORMULA = '=HYPERLINK("http://x","y")'
SCRIPT = "<script>alert('x')</script>"
HUGE = "C" * 1_000_000

# --- accepted inputs: the cleaning rules ------------------------------------------------------------------


def rule_bom(data: CXData) -> None:
    assert data.customers["customer_id"].iloc[0] == "C001"  # the BOM is dropped, not part of the first name


def rule_accents(data: CXData) -> None:
    assert data.customers["plan"].iloc[0] == "básico"  # the same text as latin-1 bytes is refused


def rule_pre_1970(data: CXData) -> None:
    assert data.customers["signup_date"].iloc[0] == pd.Timestamp("1965-03-01")  # kept exactly


def rule_negative_margin(data: CXData) -> None:
    assert data.customers["monthly_margin"].iloc[1] == -30.0  # kept: a loss-making customer is real


def rule_formula(data: CXData) -> None:
    # Kept verbatim as text: the suite writes JSON and escaped HTML, no CSV or spreadsheet to run it in.
    assert data.customers["plan"].iloc[0] == FORMULA


def rule_script(data: CXData) -> None:
    assert data.customers["plan"].iloc[0] == SCRIPT  # kept verbatim; every HTML output escapes it
    assert SCRIPT not in escaped_table_html(data.customers[["plan"]])


def rule_huge_text(data: CXData) -> None:
    assert len(data.customers["plan"].iloc[0]) == 1_000_000  # free text is kept whatever its length


def rule_one_row(data: CXData) -> None:
    assert (len(data.customers), len(data.contacts), len(data.surveys)) == (1, 1, 1)


def rule_no_events(data: CXData) -> None:
    assert (len(data.customers), len(data.contacts), len(data.surveys)) == (5, 0, 0)


def rule_case_distinct(data: CXData) -> None:
    # Ids are compared exactly: C002 and c002 are two customers (Salesforce-style ids are case-sensitive).
    assert {"C002", "c002"} <= set(data.customers["customer_id"])


def rule_timezone(data: CXData) -> None:
    assert data.contacts["timestamp"].iloc[0] == pd.Timestamp("2023-02-01 08:30")  # converted to UTC


def rule_integer_floats(data: CXData) -> None:
    assert data.surveys["score"].dtype == "int64" and data.surveys["score"].iloc[0] == 9  # 9.0 is 9


def rule_bool_words(data: CXData) -> None:
    assert data.contacts["resolved_first_contact"].iloc[:3].tolist() == [True, False, True]


def escaped_table_html(df: pd.DataFrame) -> str:
    """The HTML `report.nbtools.table` displays for `df` (what a report would contain)."""
    from cxresearch.report import nbtools

    with patch("IPython.display.display") as display:
        nbtools.table(df)
    return display.call_args.args[0].data


# --- the corpus -----------------------------------------------------------------------------------------

CASES: list[Case] = [
    # file level
    Case("empty-file", raw_file("contacts", lambda b: b""), "contacts"),
    Case("blank-file", raw_file("contacts", lambda b: b"\n\n  \n"), "contacts"),
    # The file is cut within its 5th data row (C003's first contact).
    Case("truncated-mid-row", raw_file("contacts", lambda b: b[: len(b) // 2]), "contacts", says="row 5:"),
    Case(
        "extra-field-in-row",
        raw_file("surveys", lambda b: b + b"C001,2023-05-01,nps,7,x\n"),
        "surveys",
        says="row 11:",
    ),
    Case(
        "unclosed-quote",
        raw_file("customers", lambda b: b.replace(b"C003", b'"C003', 1)),
        "customers",
        says="row 3:",
    ),
    Case(
        "semicolon-delimiter",
        raw_file("customers", lambda b: b.replace(b",", b";")),
        "customers",
        says="separated by semicolons; use commas",
    ),
    Case(
        "tab-delimiter",
        raw_file("surveys", lambda b: b.replace(b",", b"\t")),
        "surveys",
        says="separated by tabs",
    ),
    Case(
        "utf-8-accents",
        edited(customers=setv("plan", [0], "básico")),
        None,
        rule_accents,
        "UTF-8 text is read as such",
    ),
    Case(
        "latin-1-bytes",
        raw_file("customers", lambda b: b.replace(b"basic", "básico".encode("latin-1"))),
        "customers",
    ),
    Case("utf-16", raw_file("contacts", lambda b: b.decode().encode("utf-16")), "contacts"),
    Case("nul-byte", raw_file("contacts", lambda b: b.replace(b"phone", b"ph\x00one", 1)), "contacts"),
    Case(
        "utf-8-bom",
        raw_file("customers", lambda b: b"\xef\xbb\xbf" + b),
        None,
        rule_bom,
        "a UTF-8 byte order mark is dropped",
    ),
    Case("duplicated-header", raw_file("customers", dup_header), "customers"),
    Case("missing-table", on_disk(lambda s: (s / "surveys.csv").unlink()), "surveys"),
    Case(
        "table-in-both-formats",
        on_disk(lambda s: canonical_tables()["contacts"].to_parquet(s / "contacts.parquet")),
        "contacts",
    ),
    Case("parquet-that-is-csv", on_disk(csv_as_parquet), "surveys"),
    Case("truncated-parquet", raw_file("contacts", lambda b: b[: len(b) // 2], fmt="parquet"), "contacts"),
    Case("directory-not-file", on_disk(replace_with_dir), "customers", says="not a regular file"),
    Case("symlink-loop", on_disk(symlink_loop), "contacts", says="not a regular file"),
    Case(
        "dataset-json-broken", on_disk(lambda s: (s / "dataset.json").write_text("{name: x")), "dataset.json"
    ),
    Case("missing-source", lambda root: str(root / "nowhere"), "source"),
    # columns and values
    Case("missing-column", edited(surveys=lambda d: d.drop(columns="score", inplace=True)), "surveys.score"),
    Case(
        "renamed-column",
        edited(contacts=lambda d: d.rename(columns={"direction": "Direction"}, inplace=True)),
        "contacts.direction",
    ),
    Case(
        "mixed-types-score",
        edited(surveys=setv("score", [1, 2], "seven")),
        "surveys.score",
        says="2 rows: not a whole number: 'seven' (e.g. C001, C002)",
    ),
    Case("fractional-score", edited(surveys=setv("score", [0], 9.5)), "surveys.score"),
    Case("score-out-of-range", edited(surveys=setv("score", [0], 11)), "surveys.score"),
    Case("unknown-instrument", edited(surveys=setv("instrument", [0], "NPS")), "surveys.instrument"),
    Case("unknown-direction", edited(contacts=setv("direction", [0], "inbound")), "contacts.direction"),
    Case(
        "bad-boolean",
        edited(contacts=setv("resolved_first_contact", [0], "maybe")),
        "contacts.resolved_first_contact",
    ),
    Case(
        "binary-bools-parquet",
        edited("parquet", contacts=setv("resolved_first_contact", list(range(10)), b"y")),
        "contacts.resolved_first_contact",
        says="not a boolean",
    ),
    Case(
        "non-numeric-margin",
        edited(customers=setv("monthly_margin", [1], "12,50 EUR")),
        "customers.monthly_margin",
    ),
    Case("nan-margin-text", edited(customers=setv("monthly_margin", [1], "NaN")), "customers.monthly_margin"),
    Case(
        "nan-margin-parquet",
        edited("parquet", customers=setv("monthly_margin", [1], np.nan)),
        "customers.monthly_margin",
    ),
    Case("inf-margin", edited(customers=setv("monthly_margin", [1], "inf")), "customers.monthly_margin"),
    Case(
        "overflow-margin", edited(customers=setv("monthly_margin", [1], "1e400")), "customers.monthly_margin"
    ),
    Case(
        "negative-handle-minutes",
        edited(contacts=setv("handle_minutes", [0], -3.0)),
        "contacts.handle_minutes",
    ),
    Case(
        "negative-acquisition-cost",
        edited(customers=lambda d: d.insert(4, "acquisition_cost", [50.0, -1.0, 9.0, 0.0, 3.0])),
        "customers.acquisition_cost",
    ),
    Case("missing-required-value", edited(contacts=setv("channel", [2], None)), "contacts.channel"),
    Case(
        "unparseable-date", edited(customers=setv("signup_date", [0], "05/01/2023")), "customers.signup_date"
    ),
    Case(
        "date-before-1677", edited(customers=setv("signup_date", [0], "1600-01-01")), "customers.signup_date"
    ),
    Case(
        "date-in-future-stated",
        lambda root: str(write_source(root / "src", "csv", dataset={"observed_until": "2023-11-30"})),
        "surveys.timestamp",
    ),
    Case(
        "date-in-future-2099",
        edited(contacts=setv("timestamp", [1], "2099-05-03 14:00")),
        "contacts.timestamp",
        says="date after the end of observation (today, ",
    ),
    Case("end-before-signup", edited(customers=setv("end_date", [3], "2023-03-01")), "customers.end_date"),
    Case("event-before-signup", edited(contacts=setv("timestamp", [4], "2023-02-28")), "contacts.timestamp"),
    Case(
        "events-unknown-customer", edited(contacts=setv("customer_id", [0], "C999")), "contacts.customer_id"
    ),
    Case(
        "duplicate-customer-id", edited(customers=setv("customer_id", [4], "C002")), "customers.customer_id"
    ),
    Case("id-whitespace", edited(customers=setv("customer_id", [2], "C003 ")), "customers.customer_id"),
    Case("id-case-only-in-events", edited(contacts=setv("customer_id", [0], "c001")), "contacts.customer_id"),
    Case(
        "huge-id-1mb",
        edited(customers=setv("customer_id", [0], HUGE)),
        "customers.customer_id",
        says="id longer than 256 characters (e.g. 'CCCC",
    ),
    Case("zero-row-customers", edited(customers=no_rows), "customers"),
    Case(
        "negative-transaction",
        on_disk(
            lambda s: (s / "transactions.csv").write_text(
                "customer_id,timestamp,amount\nC001,2023-02-01,-5\n"
            )
        ),
        "transactions.amount",
    ),
    # mappings
    Case("mapping-yaml-syntax", mapping("sources: {a: x.csv\ncustomers: [\n"), "mapping"),
    Case(
        "mapping-missing-file",
        mapping(
            "shape: flat\nas_of: 2024-06-30\nchurn_period_months: 3\nsources: {crm: nothere.csv}\n"
            "customers:\n  from: crm\n  columns: "
            "{customer_id: id, tenure: {column: t, unit: months}, churned: c, monthly_margin: m}\n"
        ),
        "sources.crm",
    ),
    Case(
        "flat-mapping-without-churn-period",
        mapping(
            "shape: flat\nas_of: 2024-06-30\nsources: {crm: nothere.csv}\n"
            "customers:\n  from: crm\n  columns: "
            "{customer_id: id, tenure: {column: t, unit: months}, churned: c, monthly_margin: m}\n"
        ),
        "churn_period_months",
        says="required for flat data: say what period the churn flag covers",
    ),
    Case(
        "mapping-date-not-iso",
        mapping(
            "shape: flat\nas_of: 31.12.2024\nchurn_period_months: 1\nsources: {crm: nothere.csv}\n"
            "customers:\n  from: crm\n  columns: "
            "{customer_id: id, tenure: {column: t, unit: months}, churned: c, monthly_margin: m}\n"
        ),
        "as_of",
        says="must be a date written YYYY-MM-DD",
    ),
    Case("mapping-not-a-dict", mapping("- just\n- a list\n"), "mapping"),
    # accepted, with their rules
    Case(
        "dates-before-1970",
        edited(customers=setv("signup_date", [0], "1965-03-01")),
        None,
        rule_pre_1970,
        "datetime64[ns] holds 1677-2262; long-standing customers (banks, utilities) predate 1970",
    ),
    Case(
        "negative-margin",
        edited(customers=setv("monthly_margin", [1], -30.0)),
        None,
        rule_negative_margin,
        "a margin is revenue minus cost per month; loss-making customers exist",
    ),
    Case(
        "formula-cell",
        edited(customers=setv("plan", [0], FORMULA)),
        None,
        rule_formula,
        "text kept verbatim; no output is a CSV/spreadsheet",
    ),
    Case(
        "html-in-text",
        edited(customers=setv("plan", [0], SCRIPT)),
        None,
        rule_script,
        "text kept verbatim; HTML outputs escape it",
    ),
    Case(
        "huge-text-1mb",
        edited(customers=setv("plan", [0], "p" * 1_000_000)),
        None,
        rule_huge_text,
        "free text has no length limit (ids do)",
    ),
    Case("one-row-tables", edited(customers=one_row, contacts=one_row, surveys=one_row), None, rule_one_row),
    Case(
        "zero-row-events",
        edited(contacts=no_rows, surveys=no_rows),
        None,
        rule_no_events,
        "no contacts or surveys is a valid, quiet dataset",
    ),
    Case(
        "ids-differ-by-case",
        edited(
            customers=setv("customer_id", [4], "c002"),
            contacts=setv("customer_id", [8, 9], "c002"),
            surveys=setv("customer_id", [8, 9], "c002"),
        ),
        None,
        rule_case_distinct,
        "ids are case-sensitive keys",
    ),
    Case(
        "timezone-offsets",
        edited(contacts=setv("timestamp", [0], "2023-02-01T09:30:00+01:00")),
        None,
        rule_timezone,
        "tz-aware times become UTC",
    ),
    Case("integer-as-float", edited(surveys=setv("score", [0], "9.0")), None, rule_integer_floats),
    Case(
        "boolean-words",
        edited(contacts=setv("resolved_first_contact", [0, 1, 2], ["Yes", "n", "TRUE"])),
        None,
        rule_bool_words,
        "true/false, yes/no, t/f, y/n, 1/0 in any case",
    ),
]

REFUSED = [c for c in CASES if c.expect is not None]
ACCEPTED = [c for c in CASES if c.expect is None]


def test_corpus_is_large_enough() -> None:
    assert len(REFUSED) >= 30 and len(ACCEPTED) >= 10
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A reports directory with one earlier run and `latest` pointing at it."""
    out = tmp_path / "reports"
    (out / "20240101-000000").mkdir(parents=True)
    (out / "20240101-000000" / "index.html").write_text("<p>earlier run</p>")
    (out / "latest").symlink_to("20240101-000000")
    return out


def snapshot(directory: Path) -> dict[str, str]:
    """Every path under `directory` with its content or link target."""
    found = {}
    for path in sorted(directory.rglob("*")):
        key = str(path.relative_to(directory))
        found[key] = (
            f"-> {os.readlink(path)}" if path.is_symlink() else ("dir" if path.is_dir() else path.read_text())
        )
    return found


def assert_refused(output: str, exit_code: int, expect: str, says: str = "") -> None:
    """Exit 2, no traceback, every line a one-line problem (or the closing summary), one naming `expect`."""
    assert exit_code == 2, output
    assert "Traceback" not in output and "Error:" not in output, output
    lines = output.strip().splitlines()
    summary = lines[-1]
    assert "problem(s); nothing was run" in summary, output
    problems = lines[:-1]
    assert problems, output
    for line in problems:
        assert PROBLEM_LINE.match(line), f"not a problem line: {line!r}"
        assert len(line) < 600, f"problem line too long ({len(line)} chars)"
    named = [line for line in problems if line.startswith((f"{expect}:", f"{expect} "))]
    assert named, f"no problem names {expect}: {problems}"
    assert any(says in line for line in named), f"no problem on {expect} says {says!r}: {named}"
    # Problems on rows name them: by customer id or row number.
    for line in named:
        if re.match(r"^\S+: [\d,]+ rows?:", line):
            assert "(e.g. " in line, line


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_bad_input_is_refused_by_validate_and_run(tmp_path: Path, reports: Path, case: Case) -> None:
    source = case.build(tmp_path / "input")
    before = snapshot(reports)
    runner = CliRunner()
    checked = runner.invoke(app, ["validate", source])
    assert_refused(checked.output, checked.exit_code, case.expect, case.says)
    ran = runner.invoke(app, ["run", "--data", source, "--out", str(reports)])
    assert_refused(ran.output, ran.exit_code, case.expect, case.says)
    assert snapshot(reports) == before
    assert os.readlink(reports / "latest") == "20240101-000000"


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_accepted_input_follows_its_rule(tmp_path: Path, case: Case) -> None:
    source = case.build(tmp_path / "input")
    result = CliRunner().invoke(app, ["validate", source])
    assert result.exit_code == 0, result.output
    assert ": valid (" in result.output
    case.rule(load_source(source))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    source = write_source(tmp_path / "src", "csv")
    (source / "contacts.csv").chmod(0)
    result = CliRunner().invoke(app, ["validate", str(source)])
    assert_refused(result.output, result.exit_code, "contacts")


def test_script_in_text_is_escaped_in_say() -> None:
    from cxresearch.report import nbtools

    with patch("IPython.display.display") as display:
        nbtools.say("Largest plan: {}", SCRIPT)
    shown = display.call_args.args[0].data
    assert SCRIPT not in shown and html.escape(SCRIPT) in shown


def test_suite_writes_no_spreadsheet_outputs() -> None:
    # The formula-cell rule relies on this: results are JSON and HTML only. A CSV/Excel export added later
    # must neutralise cells starting with = + - @ (OWASP CSV injection) and update this test.
    package = Path(__file__).resolve().parents[2] / "cxresearch"
    writers = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"\.to_(csv|excel)\(\s*(?!index=False\)\.encode)", path.read_text())
    ]
    # The simulated world's own canonical tables (whole, or appended a chunk at a time), not a report.
    assert sorted(writers) == ["data/simulate.py", "data/simulate_chunks.py"]


def test_one_customer_with_a_million_contacts_validates_quickly(tmp_path: Path) -> None:
    n = 1_000_000
    tables = canonical_tables()
    start = pd.Timestamp("2023-02-01").value
    stamps = pd.to_datetime(np.linspace(start, pd.Timestamp("2023-12-31").value, n).astype("int64"))
    tables["contacts"] = pd.DataFrame(
        {
            "customer_id": "C001",
            "timestamp": stamps,
            "channel": np.where(np.arange(n) % 2, "phone", "chat"),
            "direction": "reactive",
            "handle_minutes": 3.0,
        }
    )
    source = write_source(tmp_path / "src", "csv", tables)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["validate", str(source)])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "1000000" in result.output.replace(",", "")
    assert seconds < 30, f"validate took {seconds:.1f} s"
