"""Report: the results-file contract, recording, the executive summary and its figures, HTML rendering and
notebook helpers.
"""
