"""Known truth: what the simulator generated, and how well the analyses recover it."""
