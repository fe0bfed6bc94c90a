"""What each notebook writes to its results file: one module and one `record_<notebook>` function per notebook.

The executive summary (`cxresearch.report.executive`) reads these keys, so they are kept stable here rather than
spread over notebook cells. Each function takes the notebook's result objects (None for an analysis that did not run).
"""
