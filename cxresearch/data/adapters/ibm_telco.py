"""IBM Telco customer churn, release 11.1.3 (IBM Cognos Analytics sample data): five CSVs joined on Customer ID.

Flat: one row per customer at the end of a quarter. `Churn Label` = the customer left this quarter, so every
customer was active when the quarter began (`churn_period_months: 3`, hence left-truncated lifetimes);
`Tenure in Months` is tenure at the end of the quarter or at churn. The data has no dates: `as_of` is nominal.
"""

from __future__ import annotations

from pathlib import Path

from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import Mapping, parse_mapping_text
from cxresearch.data.schema import CXData

MAPPING = """
name: IBM Telco customer churn 11.1.3
shape: flat
as_of: 2019-09-30          # nominal end of "this quarter" (Q3): the data carries no calendar dates
churn_period_months: 3     # Churn Label: the customer left during this quarter
currency: USD              # IBM's sample of a California telco: charges in US dollars
notes:
  - "The churn flag covers the last 3 months, as IBM's documentation of Churn Label says ('Yes = the
    customer left the company this quarter'): churn_period_months: 3."
  - "Monthly Charge is revenue per month, used as margin: the data has no costs."
  - "Why customers left: Churn Category recoded to end_reason (Competitor -> competitor, Price -> price,
    Attitude and Dissatisfaction -> service, Other -> other), with Churn Reason kept as end_reason_detail.
    Attitude (of the support person or the provider) and Dissatisfaction (network reliability, product and
    service dissatisfaction, support expertise, self-service) both describe the service experience, which CX
    work can change, so both are service. Two Other reasons are exits no retention effort reaches: Moved (46)
    and Deceased (6) -> moved. Other's Don't know (130) and Poor expertise of online support (18) stay other,
    as IBM filed them."
  - "Satisfaction Score separates churners almost perfectly (1-2: all churned, 4-5: none churned): it was
    recorded with the outcome, so read it as a description of who left, not as a predictor."
sources:
  status: Telco_customer_churn_status.csv
  services: Telco_customer_churn_services.csv
customers:
  from: [status, services]
  key: Customer ID
  columns:
    customer_id: Customer ID
    tenure: {column: Tenure in Months, unit: months}
    churned: {column: Churn Label, values: {Yes: true, No: false}}
    monthly_margin: Monthly Charge
    contract:
      column: Contract
      values: {Month-to-Month: month_to_month, One Year: one_year, Two Year: two_year}
    plan: {expr: "coalesce(nullif(\\"Internet Type\\", 'None'), 'No internet')"}
    csat_score: Satisfaction Score
    n_referrals: Number of Referrals
    end_reason:
      expr: "CASE WHEN \\"Churn Reason\\" IN ('Moved', 'Deceased') THEN 'Moved' ELSE \\"Churn Category\\" END"
      values: {Competitor: competitor, Price: price, Attitude: service, Dissatisfaction: service, Other: other,
               Moved: moved}
    end_reason_detail: Churn Reason
"""


def mapping(path: str) -> Mapping:
    """The IBM Telco 11.1.3 mapping for the CSVs in directory `path`."""
    directory = Path(path).expanduser().resolve()
    return parse_mapping_text(MAPPING, directory, origin=f"ibm-telco:{directory}")


def load(path: str) -> CXData:
    """The data as a validated `CXData`."""
    return load_mapping(mapping(path))
