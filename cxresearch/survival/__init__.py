"""Survival: lifetime estimators, parametric and time-varying models, and the lifetime report."""
