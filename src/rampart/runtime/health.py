"""Readiness: named checks (database, venue, feed, workers), each saying ok or what is wrong.

The service registers one probe per dependency; ``GET /health/ready`` runs them all and is
ready only when every one passes. A probe that raises or takes too long counts as failed, in
words, so a load balancer and an operator see the same reason.
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


Probe = Callable[[], Awaitable[Check]]

PROBE_TIMEOUT_S = 2.0


class Health:
    def __init__(self, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        self._probes: dict[str, Probe] = {}
        self._timeout_s = timeout_s
        self.last: dict[str, Check] = {}
        """The latest result per check, for metrics and alerts between requests."""

    def add(self, name: str, probe: Probe) -> None:
        self._probes[name] = probe

    def names(self) -> list[str]:
        return list(self._probes)

    async def _run(self, name: str, probe: Probe) -> Check:
        try:
            result = await asyncio.wait_for(probe(), self._timeout_s)
        except TimeoutError:
            return Check(name, False, f"no answer within {self._timeout_s:g} s")
        except Exception as exc:  # a probe must never take readiness down with it
            return Check(name, False, str(exc) or type(exc).__name__)
        return Check(name, result.ok, result.detail)

    async def ready(self) -> tuple[bool, list[Check]]:
        checks = await asyncio.gather(*(self._run(n, p) for n, p in self._probes.items()))
        self.last = {c.name: c for c in checks}
        return all(c.ok for c in checks), list(checks)
