"""No circle between the files of src/rampart, counting the imports made only for type checking.

``test_module_cycles`` reads the imports that run; a reader following the types also walks the
``if TYPE_CHECKING:`` ones, and a circle there means two files that each need the other to be
read (``risk.checks`` and its rule modules over ``RiskContext`` were one). A type both sides
read lives in a module below both, or is a small Protocol where it is used.

``STILL_CIRCULAR`` lists the circles left in packages being reworked elsewhere (the Telegram
bot, the fleet's workers, the trading core, the service's wiring): the test fails on any
circle not listed, and on a listed one that is broken or changed without being crossed off.
"""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import cycles, imports, modules


def _circle(package: str, *names: str) -> frozenset[str]:
    return frozenset(f"rampart.{package}.{name}" for name in names)


STILL_CIRCULAR: frozenset[frozenset[str]] = frozenset(
    {
        _circle(
            "telegram",
            "bot",
            "chats",
            "connect_cmds",
            "demo",
            "durable",
            "habit_cmds",
            "intent_cmds",
            "investor_cmds",
            "messenger",
            "models_cmds",
            "notify_cmds",
            "operator_cmds",
            "people_cmds",
            "portfolio_view",
            "profit_cmds",
            "report_cmds",
            "rollout_cmds",
            "routes",
            "sender",
            "terms_cmds",
            "wallet_cmds",
        ),
        _circle(
            "fleet",
            "lease_open",
            "risk_kill",
            "tracing_hooks",
            "worker",
            "worker_candles",
            "worker_commands",
            "worker_follow",
            "worker_messaging",
            "worker_reconcile",
            "worker_stage",
        ),
        _circle("fleet", "feed_publisher", "feed_watch"),
        _circle(
            "trading",
            "agent_room",
            "callbacks",
            "controls",
            "engine",
            "guard",
            "invariants",
            "restore",
            "risk_view",
        ),
        _circle("trading", "execution", "moves", "protection", "refit"),
        _circle("wiring", "service", "service_loops", "service_session"),
    }
)
"""The circles still to break, each exactly as it stands."""


def type_cycles() -> set[frozenset[str]]:
    """Every circle of files when the type-checking-only imports count too."""
    known = modules()
    graph = {
        name: sorted(imports(name, path, known, packages=False, types=True))
        for name, path in known.items()
    }
    return cycles(graph)


def test_no_type_cycle_but_those_still_listed() -> None:
    found = type_cycles()
    new = [sorted(c) for c in found - STILL_CIRCULAR]
    gone = [sorted(c) for c in STILL_CIRCULAR - found]
    assert not new, f"new circles (type-checking-only imports counted): {new}"
    assert not gone, f"circles broken or changed: cross them off STILL_CIRCULAR: {gone}"


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
