"""Validation of the canonical tables: problems (what is reported), parse (typing columns), dates (text dates),
checks (per-table pandera checks, relational checks and transactions)."""
