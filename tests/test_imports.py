"""Layers import downward only: no import cycle among hrmcode's modules.

The graph is read from the source (the AST), with every import wherever it is written (a function
body, an ``if TYPE_CHECKING`` block), so an import moved into a function to dodge a cycle still
counts. Importing ``a.b.c`` runs the packages ``a`` and ``a.b`` first, so it depends on them as well
(but a module's own enclosing packages are not edges: Python sets those up before the module).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "hrmcode"


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        if not (path.parent / "__init__.py").exists():
            continue  # not part of the package (the drivers run inside the sandbox)
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path
    return out


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                found = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in mods else prefix for a in node.names]
            for t in found:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t.startswith("hrmcode"):
                    targets |= {t, *_ancestors(t)}
        graph[name] = targets - {name, *_ancestors(name)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path(graph: dict[str, set[str]], comp: list[str]) -> str:
    """One cycle through the component, for the failure message."""
    start, members = comp[0], set(comp)
    prev: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return " -> ".join([*reversed(path), start])
            if w not in prev:
                prev[w] = v
                todo.append(w)
    return " <-> ".join(comp)


def test_the_graph_sees_imports_inside_functions_and_packages() -> None:
    graph = import_graph()
    assert "hrmcode.execute.runner" in graph["hrmcode.execute"]  # the package imports its runner
    assert "hrmcode.languages.base" in graph["hrmcode.languages.cpp"]
    assert "hrmcode.execute" not in graph["hrmcode.execute.runner"]  # its own package is no edge
    # A function-level import is an edge, and an import of a submodule depends on its package too.
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycle_in_hrmcode() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles (move the code to the layer it belongs to):\n" + "\n".join(
        _path(graph, c) for c in found)
