"""No import cycle between modules, in-function imports included.

``scripts/cycles.py`` (in ``make lint``) checks cycles between packages; a cycle inside one
package, through imports deferred into functions, is invisible to it: ``alerts.rules`` and its
seven ``rules_*`` modules, the bot's command modules through ``investor_cmds``, the table
modules through ``store.models``' own ``__init__``. Here every module of src/rampart is a node,
every ``import`` an edge wherever it is written (type-checking-only imports left out: they do
not run), and each strongly connected component of more than one module is a cycle.
``STILL_CYCLIC`` listed those not broken yet; it is empty now (the test fails on any
cycle, and on one listed that is broken without being crossed off)."""

from __future__ import annotations

from tests.import_graph import cycles, imports, modules

STILL_CYCLIC: frozenset[frozenset[str]] = frozenset()
"""Empty: every cycle is broken, so any cycle is new."""


def module_cycles() -> set[frozenset[str]]:
    """Every strongly connected component of more than one module."""
    known = modules()
    graph = {
        name: sorted(imports(name, path, known, packages=False)) for name, path in known.items()
    }
    return cycles(graph)


def test_no_module_cycle_but_those_still_listed() -> None:
    found = module_cycles()
    new = [sorted(c) for c in found - STILL_CYCLIC]
    gone = [sorted(c) for c in STILL_CYCLIC - found]
    assert not new, f"new import cycles (in-function imports included): {new}"
    assert not gone, f"cycles broken: cross them off STILL_CYCLIC: {gone}"
