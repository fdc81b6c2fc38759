"""A soak's restart keeps nothing of the process that died: the 24-hour soak's memory grew by
engines restarts had replaced, held by the old venue's pooled connections (a connection keeps
the context it was opened in, and a reconciliation's or the venue's context reaches the
engine). The connections now die with the engine, and no replaced engine stays alive."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

from rampart.trading.engine import Engine
from rampart_testkit.soak import SoakConfig
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
