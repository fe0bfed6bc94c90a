"""The CDNOW purchase log (Fader, Hardie & Lee 2005): the 1997 Q1 cohort's purchases until mid-1998.

Non-contractual: nobody is seen leaving, so `end_date` is empty and there is no `churn` capability; the
purchases are `CXData.transactions` (customer_id, timestamp, quantity, amount: for BG/NBD and Gamma-Gamma via
`cxresearch.data.transactions.rfm_summary(data.transactions, ..., date="timestamp", spend="amount")`). Each
customer's `signup_date` is their first purchase and `monthly_margin` their spend per month since then
(revenue: the data has no costs). The file is read by `cxresearch.data.transactions.read_cdnow`.
"""

from __future__ import annotations

from pathlib import Path

from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import Mapping, parse_mapping_text
from cxresearch.data.schema import CXData
from cxresearch.data.validation.problems import DataValidationError, Problem

MASTER = "CDNOW_master.txt"

MAPPING = """
name: CDNOW purchases ({file})
shape: events
as_of: 1998-06-30          # the end of the purchase log
currency: USD              # CDNOW, a US online CD retailer: spend in US dollars
notes:
  - "Non-contractual purchases: churn is never observed; monthly margin is spend per month since the first
    purchase (revenue, the data has no costs)."
sources:
  purchases: {{path: "{path}", format: whitespace}}   # read by cxresearch.data.transactions.read_cdnow
  buyers:
    sql: >
      SELECT customer_id, min(date) AS first_purchase,
             sum(spend) / greatest(date_diff('day', min(date), DATE '1998-07-01') / 30.4375, 1) AS spend_per_month
      FROM purchases GROUP BY customer_id ORDER BY customer_id
customers:
  from: buyers
  columns:
    customer_id: customer_id
    signup_date: first_purchase
    monthly_margin: spend_per_month
transactions:
  from: purchases
  columns:
    customer_id: customer_id
    timestamp: date
    quantity: quantity
    amount: spend
"""


def _file(path: str) -> Path:
    """The CDNOW file `path` names: the file itself, or CDNOW_master.txt in a directory."""
    file = Path(path).expanduser().resolve()
    return file / MASTER if file.is_dir() else file


def mapping(path: str) -> Mapping:
    """The CDNOW mapping for `path` (a CDNOW text file, or a directory holding CDNOW_master.txt)."""
    file = _file(path)
    text = MAPPING.format(file=file.name, path=str(file).replace('"', '\\"'))
    return parse_mapping_text(text, file.parent, origin=f"cdnow:{file}")


def load(path: str) -> CXData:
    """CDNOW purchases as a validated `CXData` (customers from first purchases, plus transactions)."""
    from cxresearch.data.transactions import read_cdnow

    file = _file(path)
    if not file.is_file():
        raise DataValidationError([Problem("sources.purchases", None, 0, [], f"file not found: {file}")])
    try:
        purchases = read_cdnow(file)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise DataValidationError([Problem("sources.purchases", None, 0, [], f"{file.name}: {err}")]) from None
    return load_mapping(mapping(path), frames={"purchases": purchases})
