"""A soak's restart keeps nothing of the process that died: the 24-hour soak's memory grew by
engines restarts had replaced, held by the old venue's pooled connections (a connection keeps
the context it was opened in, and a reconciliation's or the venue's context reaches the
engine). The connections now die with the engine, and no replaced engine stays alive."""

from __future__ import annotations

import asyncio
import gc
import types
import weakref
from pathlib import Path
from typing import Any

import pytest

from rampart.trading.engine import Engine
from rampart_testkit.soak import SoakConfig, build
from rampart_testkit.soak.chaos import RESTART
from rampart_testkit.soak.harness import Soak


def test_a_restart_closes_the_old_connections_and_frees_the_old_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SoakConfig(
        duration_s=3600,
        accounts=2,
        faults=(RESTART,),
        out_dir=tmp_path,
        store=False,
        final_settle_wall_s=2.0,
    )
    soak = Soak(config)
    engines: list[weakref.ref[Engine]] = []
    still_open: list[int] = []
    new_engine, restart = Soak._new_engine, Soak._restart

    async def kept(self: Soak, snapshot: dict[str, Any] | None) -> None:
        await new_engine(self, snapshot)
        engines.append(weakref.ref(self.engine))

    async def watched(self: Soak, by_hand: bool = False) -> None:
        clients = (self.venue.public, *self.venue.clients.values())
        sessions = [c.session for c in clients if c.session is not None]
        assert sessions  # the old venue had connections to lose
        restarts = self.stats.restarts
        await restart(self, by_hand)
        if self.stats.restarts > restarts:  # none before the first checkpoint
            still_open.append(sum(not session.closed for session in sessions))

    monkeypatch.setattr(Soak, "_new_engine", kept)
    monkeypatch.setattr(Soak, "_restart", watched)
    stats = asyncio.run(soak.run())
    assert stats.restarts >= 2 and len(engines) == stats.restarts + 1
    assert still_open == [0] * stats.restarts
    gc.collect()
    assert [ref() for ref in engines if ref() is not None] == [soak.engine]
    assert stats.checks_passed == stats.checks and not stats.crashes


_NOT_DATA = (
    asyncio.AbstractEventLoop,
    types.ModuleType,
    type,
    types.FunctionType,
    types.FrameType,
    types.CoroutineType,
    types.GeneratorType,
    types.CodeType,
)


def _reaches(roots: list[Any], target: object) -> bool:
    """Whether ``target`` is reachable from ``roots`` through data: not through the event loop
    (the simulator's server and the test share it), nor modules, classes, functions and
    running frames (the test's own among them)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if obj is target:
            return True
        if id(obj) in seen or isinstance(obj, _NOT_DATA):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return False


def _timers() -> list[Any]:
    """The loop's timers' contexts: a cancelled timeout keeps the context it was set in (and a
    reconciliation's turn there) until its time, at most the client's timeout (1 s) away."""
    scheduled = getattr(asyncio.get_running_loop(), "_scheduled", [])
    return [getattr(handle, "_context", None) for handle in scheduled]


def test_a_restart_builds_the_new_engine_after_the_old_one_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crashed process is gone before its restart builds anything. The soak held the old
    engine and venue while it built the new ones, and a dead engine (its objects in cycles)
    stayed as garbage until the collector's next full pass: two engines or more in the memory
    measured at every restart. What is left of them when the new engine is built is only what
    a loop's timer holds for a second more, never the soak, nor garbage awaiting a collection."""
    config = SoakConfig(
        duration_s=3600,
        accounts=2,
        faults=(RESTART,),
        out_dir=tmp_path,
        store=False,
        final_settle_wall_s=2.0,
    )
    soak = Soak(config)
    engines: list[weakref.ref[Engine]] = []
    venues: list[weakref.ref[Any]] = []
    kept_at_restart: list[int] = []
    make_engine, make_venue = build.engine, build.venue

    async def venue(*args: Any, **kwargs: Any) -> Any:
        made = await make_venue(*args, **kwargs)
        venues.append(weakref.ref(made))
        return made

    async def engine(*args: Any, snapshot: dict[str, Any] | None = None, **kwargs: Any) -> Engine:
        if snapshot is not None:  # a restart: no collection here, the harness must have freed
            old = [ref() for ref in (*engines, *venues[:-1])]
            timers = _timers()
            kept_at_restart.append(
                sum(o is not None and (_reaches([soak], o) or not _reaches(timers, o)) for o in old)
            )
            del old
        made = await make_engine(*args, snapshot=snapshot, **kwargs)
        engines.append(weakref.ref(made))
        return made

    monkeypatch.setattr(build, "engine", engine)
    monkeypatch.setattr(build, "venue", venue)
    stats = asyncio.run(soak.run())
    assert stats.restarts >= 2
    assert kept_at_restart == [0] * stats.restarts
    assert stats.checks_passed == stats.checks and not stats.crashes
