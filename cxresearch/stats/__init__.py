"""Statistics shared by the analyses: customer samples for large data."""
