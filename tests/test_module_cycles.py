"""No import cycle between modules (issue 73, goal 7), in-function imports included.

``scripts/cycles.py`` (in ``make lint``) checks cycles between packages; a cycle inside one
package, through imports deferred into functions, is invisible to it: ``alerts.rules`` and its
seven ``rules_*`` modules, the bot's command modules through ``investor_cmds``, the table
modules through ``store.models``' own ``__init__``. Here every module of src/rampart is a node,
every ``import`` an edge wherever it is written (type-checking-only imports left out: they do
not run), and each strongly connected component of more than one module is a cycle.
``STILL_CYCLIC`` listed those issue 73 had not broken yet; it is empty now (the test fails on any
cycle, and on one listed that is broken without being crossed off)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
STILL_CYCLIC: frozenset[frozenset[str]] = frozenset()
"""Empty since issue 73 broke the last ones: any cycle is new."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "rampart").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
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
                # ``from pkg import sub`` imports the module pkg.sub, or a name of pkg itself.
                for alias in child.names:
                    full = f"{module}.{alias.name}"
                    named.add(full if full in known else module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    found = set()
    for module in named:
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)
    return found


def module_cycles() -> set[frozenset[str]]:
    """Every strongly connected component of more than one module (Tarjan, iteratively)."""
    known = _modules()
    graph = {name: sorted(_imports(name, path, known)) for name, path in known.items()}
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


def test_no_module_cycle_but_those_still_listed() -> None:
    found = module_cycles()
    new = [sorted(c) for c in found - STILL_CYCLIC]
    gone = [sorted(c) for c in STILL_CYCLIC - found]
    assert not new, f"new import cycles (in-function imports included): {new}"
    assert not gone, f"cycles broken: cross them off STILL_CYCLIC: {gone}"
