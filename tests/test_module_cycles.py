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

from tests.import_graph import imports, modules

STILL_CYCLIC: frozenset[frozenset[str]] = frozenset()
"""Empty since issue 73 broke the last ones: any cycle is new."""


def module_cycles() -> set[frozenset[str]]:
    """Every strongly connected component of more than one module (Tarjan, iteratively)."""
    known = modules()
    graph = {
        name: sorted(imports(name, path, known, packages=False)) for name, path in known.items()
    }
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
