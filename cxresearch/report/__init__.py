"""Report: the results-file contract (`results`), recording per notebook (`record`), notebook helpers (`nbtools`),
notebook 04's sections (`loyalty_sections`), HTML rendering (`html`), and the executive summary: its input
(`suite_results`), wording, key figures, findings, CX drivers, retention text, figures, and the page's sections
(`executive`).
"""
