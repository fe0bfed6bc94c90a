"""The package's shape, from an AST scan of cxresearch/ (`tests/import_graph.py`; nothing is imported).

No import cycle between modules (imports inside functions count: a cycle through a function-level import is
still a cycle) and no import of another module's private name. What issue 16 has not removed yet is listed
below, so a new cycle or private import fails and a removed one must be taken off the list.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from import_graph import PACKAGE_DIR, scan

NOTEBOOKS = PACKAGE_DIR.parent / "notebooks"
#: Limits of issue 16: a module a reader can hold in mind, a function that does one named step, a notebook cell
#: that shows one idea (the logic lives in the package).
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_CELL_LINES = 15

#: Cycles left for issue 16's remaining work (each a sorted strongly connected component). Empty: none remain.
ALLOWED_CYCLES: list[list[str]] = []

#: (importer, module, name) private imports left for issue 16's remaining work. Empty: none remain.
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()

GRAPH = scan()


def _modules() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


def _long_functions(path: Path) -> list[str]:
    return _long_functions_in(path, PACKAGE_DIR)


def _long_functions_in(path: Path, root: Path) -> list[str]:
    """`module:function (n lines)` for each function of `path` longer than MAX_FUNCTION_LINES."""
    tree = ast.parse(path.read_text())
    return [f"{path.relative_to(root)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_import_cycle() -> None:
    assert GRAPH.cycles() == ALLOWED_CYCLES


def test_no_private_name_imported_from_another_module() -> None:
    assert GRAPH.private == ALLOWED_PRIVATE


def test_no_flat_module_left_at_the_top() -> None:
    # every module lives in the subpackage of its question; only the package marker and the shared errors stay
    top = sorted(m for m in GRAPH.modules if m.count(".") == 1 and f"{m}.__init__" not in GRAPH.modules)
    packages = {m.split(".")[1] for m in GRAPH.modules if m.count(".") == 2}
    assert [m for m in top if m.split(".")[1] not in packages] == ["cxresearch.errors"]


def test_scan_sees_function_level_imports_and_skips_type_checking(tmp_path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import f\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\n    return a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import x\n"
        "from pkg.sub import _hidden\n"
    )
    (package / "sub" / "d.py").write_text("from pkg.sub import _e\n")
    (package / "sub" / "_e.py").write_text("")
    graph = scan(package)
    assert graph.cycles() == [["pkg.a", "pkg.b"]]
    assert ("pkg.c", "pkg.a") not in graph.edges
    # a private module used inside its own package is fine
    assert graph.private == {("pkg.c", "pkg.sub", "_hidden")}


def test_no_module_over_500_lines() -> None:
    lines = {str(p.relative_to(PACKAGE_DIR)): len(p.read_text().splitlines()) for p in _modules()}
    assert {module: n for module, n in lines.items() if n > MAX_MODULE_LINES} == {}


def test_no_function_over_80_lines() -> None:
    assert [f for p in _modules() for f in _long_functions(p)] == []


def test_no_notebook_code_cell_over_15_lines() -> None:
    long = []
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        # the parameters cell is a list of knobs papermill overrides, not logic: it may be longer
        sizes = [(i, len("".join(c["source"]).splitlines())) for i, c in enumerate(cells)
                 if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
        long += [f"{notebook.name} cell {i}: {n} lines" for i, n in sizes if n > MAX_CELL_LINES]
    assert long == []


def test_size_checks_see_a_long_function(tmp_path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    module = tmp_path / "m.py"
    module.write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n    return 0\n")
    assert [f.split(":")[1] for f in _long_functions_in(module, tmp_path)] == ["long (82 lines)"]



CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".yml", ".yaml", ".toml", ".cfg", ".txt", ".json"}
CHECKED = ("cxresearch", "notebooks", "tests", "docs", "bench", "suites", "examples")


def _conflicted_lines(files: list[Path], root: Path) -> list[str]:
    """`path:line` of every conflict marker a half-done merge left in `files` (text files only)."""
    found = []
    for path in files:
        if path.suffix in TEXT_SUFFIXES:
            lines = path.read_text(errors="replace").splitlines()
            found += [f"{path.relative_to(root)}:{i}" for i, line in enumerate(lines, 1)
                      if line.startswith(CONFLICT_MARKERS)]
    return found


def test_no_merge_conflict_left_in_a_file() -> None:
    repo = PACKAGE_DIR.parent
    files = [p for p in repo.iterdir() if p.is_file()]
    files += [p for top in CHECKED for p in sorted((repo / top).rglob("*")) if p.is_file()]
    assert not _conflicted_lines(files, repo)


def test_the_conflict_check_sees_a_marker(tmp_path) -> None:
    (tmp_path / "notes.md").write_text("text\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> branch\n")
    assert _conflicted_lines([tmp_path / "notes.md"], tmp_path) == ["notes.md:2", "notes.md:6"]


def test_no_two_test_files_share_a_name() -> None:
    # tests/ has no __init__.py, so pytest imports each file by its bare name: a second test_x.py fails collection
    names = [p.name for p in (PACKAGE_DIR.parent / "tests").rglob("test_*.py")]
    assert not sorted({n for n in names if names.count(n) > 1})
