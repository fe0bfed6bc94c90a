"""HTML rendering: the executive version has no code, no tracebacks and no scripts."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cxresearch.report.html import EXECUTIVE_ERROR_TEXT, render_html


def _executed_notebook(path: Path) -> Path:
    nb = new_notebook(cells=[
        new_markdown_cell("# Brief <b>title</b>"),
        new_code_cell("secret_code_marker = 1", outputs=[new_output("stream", name="stdout", text="visible output")]),
        new_code_cell("1 / 0", outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                                    traceback=["Traceback marker line", "ZeroDivisionError"])]),
        new_code_cell("plumbing()", metadata={"tags": ["remove-cell"]},
                      outputs=[new_output("stream", name="stdout", text="plumbing output")]),
    ])
    nbformat.write(nb, path)
    return path


def test_executive_version_hides_code_tracebacks_plumbing_and_scripts(tmp_path: Path) -> None:
    nb = _executed_notebook(tmp_path / "brief.ipynb")
    executive = render_html(nb, tmp_path / "exec.html", executive=True).read_text()
    researcher = render_html(nb, tmp_path / "research.html", executive=False).read_text()
    assert "visible output" in executive and EXECUTIVE_ERROR_TEXT in executive
    for hidden in ("secret_code_marker", "Traceback marker line", "ZeroDivisionError", "plumbing output", "<script"):
        assert hidden not in executive, hidden
    # Nothing that would make the browser fetch: no external src/href, CSS imports or url() references.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//""", executive)
    assert "secret_code_marker" in researcher and "ZeroDivisionError" in researcher
