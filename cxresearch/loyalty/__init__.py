"""Loyalty: NPS, CSAT and CES metrics (`metrics`) and their breakdowns (`breakdowns`), which answers a report
summarises (`responses`), survey non-response (`nonresponse`), predictive validity of scores (`validity`), and the
evidence table of CX claims: verdict rules and the table (`evidence`), the data the tests run on (`panels`), the
claims (`claims`, `driver_claims`)."""
