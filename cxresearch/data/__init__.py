"""Data: the canonical model (schema), loading and validating sources, mappings and adapters, the simulated demo world, and the data audit."""
