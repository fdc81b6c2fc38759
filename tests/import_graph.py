"""The import graph of src/rampart for the tests that walk it (module cycles, type cycles, the
fronts' ways to the store): every module a node, every ``import`` an edge wherever it is
written, in-function imports included and type-checking-only ones left out unless asked for
(they do not run, but a reader following the types walks them)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules() -> dict[str, Path]:
    """Every module of src/rampart by its dotted name (a package by its ``__init__``)."""
    found = {}
    for path in (SRC / "rampart").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(
    name: str, path: Path, known: dict[str, Path], *, packages: bool, types: bool = False
) -> set[str]:
    """The modules of ``known`` that module ``name`` imports. ``from pkg import sub`` names
    ``pkg.sub``, and with ``packages`` also ``pkg`` (its ``__init__`` runs first: what a walk of
    everything a module runs needs; a cycle count leaves it out). With ``types`` the imports
    under ``if TYPE_CHECKING:`` count too (what a reader following the types walks)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (
                not types
                and isinstance(child, ast.If)
                and "TYPE_CHECKING" in ast.unparse(child.test)
            ):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                named.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    module = ".".join(base + ([module] if module else []))
                for alias in child.names:
                    full = f"{module}.{alias.name}"
                    named.add(full if full in known else module)
                if packages:
                    named.add(module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    found = set()
    for module in named:
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)
    return found


def cycles(graph: dict[str, list[str]]) -> set[frozenset[str]]:
    """Every strongly connected component of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = graph[node]
            if i < len(targets):
                work.append((node, i + 1))
                child = targets[i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found
