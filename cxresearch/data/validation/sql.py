"""The validation of `checks` and `parse` as DuckDB SQL over the tables where they are (Parquet files, a database):
for customer bases too large to load into pandas.

The same problems as the in-memory path (same messages, row counts and examples: distinct customer ids in row
order, `row N` where the id is missing) for tables whose columns already have their logical types (text, dates,
numbers, booleans: what a Parquet file or a database table holds). A column that needs parsing (dates or numbers
as text, ids as integer codes) raises `NeedsParsing`: such a source is checked in memory, where every value is
parsed and each unparseable one reported. Each table is scanned once for all its per-row checks; examples are
looked up only for the checks that failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from cxresearch.data.schema import (
    DIRECTIONS,
    END_REASONS,
    FLAT_COLUMNS,
    REQUIRED_COLUMNS,
    SCORE_RANGES,
    column_types,
)
from cxresearch.data.validation.checks import DATE_COLUMNS
from cxresearch.data.validation.parse import ID_COLUMNS, MAX_ID_LENGTH
from cxresearch.data.validation.problems import N_EXAMPLES, Problem, near_miss, quote_value

#: DuckDB type names (prefixes) that hold each logical type without parsing.
_TYPES: dict[str, tuple[str, ...]] = {
    "str": ("VARCHAR",),
    "datetime": ("TIMESTAMP", "DATE"),
    "float": ("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER",
              "USMALLINT", "UTINYINT", "HUGEINT"),
    "int": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"),
    "bool": ("BOOLEAN",),
}


class NeedsParsing(Exception):
    """A column's type is not its logical type (e.g. dates as text): the source must be checked in memory."""


@dataclass(frozen=True)
class RowCheck:
    """One per-row check: the column it is about, the SQL condition of a failing row, the message (with
    `{found}`: the first distinct failing values of `found` are named), and whether examples are quoted."""

    column: str
    failing: str
    message: str
    found: str | None = None
    quote: bool = False


def check_relations(con: duckdb.DuckDBPyConnection, observed_until: pd.Timestamp | None,
                    until_label: str | None = None) -> list[Problem]:
    """Every problem in the views `customers`, `contacts` and `surveys` of `con` (each with a `_row` column, the
    0-based row number), as `checks.check_tables` finds them after `parse_tables`; raises NeedsParsing."""
    columns = {t: dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {t}) WHERE column_name <> '_row'").fetchall())
               for t in ("customers", "contacts", "surveys")}
    for table, found in columns.items():
        for name, logical in column_types(table).items():
            if name in found and not found[name].startswith(_TYPES[logical]):
                raise NeedsParsing(f"{table}.{name} is {found[name]}, not {logical}")
    problems: list[Problem] = []
    for table, found in columns.items():
        missing = [c for c in REQUIRED_COLUMNS[table] if c not in found]
        stub = pd.DataFrame(columns=list(found))
        problems += [Problem(table, c, 0, [], "missing required column" + near_miss(c, stub)) for c in missing]
        if table == "customers" and _count(con, "customers", "true") == 0:
            problems.append(Problem(table, None, 0, [], "has no rows"))
        problems += _row_problems(con, table, _row_checks(table, found))
    problems += _event_problems(con, columns)
    if observed_until is not None and not pd.isna(observed_until):
        limit = (pd.Timestamp(observed_until).normalize() + pd.Timedelta(days=1)).isoformat()
        label = until_label or pd.Timestamp(observed_until).date()
        checks = {t: [RowCheck(c, f"{c} >= TIMESTAMP '{limit}'", f"date after the end of observation ({label})")
                      for c in DATE_COLUMNS[t] if c in columns[t]] for t in columns}
        for table, table_checks in checks.items():
            problems += _row_problems(con, table, table_checks)
    return problems


def _row_checks(table: str, found: dict[str, str]) -> list[RowCheck]:
    """The per-row checks of `table` whose columns are present: ids, required values, uniqueness, values."""
    checks = []
    for name in ID_COLUMNS:
        if name in found:
            checks += [
                RowCheck(name, rf"regexp_matches({name}, '^\s|\s$')",
                         "leading or trailing whitespace in id (ids are kept exactly as given)", quote=True),
                RowCheck(name, f"length({name}) > {MAX_ID_LENGTH}", f"id longer than {MAX_ID_LENGTH} characters",
                         quote=True),
            ]
    checks += [RowCheck(c, _missing(c, found[c]), "missing value in required column")
               for c in REQUIRED_COLUMNS[table] if c in found and c != "end_date"]
    if table == "customers" and "customer_id" in found:
        checks.append(RowCheck("customer_id", "customer_id IN (SELECT customer_id FROM customers GROUP BY ALL "
                                              "HAVING count(*) > 1)", "duplicate customer_id"))
    return checks + _value_checks(table, found)


