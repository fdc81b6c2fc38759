"""One candle path: replay, optimizer trials, the service's loops and every
worker's shards hand a candle to ``TradingSession.process`` (or ``warm`` for one already
traded); only the session hands it to the engine.

A copy of the path (the replay's loop once called the guard, counted the candle and awaited
the engine itself, without the second reading, tracing or the checkpoint's other triggers)
shows here as a call of the engine's ``on_candle`` or ``warm`` outside the session."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rampart"
SESSION = SRC / "wiring" / "session.py"
ENGINE_STEPS = frozenset({"on_candle", "warm"})
DRILL = SRC / "rollout" / "drill_position_loss.py"
"""The position-loss drill drives a bare engine of its own (no session, no store, no venue
but paper): it is a rehearsal of the kill rule, not a way candles are traded."""


def _engine_steps(tree: ast.AST) -> list[int]:
    """Lines calling ``<…engine>.on_candle(…)`` or ``<…engine>.warm(…)``, directly or through
    a name bound to the method (``on_candle = engine.on_candle``)."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in ENGINE_STEPS):
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if name in ("engine", "_engine", "eng"):
            lines.append(node.lineno)
    return lines


def test_only_the_session_hands_a_candle_to_the_engine() -> None:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if path in (SESSION, DRILL) or path.is_relative_to(SRC / "trading"):
            continue
        lines = _engine_steps(ast.parse(path.read_text(), str(path)))
        if lines:
            found[str(path.relative_to(SRC))] = lines
    assert found == {}


def test_the_session_is_where_the_engine_steps_are() -> None:
    # The walk above finds what it looks for: the session itself calls both steps.
    assert len(_engine_steps(ast.parse(SESSION.read_text()))) >= 2
