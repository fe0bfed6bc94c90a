"""Applying a mapping: read its sources, build the canonical tables and validate them into a `CXData`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from cxresearch.data.mapping.flat import align_flat, churn_period_assumption
from cxresearch.data.mapping.hints import near
from cxresearch.data.mapping.sources import SourceSpec, read_sources
from cxresearch.data.mapping.spec import EXTRA_TABLES, ColumnSpec, Mapping, TableSpec, read_mapping, targets
from cxresearch.data.mapping.values import Build, column_values
from cxresearch.data.schema import REQUIRED_COLUMNS, TABLES, CXData, column_types
from cxresearch.data.validation.checks import check_tables, check_transactions
from cxresearch.data.validation.parse import parse_tables
from cxresearch.data.validation.problems import N_EXAMPLES, DataValidationError, Problem, quote_value
from cxresearch.data.validation.treatments import check_treatments, treatment_warnings


def load_mapping(mapping: Mapping | str | Path, frames: dict[str, pd.DataFrame] | None = None) -> CXData:
    """Read a mapping's sources, build and validate the canonical tables; raises DataValidationError.

    `frames` supplies sources already in memory (by source name), e.g. from an adapter.

    Parameters
    ----------
    mapping
        A parsed `Mapping`, or the path of a mapping file.
    frames
        Sources already in memory, by source name.

    Returns
    -------
    CXData
        The validated canonical data, with the mapping's notes and assumptions in `metadata`.
    """
    if not isinstance(mapping, Mapping):
        mapping = read_mapping(mapping)
    build = Build(mapping.sources)
    problems = build.problems
    loaded = read_sources(mapping.sources, mapping.base_dir, frames or {}, problems, mapping.databases)
    raw, origins = _build_tables(mapping, loaded, build)
    if problems:
        raise DataValidationError(problems)
    observed_from = mapping.observed_from
    if mapping.shape == "flat":
        raw["customers"], observed_from = align_flat(raw["customers"], mapping, origins, build)
        if problems:
            raise DataValidationError(problems)
    elif "end_date" not in raw["customers"]:  # nobody seen leaving, e.g. non-contractual purchases
        raw["customers"]["end_date"] = pd.Series(pd.NaT, index=raw["customers"].index, dtype="datetime64[ns]")
    canonical = {t: raw[t] for t in TABLES}
    typed, parse_problems, unparsed = parse_tables(canonical)
    observed_until = mapping.as_of if mapping.as_of is not None else _latest(typed)
    problems += parse_problems + check_tables(typed, observed_until, unparsed)
    transactions = None
    if raw["transactions"] is not None:
        transactions, tx_problems = check_transactions(raw["transactions"], typed["customers"])
        problems += tx_problems
    treatments = None
    if raw["treatments"] is not None:
        treatments, tr_problems = check_treatments(raw["treatments"], typed["customers"], observed_until)
        problems += tr_problems
    if problems:
        raise DataValidationError([_with_origin(p, origins) for p in problems])
    warnings = [str(w) for w in treatment_warnings(treatments)] if treatments is not None else []
    metadata = _metadata(mapping, build.notes + warnings, observed_from, observed_until)
    return CXData(
        customers=typed["customers"],
        contacts=typed["contacts"],
        surveys=typed["surveys"],
        observed_until=observed_until,
        name=mapping.name,
        fingerprint=_fingerprint(mapping, loaded),
        metadata=metadata,
        shape=mapping.shape,
        transactions=transactions,
        treatments=treatments,
    )


def _build_tables(
    mapping: Mapping, loaded: dict[str, pd.DataFrame], build: Build
) -> tuple[dict[str, pd.DataFrame | None], dict[tuple[str, str], ColumnSpec]]:
    """Every table's mapped columns (None where a part failed; an empty table when unmapped, no optional table),
    and for each (table, canonical column) the column spec that filled it."""
    raw: dict[str, pd.DataFrame | None] = {}
    origins: dict[tuple[str, str], ColumnSpec] = {}
    for table in (*TABLES, *EXTRA_TABLES):
        parts = []
        for spec in mapping.tables.get(table, []):
            # A table whose source failed to load was reported already; check the others' columns anyway.
            built = _build_table(spec, loaded, build) if set(spec.sources) <= set(loaded) else None
            if built is not None:
                parts.append(built)
                origins.update({(table, c.target): c for c in spec.columns.values()})
        if table in mapping.tables:
            raw[table] = pd.concat(parts, ignore_index=True) if len(parts) == len(mapping.tables[table]) else None
        else:
            raw[table] = None if table in EXTRA_TABLES else _empty(table)
    return raw, origins


def _metadata(
    mapping: Mapping, build_notes: list[str], observed_from: pd.Timestamp | None, observed_until: pd.Timestamp
) -> dict:
    """The mapped data's metadata: source, databases, shape, notes (the mapping's, then the build's), observation start,
    churn period, contacts period, currency and, for flat data, the churn-period assumption."""
    notes = list(mapping.notes)
    if mapping.shape == "flat":
        notes.append(
            "Flat data: one row per customer with no event dates; sign-up dates are derived from tenure and "
            f"aligned at {observed_until.date()}, so only durations (not calendar months) carry information."
        )
    notes += build_notes
    period = mapping.churn_period_months
    return {
        "source": mapping.origin or mapping.name,
        # Where each database is (no secret: passwords live in the environment), for the run's provenance.
        **({"databases": {n: d.describe() for n, d in mapping.databases.items()}} if mapping.databases else {}),
        "shape": mapping.shape,
        "notes": notes,
        **({"observed_from": observed_from.isoformat()} if observed_from is not None else {}),
        # "all" is recorded as None: no period, so no horizon (see `features.flat_snapshot`).
        **({"churn_period_months": None if period == "all" else period} if period is not None else {}),
        **({"contacts_period": mapping.contacts_period} if mapping.contacts_period else {}),
        **({"currency": mapping.currency} if mapping.currency else {}),
        **({"assumptions": [churn_period_assumption(period)]} if mapping.shape == "flat" and period else {}),
    }


def _owners(spec: TableSpec, loaded: dict[str, pd.DataFrame], build: Build) -> dict[str, SourceSpec]:
    """Source column -> the source it is taken from (the first one holding it, as in `_join`)."""
    owners: dict[str, SourceSpec] = {}
    for name in spec.sources:
        for column in loaded[name].columns:
            if name in build.sources:
                owners.setdefault(str(column), build.sources[name])
    return owners


def _build_table(spec: TableSpec, loaded: dict[str, pd.DataFrame], build: Build) -> pd.DataFrame | None:
    """A table's mapped columns (before canonical typing), or None with problems."""
    joined = _join(spec, loaded, build.problems)
    if joined is None:
        return None
    owners = _owners(spec, loaded, build)
    # for customers, a superset of the events shape's columns
    logical = targets(spec.table, "flat", list(spec.columns))
    out = {}
    for target, column in spec.columns.items():
        values = column_values(column, joined, spec, owners, logical.get(target, "str"), build)
        if values is not None:
            out[target] = values
    if len(out) < len(spec.columns):
        return None
    return pd.DataFrame(out, index=joined.index)


