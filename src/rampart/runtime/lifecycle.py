"""One lifecycle for every supervised component (the shape NautilusTrader gives its
components): a state, and the moves between states that are legal.

::

    initialized ──start──▶ running ──stop──▶ stopping ──▶ stopped ──dispose──▶ disposed
                              │  ▲                           ▲
                       fails  ▼  │ restarted after backoff   │ ends on its own (run once)
                            faulted ─────────stop────────────┘

A move that is not drawn is a bug, and raises (as an illegal order transition does). The
supervisor (:mod:`rampart.runtime.supervisor`) makes every move; ``/health`` and the panel
show the states.
"""

from __future__ import annotations

from enum import Enum


class ComponentState(Enum):
    INITIALIZED = "initialized"
    """Registered, not started yet."""
    RUNNING = "running"
    STOPPING = "stopping"
    """Asked to stop: finishing the work in hand, within the drain bound."""
    STOPPED = "stopped"
    """Stopped when asked, or ended by itself (a run-once component)."""
    FAULTED = "faulted"
    """Raised (or returned while nobody asked it to stop): restarted after a backoff when it
    restarts, else it stays here."""
    DISPOSED = "disposed"
    """Its resources are released; it will not start again."""


_MOVES: dict[ComponentState, frozenset[ComponentState]] = {
    ComponentState.INITIALIZED: frozenset(
        {ComponentState.RUNNING, ComponentState.STOPPED, ComponentState.DISPOSED}
    ),
    ComponentState.RUNNING: frozenset(
        {ComponentState.STOPPING, ComponentState.STOPPED, ComponentState.FAULTED}
    ),
    ComponentState.STOPPING: frozenset({ComponentState.STOPPED, ComponentState.FAULTED}),
    ComponentState.STOPPED: frozenset({ComponentState.RUNNING, ComponentState.DISPOSED}),
    ComponentState.FAULTED: frozenset(
        {
            ComponentState.RUNNING,
            ComponentState.STOPPING,
            ComponentState.STOPPED,
            ComponentState.DISPOSED,
        }
    ),
    ComponentState.DISPOSED: frozenset(),
}


class IllegalMove(RuntimeError):
    """A component was moved between two states the lifecycle does not connect."""


def move(name: str, current: ComponentState, to: ComponentState) -> ComponentState:
    """``to``, when the lifecycle allows it from ``current`` (staying put is always allowed)."""
    if to is not current and to not in _MOVES[current]:
        raise IllegalMove(f"component {name!r} cannot go from {current.value} to {to.value}")
    return to
