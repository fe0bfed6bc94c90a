"""The Hillstrom e-mail experiment (MineThatData 2008): 64,000 customers randomised to a men's e-mail, a women's
e-mail or no e-mail, with visit, conversion and spend over the two weeks after.

One campaign with three arms (mens_email, womens_email, control), not two campaigns: there was one
randomisation into thirds with one shared holdout, so the sample-ratio test is on the three-way split and no
control customer is counted twice. Outcomes are `outcome_visit`, `outcome_conversion` (0/1) and
`outcome_spend` (USD); the pre-assignment traits are `covariate_*` columns of the treatments table.

The file has no dates and nobody is seen leaving. The campaign is placed at a stated placeholder date
(`CAMPAIGN_DATE`; the challenge was published in March 2008) and observation ends two weeks later. The
sign-up date is not known either: the placeholder is the latest date the file allows (newcomers of the past
twelve months: their last purchase, `recency` months before the campaign; everyone else: twelve months
before), so tenures are lower bounds and only the experiment carries information. `monthly_margin` is the past
year's spend (`history`) per month: revenue, the data has no costs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxresearch.data.mapping.apply import load_mapping
from cxresearch.data.mapping.spec import Mapping, parse_mapping_text
from cxresearch.data.schema import CXData
from cxresearch.data.validation.problems import DataValidationError, Problem

FILE = "hillstrom.csv"
CAMPAIGN = "hillstrom_email"
CAMPAIGN_DATE = "2008-03-01"

MAPPING = """
name: Hillstrom e-mail experiment
shape: events
as_of: 2008-03-15          # placeholder: two weeks after the placeholder campaign date (the file has no dates)
currency: USD
notes:
  - "Hillstrom's file has no dates: the e-mail campaign is placed at 2008-03-01 (a placeholder; the challenge
    was published in March 2008) and observation ends two weeks later, the outcome window."
  - "Sign-up dates are placeholders, the latest the file allows (newcomers: the last purchase, recency months
    before the campaign; others: twelve months before): tenures are lower bounds and nobody is seen leaving,
    so lifetime and churn analyses have nothing to work on."
  - "Monthly margin is the past year's spend (history) / 12: revenue, the data has no costs."
  - "One campaign (hillstrom_email) with three randomised arms: mens_email, womens_email and control."
sources:
  hillstrom: {{path: "{path}"}}
customers:
  from: hillstrom
  columns:
    customer_id: customer_id
    signup_date:
      expr: "CASE WHEN newbie = 1 THEN DATE '{date}' - to_months(CAST(recency AS INTEGER))
             ELSE DATE '{date}' - INTERVAL 12 MONTH END"
    monthly_margin: {{expr: "history / 12"}}
    region: {{column: zip_code, values: {{Urban: urban, Surburban: suburban, Rural: rural}}}}
treatments:
  from: hillstrom
  columns:
    customer_id: customer_id
    campaign: {{value: {campaign}}}
    assigned_at: {{value: "{date}"}}
    arm: {{column: segment, values: {{Mens E-Mail: mens_email, Womens E-Mail: womens_email, No E-Mail: control}}}}
    outcome_visit: visit
    outcome_conversion: conversion
    outcome_spend: spend
    covariate_recency: recency
    covariate_history: history
    covariate_mens: mens
    covariate_womens: womens
    covariate_zip_code: {{column: zip_code, values: {{Urban: urban, Surburban: suburban, Rural: rural}}}}
    covariate_newbie: newbie
    covariate_channel: {{column: channel, values: {{Phone: phone, Web: web, Multichannel: multichannel}}}}
"""


def _file(path: str) -> Path:
    """The Hillstrom CSV `path` names: the file itself, or hillstrom.csv in a directory."""
    file = Path(path).expanduser().resolve()
    return file / FILE if file.is_dir() else file


def mapping(path: str) -> Mapping:
    """The Hillstrom mapping for `path` (the CSV, or the directory holding hillstrom.csv)."""
    file = _file(path)
    text = MAPPING.format(path=str(file).replace('"', '\\"'), date=CAMPAIGN_DATE, campaign=CAMPAIGN)
    return parse_mapping_text(text, file.parent, origin=f"hillstrom:{file}")


def load(path: str) -> CXData:
    """The experiment as a validated `CXData`: customers, and the treatments table with outcomes and traits.

    Customer ids are row numbers (1 = the file's first row), as in `cxresearch.experiments.hillstrom`.
    """
    file = _file(path)
    if not file.is_file():
        raise DataValidationError([Problem("sources.hillstrom", None, 0, [], f"file not found: {file}")])
    try:
        raw = pd.read_csv(file)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise DataValidationError([Problem("sources.hillstrom", None, 0, [], f"{file.name}: {err}")]) from None
    raw.insert(0, "customer_id", [str(i) for i in range(1, len(raw) + 1)])
    return load_mapping(mapping(path), frames={"hillstrom": raw})
