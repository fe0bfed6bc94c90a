"""Randomised experiments: average effects with CIs, balance and sample-ratio checks, uplift models with
cross-fitting, Qini curves and targeting policies compared by incremental profit, and the Hillstrom e-mail test.
"""
