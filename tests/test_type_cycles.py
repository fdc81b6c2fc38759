"""No circle between the files of src/rampart, counting the imports made only for type checking.

``test_module_cycles`` reads the imports that run; a reader following the types also walks the
``if TYPE_CHECKING:`` ones, and a circle there means two files that each need the other to be
read (``risk.checks`` and its rule modules over ``RiskContext`` were one). A type both sides
read lives in a module below both, or is a small Protocol where it is used: the bot's command
modules take ``telegram.bot_view.BotView``, the worker's helpers ``fleet.worker_state.WorkerState``,
the service's ``wiring.service_state.ServiceState``, the executor's ``trading.executor_port``,
and the engine's helpers each a Protocol of what they read off it. Any circle fails the test.
"""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import cycles, imports, modules


def type_cycles() -> set[frozenset[str]]:
    """Every circle of files when the type-checking-only imports count too."""
    known = modules()
    graph = {
        name: sorted(imports(name, path, known, packages=False, types=True))
        for name, path in known.items()
    }
    return cycles(graph)


def test_no_type_cycle() -> None:
    found = sorted(sorted(c) for c in type_cycles())
    assert not found, f"circles (type-checking-only imports counted): {found}"


def test_a_type_only_import_back_is_a_circle(tmp_path: Path) -> None:
    """Two files, one importing the other to run and the other importing it back only for
    type checking: a circle here, none among the imports that run."""
    (tmp_path / "engine.py").write_text("from pkg.rules import check\n", encoding="utf-8")
    (tmp_path / "rules.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.engine import Context\n",
        encoding="utf-8",
    )
    known = {"pkg.engine": tmp_path / "engine.py", "pkg.rules": tmp_path / "rules.py"}

    def graph(types: bool) -> dict[str, list[str]]:
        return {
            name: sorted(imports(name, path, known, packages=False, types=types))
            for name, path in known.items()
        }

    assert cycles(graph(types=True)) == {frozenset(known)}
    assert cycles(graph(types=False)) == set()
