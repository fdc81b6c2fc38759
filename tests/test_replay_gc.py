"""A replay trades with a quieter garbage collector and gives the process its own back."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.wiring.replay_gc import REPLAY_GC_THRESHOLD
from rampart.wiring.session import TradingSession

from .replay_helpers import trend_session


@pytest.fixture(autouse=True)
def _gc_as_found() -> Iterator[None]:
    """Whatever a broken session leaves behind must not change the other tests' collector."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    yield
    gc.set_threshold(*threshold)
    if gc.get_freeze_count() != frozen:
        gc.unfreeze()


def _session(tmp_path: Path, *, replay: bool) -> TradingSession:
    return trend_session(
        tmp_path / "gc.db", checkpoint_every=5_000, ride_out_outages=not replay, name="replay"
    )


def test_a_replay_freezes_start_up_objects_and_collects_rarely_until_it_closes(
    tmp_path: Path,
) -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert threshold != REPLAY_GC_THRESHOLD
    session = _session(tmp_path, replay=True)
    asyncio.run(session.open())
    assert gc.get_threshold() == REPLAY_GC_THRESHOLD
    assert gc.get_freeze_count() > frozen, "the objects alive at start-up were not frozen"
    session.close()
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0


def test_the_service_session_leaves_the_collector_alone(tmp_path: Path) -> None:
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    session = _session(tmp_path, replay=False)
    asyncio.run(session.open())
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == frozen
    session.close()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_session_never_freezes_the_garbage_an_earlier_one_left() -> None:
    """A search opens a session per trial in one process; once, each froze the last
    trial's uncollected cycles out of the collector for good, and `rampart optimize` grew
    ~1.4 MiB a trial (335 → 679 MiB from 50 to 300 trials)."""
    import weakref

    from rampart.wiring.replay_gc import ReplayGc

    was_enabled = gc.isenabled()
    gc.disable()  # only the session's own collection may run here
    try:
        left = _Cycle()
        ref = weakref.ref(left)
        del left  # unreachable now, yet alive until a collection
        session_gc = ReplayGc()
        session_gc.start()
        try:
            assert ref() is None, "the earlier garbage was frozen with the session's objects"
        finally:
            session_gc.stop()
    finally:
        if was_enabled:
            gc.enable()


def test_a_session_in_a_process_that_froze_its_start_up_leaves_that_freeze_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The `rampart` script freezes what start-up built. A search opens a session per trial;
    once, each trial's close thawed that freeze and the next trial's first collection walked
    every imported object again (~half of a trial's CPU). A session there freezes nothing,
    thaws nothing and runs no collection of its own; its garbage is collected as any other's."""
    import weakref

    from rampart.wiring import replay_gc
    from rampart.wiring.replay_gc import ReplayGc, start_up_frozen

    monkeypatch.setattr(replay_gc, "_start_up_frozen", False)  # put back after the test
    was_enabled = gc.isenabled()
    gc.disable()  # only a collection the session runs may run here
    gc.collect()
    gc.freeze()  # the script's freeze of start-up, and its word for it
    start_up_frozen()
    frozen = gc.get_freeze_count()
    threshold = gc.get_threshold()
    try:
        left = _Cycle()
        ref = weakref.ref(left)
        del left
        session_gc = ReplayGc()
        session_gc.start()
        assert gc.get_threshold() == REPLAY_GC_THRESHOLD
        assert gc.get_freeze_count() == frozen, "the session froze objects of its own"
        assert ref() is not None, "the session ran a full collection of its own"
        session_gc.stop()
        assert gc.get_threshold() == threshold
        assert gc.get_freeze_count() == frozen, "the script's freeze was thawed"
        gc.collect()
        assert ref() is None, "garbage made before the session was frozen with it"
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
