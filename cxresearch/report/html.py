"""HTML for a suite run: executed notebooks rendered with nbconvert, and the self-contained index page."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from cxresearch.run.suite import NotebookRun, SuiteRun

#: Cells carrying this tag are plumbing (imports, loading): executives never see them.
REMOVE_TAG = "remove-cell"

_BADGE_COLOURS = {"ok": "#1a7f37", "failed": "#cf222e", "skipped": "#6e7781"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328;
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
.meta { color: #57606a; font-size: .9rem; margin: 0 0 1.5rem; }
.meta dt { float: left; clear: left; width: 9rem; font-weight: 600; }
.meta dd { margin: 0 0 .2rem 9rem; word-break: break-all; }
.exec { display: block; border: 2px solid #0969da; border-radius: 8px; padding: 1rem 1.2rem; margin: 0 0 2rem;
        text-decoration: none; color: inherit; background: #f6f8fa; }
.exec strong { font-size: 1.3rem; color: #0969da; }
.exec.missing { border-color: #d0d7de; color: #57606a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; color: #fff; font-size: .8rem;
         font-weight: 600; }
.error { color: #cf222e; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .85rem; }
.small { font-size: .85rem; color: #57606a; }
footer { margin-top: 2rem; }
"""


def render_html(nb_path: str | Path, html_path: str | Path, executive: bool) -> Path:
    """Render an executed notebook to standalone HTML; the executive version: no code, prompts or plumbing.

    Parameters
    ----------
    nb_path
        The executed notebook.
    html_path
        Where to write the page.
    executive
        Whether to write the executive version (no code, prompts, plumbing cells, tracebacks or
        scripts).

    Returns
    -------
    Path
        `html_path`.
    """
    # Imported here: the parent process only writes the index page and should not pay nbconvert's import.
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb_path, html_path = Path(nb_path), Path(html_path)
    exporter = HTMLExporter(template_name="lab")
    if executive:
        # The same switches `jupyter nbconvert --no-input` sets.
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={REMOVE_TAG}), enabled=True)
    notebook = nbformat.read(nb_path, as_version=4)
    if executive:
        _replace_errors(notebook)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": nb_path.stem}})
    if executive:
        # The page must open offline and be safe to e-mail: no scripts (nbconvert's template loads require.js,
        # MathJax and mermaid from a CDN); outputs are HTML and embedded PNGs, which need none.
        body = _SCRIPT.sub("", body)
    html_path.write_text(body, encoding="utf-8")
    return html_path


_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)

#: What executives see instead of a traceback.
EXECUTIVE_ERROR_TEXT = "This part of the report could not be produced in this run; the research reports say why."


def _replace_errors(notebook: NotebookNode) -> None:
    """Swap every error output (a traceback) for one plain sentence."""
    from nbformat.v4 import new_output

    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                new_output("stream", name="stdout", text=EXECUTIVE_ERROR_TEXT) if out.output_type == "error" else out
                for out in cell.outputs
            ]


def _href(path: str) -> str:
    """A relative path as an attribute-safe URL."""
    return html.escape(quote(path), quote=True)


def _badge(status: str) -> str:
    """A coloured status pill."""
    colour = _BADGE_COLOURS.get(status, "#6e7781")
    return f'<span class="badge" style="background:{colour}">{html.escape(status)}</span>'


def _executive_card(nb: NotebookRun | None) -> str:
    """The prominent link to the executive summary (or why there is none)."""
    title = "<strong>Executive summary</strong>"
    if nb is None:
        return f'<div class="exec missing">{title}<br>not part of this run</div>'
    error = f'<div class="error">{html.escape(nb.error)}</div>' if nb.error else ""
    if nb.html_path is None:
        return f'<div class="exec missing">{title} {_badge(nb.status)}{error}</div>'
    return (
        f'<a class="exec" href="{_href(nb.html_path)}">{title} {_badge(nb.status)}<br>'
        f'<span class="small">Key figures from every analysis, without code.</span>{error}</a>'
    )


def _notebook_row(nb: NotebookRun) -> str:
    """One table row: linked name, status, seconds, error, links to the executed notebook and results."""
    name = html.escape(nb.name)
    title = f'<a href="{_href(nb.html_path)}">{name}</a>' if nb.html_path else name
    links = [
        f'<a href="{_href(path)}">{label}</a>'
        for label, path in (("notebook", nb.notebook_path), ("results", nb.results_path))
        if path
    ]
    error = f'<div class="error">{html.escape(nb.error)}</div>' if nb.error else ""
    return (
        f"<tr><td>{title}{error}</td><td>{_badge(nb.status)}</td><td class=\"num\">{nb.seconds:.1f} s</td>"
        f'<td class="small">{" · ".join(links) or "–"}</td></tr>'
    )


def render_index(run: SuiteRun, executive_name: str) -> str:
    """The run's index page: executive summary first, then each notebook's researcher report.

    Parameters
    ----------
    run
        The suite run.
    executive_name
        Name of the executive summary notebook.

    Returns
    -------
    str
        The self-contained HTML page.
    """
    executive = next((nb for nb in run.notebooks if nb.name == executive_name), None)
    rows = "\n".join(_notebook_row(nb) for nb in run.notebooks if nb.name != executive_name)
    ok = sum(nb.status == "ok" for nb in run.notebooks)
    meta = {
        "Status": f"{_badge(run.status)} {ok}/{len(run.notebooks)} notebooks ok",
        "Started": html.escape(f"{run.started} ({run.seconds:.1f} s)"),
        "Data source": html.escape(run.data_source),
        "Fingerprint": html.escape(run.data_fingerprint or "–"),
        "Parameters": html.escape(", ".join(f"{k}={v!r}" for k, v in run.parameters.items()) or "–"),
    }
    meta_html = "\n".join(f"<dt>{key}</dt><dd>{value}</dd>" for key, value in meta.items())
    versions = ", ".join(f"{name} {version or '–'}" for name, version in run.versions.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CX research suite · run {html.escape(run.run_id)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>CX research suite</h1>
<p class="small">Run {html.escape(run.run_id)}</p>
<dl class="meta">
{meta_html}
</dl>
{_executive_card(executive)}
<h2>Analyses (researcher reports, with code)</h2>
<table>
<thead><tr><th>Notebook</th><th>Status</th><th>Time</th><th>Files</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<footer class="small"><a href="manifest.json">manifest.json</a> · {html.escape(versions)}</footer>
</body>
</html>
"""
