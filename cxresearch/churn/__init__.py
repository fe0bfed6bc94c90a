"""Churn: the churn model (logit), its evaluation and the CX drivers of churn."""
