"""Data: the canonical model (schema), loading and validating sources, mappings and adapters, samples of a
dataset, the simulated demo world, and the data audit.
"""
