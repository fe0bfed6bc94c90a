"""HTML rendering: the executive version has no code, no tracebacks and no scripts."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cxresearch.report.html import EXECUTIVE_ERROR_TEXT, render_html, render_index
from cxresearch.run.suite import NotebookRun, SuiteRun


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


def _run(notebooks: list[NotebookRun]) -> SuiteRun:
    return SuiteRun(run_id="20250101-000000-abc", started="2025-01-01T00:00:00", finished="2025-01-01T00:01:00",
                    seconds=60.0, data_source="<b>demo</b>", data_fingerprint="f00d", parameters={"seed": 0},
                    notebooks=notebooks, run_dir=Path("."), versions={"cxresearch": "0.1", "pandas": None})


def test_index_links_the_executive_summary_first_and_escapes_everything() -> None:
    brief = NotebookRun("00_executive_summary", "ok", 2.0, "notebooks/00.ipynb", "html/00 summary.html",
                        "results/00.json")
    churn = NotebookRun("02_churn_drivers", "failed", 12.345, "notebooks/02.ipynb", None, None,
                        error="ValueError: <no churners>")
    page = render_index(_run([brief, churn]), "00_executive_summary")
    # the executive card comes before the table and links the page (URL-quoted)
    assert page.index('class="exec"') < page.index("<table>")
    assert 'href="html/00%20summary.html"' in page
    # one row per research notebook (not the summary), its time to 0.1 s, its error escaped, "–" for no files
    rows = re.findall(r"<tr><td>.*?</tr>", page, re.DOTALL)
    assert len(rows) == 1 and "02_churn_drivers" in rows[0] and "12.3 s" in rows[0]
    assert "ValueError: &lt;no churners&gt;" in rows[0] and "<no churners>" not in page
    assert '<a href="notebooks/02.ipynb">notebook</a>' in rows[0]
    # the run failed (one notebook failed): 1 of 2 ok, the data source escaped, a missing version as "–"
    assert "1/2 notebooks ok" in page and ">failed</span>" in page
    assert "&lt;b&gt;demo&lt;/b&gt;" in page and "pandas –" in page and "seed=0" in page


def test_index_without_an_executive_summary_says_so() -> None:
    page = render_index(_run([NotebookRun("01_data_audit", "ok", 1.0, None, None, None)]), "00_executive_summary")
    assert '<div class="exec missing"><strong>Executive summary</strong><br>not part of this run</div>' in page
    assert "2/2" not in page and "1/1 notebooks ok" in page
