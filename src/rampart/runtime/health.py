"""Readiness: named checks (database, venue, feed, workers), each saying ok or what is wrong.

The service registers one probe per dependency; ``GET /health/ready`` runs them all and is
ready only when every required one passes. A check registered with ``required=False`` (the
operator's Telegram chat) is reported, and a failing one makes the service *degraded*, not
unready: a load balancer must not take trading offline because alerts cannot reach a chat. A
probe that raises or takes too long counts as failed, in words, so a load balancer and an
operator see the same reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True
    """False: a failure degrades the service but leaves it ready."""
    slow: bool = False
    """It failed without the dependency being down: it took longer than the probe's deadline,
    or it answered with an error of its own (a full connection pool, a statement time-out).
    Slowness, not a refusal: a loaded machine's healthy store must not read as down."""


@dataclass(frozen=True, slots=True)
class ComponentLine:
    """One supervised component as ``/health`` and the panel list it."""

    name: str
    state: str
    """Its lifecycle state (``rampart.runtime.lifecycle.ComponentState``)."""
    up: bool
    restarts: int
    note: str = ""
    last_error: str | None = None


Probe = Callable[[], Awaitable[Check]]
Components = Callable[[], list[ComponentLine]]

PROBE_TIMEOUT_S = 2.0


class Health:
    def __init__(self, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self._probes: dict[str, Probe] = {}
        self._optional: set[str] = set()
        self._timeout_s = timeout_s
        self.last: dict[str, Check] = {}
        """The latest result per check, for metrics and alerts between requests."""
        self.components: Components = list
        """Every supervised component and its state (the service points this at its
        supervisor; none until then)."""

    def add(self, name: str, probe: Probe, *, required: bool = True) -> None:
        self._probes[name] = probe
        if required:
            self._optional.discard(name)
        else:
            self._optional.add(name)

    def names(self) -> list[str]:
        return list(self._probes)

    async def _run(self, name: str, probe: Probe) -> Check:
        required = name not in self._optional
        try:
            result = await asyncio.wait_for(probe(), self._timeout_s)
        except TimeoutError:
            return Check(name, False, f"no answer within {self._timeout_s:g} s", required, True)
        except Exception as exc:  # a probe must never take readiness down with it
            return Check(name, False, str(exc) or type(exc).__name__, required)
        return Check(name, result.ok, result.detail, required, result.slow)

    async def ready(self) -> tuple[bool, list[Check]]:
        """(every required check passed, all checks)."""
        checks = await asyncio.gather(*(self._run(n, p) for n, p in self._probes.items()))
        self.last = {c.name: c for c in checks}
        return all(c.ok for c in checks if c.required), list(checks)


def degraded(checks: list[Check]) -> list[str]:
    """Names of the failing checks that leave the service ready (degraded)."""
    return [c.name for c in checks if not c.ok and not c.required]