def _value_checks(table: str, found: dict[str, str]) -> list[RowCheck]:
    """Value checks on present values, as `checks._column_checks` (messages naming the values found)."""
    def finite(c: str) -> RowCheck:
        return RowCheck(c, f"isinf({c})", "not a finite number: {found}", c)

    def non_negative(c: str) -> RowCheck:
        return RowCheck(c, f"{c} < 0", "negative value: {found}", c)

    def one_of(c: str, allowed: tuple[str, ...], what: str) -> RowCheck:
        values = ", ".join(f"'{v}'" for v in allowed)
        return RowCheck(c, f"{c} NOT IN ({values})", f"unknown {what} {{found}} (allowed: {', '.join(allowed)})", c)

    wanted = {
        "customers": [finite("monthly_margin"), finite("acquisition_cost"), non_negative("acquisition_cost"),
                      non_negative("n_referrals"),
                      *(non_negative(c) for c in FLAT_COLUMNS if c.endswith("_contacts")),
                      one_of("end_reason", END_REASONS, "end_reason"),
                      *(RowCheck(f"{n}_score", f"{n}_score NOT BETWEEN {lo} AND {hi}",
                                 f"{n.upper()} score outside {lo}-{hi}: {{found}}", f"{n}_score")
                        for n, (lo, hi) in SCORE_RANGES.items()),
                      RowCheck("end_date", "end_date < signup_date", "end_date before signup_date"),
                      RowCheck("end_reason", "end_reason IS NOT NULL AND end_date IS NULL",
                               "end_reason on an active customer (no end_date)")],
        "contacts": [one_of("direction", DIRECTIONS, "direction"), finite("handle_minutes"),
                     non_negative("handle_minutes")],
        "surveys": [one_of("instrument", tuple(SCORE_RANGES), "instrument"),
                    *(RowCheck("score", f"instrument = '{n}' AND score NOT BETWEEN {lo} AND {hi}",
                               f"{n.upper()} score outside {lo}-{hi}") for n, (lo, hi) in SCORE_RANGES.items())],
    }[table]
    present = [c for c in wanted if c.column in found and (c.column != "end_date" or "signup_date" in found)]
    return [c for c in present if c.column != "end_reason" or "end_date" in found or "NOT IN" in c.failing]


def _event_problems(con: duckdb.DuckDBPyConnection, columns: dict[str, dict[str, str]]) -> list[Problem]:
    """Events of unknown customers, before the signup day or after the end day (first row of each id counts)."""
    if not {"customer_id", "signup_date", "end_date"} <= set(columns["customers"]):
        return []
    con.execute("""CREATE OR REPLACE TEMP VIEW known AS
        SELECT customer_id, date_trunc('day', signup_date) AS signup_day,
               date_trunc('day', end_date) + INTERVAL 1 DAY AS after_end_day
        FROM customers WHERE customer_id IS NOT NULL QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY _row) = 1
    """ if _count(con, "customers", "true") != _distinct_ids(con) else """CREATE OR REPLACE TEMP VIEW known AS
        SELECT customer_id, date_trunc('day', signup_date) AS signup_day,
               date_trunc('day', end_date) + INTERVAL 1 DAY AS after_end_day
        FROM customers WHERE customer_id IS NOT NULL""")
    problems = []
    for table in ("contacts", "surveys"):
        if not {"customer_id", "timestamp"} <= set(columns[table]):
            continue
        con.execute(f"""CREATE OR REPLACE TEMP VIEW {table}_known AS
            SELECT e.customer_id, e._row, e.timestamp, k.customer_id IS NOT NULL AS known, k.signup_day,
                   k.after_end_day
            FROM {table} e LEFT JOIN known k USING (customer_id)""")
        problems += _row_problems(con, f"{table}_known", [
            RowCheck("customer_id", "customer_id IS NOT NULL AND NOT known", "customer_id not in customers"),
            RowCheck("timestamp", "known AND timestamp < signup_day", "event before the customer's signup_date"),
            RowCheck("timestamp", "known AND timestamp >= after_end_day", "event after the customer's end_date"),
        ], name=table)
    return problems


def _row_problems(con: duckdb.DuckDBPyConnection, view: str, checks: list[RowCheck],
                  name: str | None = None) -> list[Problem]:
    """One scan of `view` counting each check's failing rows, then a Problem with examples per failed check."""
    if not checks:
        return []
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE coalesce({c.failing}, false))"
                                               for c in checks) + f" FROM {view}").fetchone()
    problems = []
    for check, n in zip(checks, counts, strict=True):
        if n:
            message = check.message
            if check.found is not None:
                values = con.execute(f"SELECT {check.found} FROM {view} WHERE coalesce({check.failing}, false) "
                                     f"GROUP BY ALL ORDER BY min(_row) LIMIT {N_EXAMPLES}").fetchall()
                message = message.format(found=", ".join(quote_value(_plain(v)) for (v,) in values))
            problems.append(Problem(name or view, check.column, int(n), _examples(con, view, check), message))
    return problems


def _examples(con: duckdb.DuckDBPyConnection, view: str, check: RowCheck) -> list[str]:
    """The first distinct customer ids of the failing rows in row order (`row N` where the id is missing), as
    `problems.row_problem` names them."""
    rows = con.execute(f"""SELECT customer_id, min(_row) AS first FROM {view}
        WHERE coalesce({check.failing}, false) GROUP BY customer_id, CASE WHEN customer_id IS NULL THEN _row END
        ORDER BY first LIMIT {N_EXAMPLES}""").fetchall()
    return [(quote_value(cid) if check.quote or len(cid) > 40 else cid) if cid is not None else f"row {row + 1}"
            for cid, row in rows]


def _missing(column: str, data_type: str) -> str:
    """SQL that is true where a value is missing (NaN counts as missing, as in pandas)."""
    return f"({column} IS NULL OR isnan({column}))" if data_type in ("DOUBLE", "FLOAT") else f"{column} IS NULL"


def _plain(value: object) -> object:
    """A value as pandas shows it in a failure case: whole floats stay floats, timestamps as pandas Timestamps."""
    return pd.Timestamp(value) if hasattr(value, "isoformat") else value


def _count(con: duckdb.DuckDBPyConnection, view: str, condition: str) -> int:
    """Rows of `view` where `condition` holds."""
    return int(con.execute(f"SELECT count(*) FROM {view} WHERE {condition}").fetchone()[0])


def _distinct_ids(con: duckdb.DuckDBPyConnection) -> int:
    """Rows of customers, counting each non-null customer_id once (and null ids each)."""
    return int(con.execute("SELECT count(DISTINCT customer_id) + count(*) FILTER (WHERE customer_id IS NULL) "
                           "FROM customers").fetchone()[0])
