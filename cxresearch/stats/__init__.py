"""Statistics shared by the analyses: estimates and p-values as text, 95% intervals, multiplicity, maximum
likelihood, customer samples.
"""
