"""Features: per-customer snapshots (DuckDB, or Ibis on other engines) and the tables a suite run shares
between notebooks.
"""
