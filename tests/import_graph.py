"""The package's import graph from an AST scan (nothing imported): modules, edges, levels, cycles.

Used by `tests/test_layout.py`; `python tests/import_graph.py [PACKAGE_DIR]` prints the figures quoted in
`docs/architecture.md` (default: the `cxresearch/` next to this file).

What counts as an edge A -> B: any `import` / `from ... import` of B in A, at module level or inside a
function (a cycle through a function-level import is still a cycle), except imports under `if TYPE_CHECKING:`
(never executed). Importing `cxresearch.p.m` also runs `cxresearch/p/__init__.py`, so A -> `cxresearch.p` is
an edge too when A is outside `p` (the root `cxresearch/__init__.py` excepted: it imports nothing at import
time). A package whose `__init__.py` is only a docstring is not counted as a module (it runs nothing). Levels:
a module importing nothing of the package is level 0, any other is one above the highest module it imports
(strongly connected components taken as one node).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "cxresearch"


@dataclass
class ImportGraph:
    """Modules of a package, the package-internal imports between them, and imports of private names."""

    root: str
    modules: set[str] = field(default_factory=set)
    edges: set[tuple[str, str]] = field(default_factory=set)
    #: (importer, imported module, private name): each import of a name starting with "_" from another module
    private: set[tuple[str, str, str]] = field(default_factory=set)

    def successors(self, module: str) -> set[str]:
        return {b for a, b in self.edges if a == module}

    def cycles(self) -> list[list[str]]:
        """Strongly connected components with more than one module (or a module importing itself), sorted."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []
        succ = {m: sorted(self.successors(m)) for m in self.modules}

        def visit(v: str) -> None:  # Tarjan; the graph is small enough for recursion
            index[v] = low[v] = len(index)
            stack.append(v)
            on_stack.add(v)
            for w in succ[v]:
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1 or (v, v) in self.edges:
                    found.append(sorted(component))

        for module in sorted(self.modules):
            if module not in index:
                visit(module)
        return sorted(found)

    def levels(self) -> dict[str, int]:
        """Each module's level: 0 if it imports nothing of the package, else 1 + the highest one imported."""
        component_of = {m: m for m in self.modules}
        for component in self.cycles():
            for m in component:
                component_of[m] = component[0]
        deps: dict[str, set[str]] = {}
        for a, b in self.edges:
            ca, cb = component_of[a], component_of[b]
            if ca != cb:
                deps.setdefault(ca, set()).add(cb)
        memo: dict[str, int] = {}

        def level(c: str) -> int:
            if c not in memo:
                memo[c] = 1 + max((level(d) for d in deps.get(c, ())), default=-1)
            return memo[c]

        return {m: level(component_of[m]) for m in self.modules}

    def summary(self) -> str:
        levels = self.levels()
        cycles = self.cycles()
        lines = [
            f"{len(self.modules)} modules, {max(levels.values()) + 1} levels, {len(self.edges)} edges, "
            f"{len(cycles)} cycles, {len(self.private)} imports of a private name from another module"
        ]
        lines += [f"cycle: {' <-> '.join(c)}" for c in cycles]
        lines += [f"private: {a} imports {name} from {b}" for a, b, name in sorted(self.private)]
        for lvl in range(max(levels.values()) + 1):
            names = sorted(m.removeprefix(self.root + ".") for m, v in levels.items() if v == lvl)
            lines.append(f"level {lvl}: {', '.join(names)}")
        return "\n".join(lines)


def _docstring_only(tree: ast.Module) -> bool:
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in tree.body)


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, skipping the bodies of `if TYPE_CHECKING:`."""
    found: list[ast.Import | ast.ImportFrom] = []

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for orelse in child.orelse:
                    walk(orelse)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            walk(child)

    walk(tree)
    return found


def scan(package_dir: Path = PACKAGE_DIR) -> ImportGraph:
    """The import graph of the package at `package_dir` (its `__init__.py` included)."""
    package_dir = Path(package_dir).resolve()
    root = package_dir.name
    graph = ImportGraph(root=root)
    files = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    trees = {m: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for m, p in files.items()}
    # a package whose __init__.py is only a docstring is a folder, not a module: it runs nothing
    files = {m: p for m, p in files.items() if not (p.name == "__init__.py" and _docstring_only(trees[m]))}
    graph.modules = set(files)
    packages = {m for m, p in files.items() if p.name == "__init__.py"}

    def add_edge(importer: str, target: str) -> None:
        if target == importer or target not in graph.modules:
            return
        graph.edges.add((importer, target))
        parts = target.split(".")
        for i in range(2, len(parts)):  # parent packages below the root run too, unless importer is inside
            parent = ".".join(parts[:i])
            if parent in graph.modules and parent != importer and not importer.startswith(parent + "."):
                graph.edges.add((importer, parent))

    for module, path in files.items():
        tree = trees[module]
        is_package = module in packages
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == root or alias.name.startswith(root + "."):
                        add_edge(module, alias.name)
                continue
            if node.level:  # relative import
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if not (source == root or source.startswith(root + ".")):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in graph.modules:
                    add_edge(module, submodule)
                    target, name = submodule, alias.name
                else:
                    add_edge(module, source)
                    target, name = source, alias.name
                if target != module and _private_import(module, target, name):
                    graph.private.add((module, target, name))
    return graph


def _private_import(importer: str, target: str, name: str) -> bool:
    """A name starting with "_" taken from another module, or anything from a private module (`p._x`)
    outside the package `p` that owns it (siblings inside `p` may use it)."""
    if name.startswith("_") and not name.startswith("__") and not target.endswith("." + name):
        return True
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            owner = ".".join(parts[:i])
            if not importer.startswith(owner + "."):
                return True
    return False


if __name__ == "__main__":
    print(scan(Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE_DIR).summary())
