"""Report: the results file contract, recording, the executive summary, HTML rendering and notebook helpers."""