def _join(spec: TableSpec, loaded: dict[str, pd.DataFrame], problems: list[Problem]) -> pd.DataFrame | None:
    """The table's sources left-joined on `key` from the first; later duplicates of a column name are dropped."""
    frames = [loaded[name] for name in spec.sources]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    key = spec.join_key
    ok = True
    for name, df in zip(spec.sources, frames, strict=True):
        if key not in df.columns:
            problems.append(
                Problem(f"{spec.key_path}.key", None, 0, [], f"source {name!r} has no column {key!r}" + near(key, df))
            )
            ok = False
    if not ok:
        return None
    joined = frames[0].reset_index(drop=True)
    for name, df in zip(spec.sources[1:], frames[1:], strict=True):
        duplicated = df[key][df[key].duplicated()].dropna().unique()
        if len(duplicated):
            problems.append(
                Problem(f"{spec.key_path}.key", None, len(duplicated),
                        [quote_value(v) for v in duplicated[:N_EXAMPLES]],
                        f"{key!r} repeats in source {name!r}, so joining would duplicate rows")
            )
            ok = False
            continue
        extra = [c for c in df.columns if c == key or c not in joined.columns]
        joined = joined.merge(df[extra], on=key, how="left", validate="many_to_one")
    return joined if ok else None


def _empty(table: str) -> pd.DataFrame:
    """An empty canonical table with its required columns."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in REQUIRED_COLUMNS[table]})


def _latest(typed: dict[str, pd.DataFrame | None]) -> pd.Timestamp | None:
    """The latest date in any table, for event data without `as_of`."""
    dates = [
        df[c].max() for table, df in typed.items() if df is not None
        for c, kind in column_types(table).items()
        if kind == "datetime" and c in df and pd.api.types.is_datetime64_dtype(df[c].dtype)
    ]
    dates = [d for d in dates if not pd.isna(d)]
    return max(dates) if dates else None


def _with_origin(problem: Problem, origins: dict[tuple[str, str], ColumnSpec]) -> Problem:
    """A canonical-table problem, naming the mapping key and source column it came from."""
    spec = origins.get((problem.table, problem.column or ""))
    if spec is None and problem.table == "customers" and problem.column in ("signup_date", "end_date"):
        spec = origins.get(("customers", "tenure" if problem.column == "signup_date" else "churned"))
    if spec is None:
        return problem
    return Problem(problem.table, problem.column, problem.n_rows, problem.examples,
                   f"{problem.message} [mapping {spec.key}: {spec.describe()}]")


def _fingerprint(mapping: Mapping, loaded: dict[str, pd.DataFrame]) -> str:
    """First 16 hex chars of a sha256 over the mapping text and the sources' rows (in any order)."""
    digest = hashlib.sha256(mapping.text.encode() or repr(mapping.tables).encode())
    for name in sorted(loaded):
        df = loaded[name]
        digest.update(name.encode())
        digest.update(",".join(map(str, df.columns)).encode())
        try:
            # Sorted row hashes: the same rows in another order (e.g. from SQL) are the same data.
            digest.update(np.sort(pd.util.hash_pandas_object(df, index=False).to_numpy()).tobytes())
        except TypeError:  # unhashable cells (e.g. lists from a Parquet file)
            digest.update(df.to_csv(index=False).encode())
    return digest.hexdigest()[:16]
