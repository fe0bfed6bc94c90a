"""Loyalty: NPS, CSAT and CES metrics, survey nonresponse, and the evidence table of CX claims."""
