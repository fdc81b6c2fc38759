"""Supervisor on simulated time: restarts with backoff and jitter, isolation, heartbeats,
staleness, and a bounded drain on stop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from rampart.clock import SimClock, ms_to_datetime
from rampart.runtime.supervised import one_line
from rampart.runtime.supervisor import Beat, Supervisor, ticking

START_MS = 1_700_000_000_000


class UpperBound(random.Random):
    """Full jitter at its ceiling, so the backoff caps themselves are visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def settle(until: Callable[[], bool], rounds: int = 10_000) -> None:
    """Let the loop run until a condition holds (simulated time: no wall-clock waiting)."""
    for _ in range(rounds):
        if until():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def supervisor(clock: SimClock, **kwargs: object) -> Supervisor:
    options: dict[str, object] = {
        "initial_backoff_s": 1.0,
        "max_backoff_s": 60.0,
        "stale_after_s": 30.0,
        "rng": random.Random(7),
    }
    options.update(kwargs)
    return Supervisor(clock, **options)  # type: ignore[arg-type]


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def test_a_component_that_raises_is_restarted_with_backoff_and_the_others_keep_running() -> None:
    async def body() -> None:
        clock = SimClock(START_MS)
        stop = asyncio.Event()
        attempts = 0
        steady_starts = 0

        async def flaky(beat: Beat) -> None:
            nonlocal attempts
            attempts += 1
            if attempts <= 3:
                raise RuntimeError(f"boom {attempts}\n  with a second line")
            beat()
            await stop.wait()

        async def steady(beat: Beat) -> None:
            nonlocal steady_starts
            steady_starts += 1
            beat()
            await stop.wait()

        sup = supervisor(clock)
        sup.add("flaky", flaky)
        sup.add("steady", steady)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: attempts == 4)

        jitter = random.Random(7)
        expected = [jitter.uniform(0, 1), jitter.uniform(0, 2), jitter.uniform(0, 4)]
        assert [d for _, d in sup.delays] == expected
        assert all(name == "flaky" for name, _ in sup.delays)
        # The backoff slept on the clock: simulated time moved by exactly the delays.
        assert clock.now_ms() - START_MS == sum(int(d * 1000) for d in expected)

        status = sup.status()
        assert status["flaky"].up and status["flaky"].restarts == 3
        assert status["flaky"].last_error == "RuntimeError: boom 3 with a second line"
        assert status["steady"].up and status["steady"].restarts == 0
        assert steady_starts == 1, "a failing component must not restart the others"
        stop.set()
        await task
        assert {s.state for s in sup.status().values()} == {"stopped"}

    run(body)


def test_backoff_doubles_up_to_the_maximum() -> None:
    async def body() -> None:
        clock = SimClock(START_MS)
        stop = asyncio.Event()
        attempts = 0

        async def broken(beat: Beat) -> None:
            nonlocal attempts
            attempts += 1
            if attempts == 10:
                stop.set()
            raise ValueError("still broken")

        sup = supervisor(clock, initial_backoff_s=0.5, max_backoff_s=20.0, rng=UpperBound())
        sup.add("broken", broken)
        await sup.run(stop)
        assert [d for _, d in sup.delays] == [0.5, 1, 2, 4, 8, 16, 20, 20, 20]
        assert sup.status()["broken"].state == "faulted"  # failed again while stopping

    run(body)


def test_full_jitter_stays_between_zero_and_the_cap() -> None:
    sup = supervisor(SimClock(START_MS), initial_backoff_s=1.0, max_backoff_s=8.0)
    for failures in range(1, 12):
        cap = min(8.0, 2 ** (failures - 1))
        assert all(0 <= sup.backoff_s(failures) <= cap for _ in range(50))


def test_a_component_that_returns_while_not_stopping_is_restarted() -> None:
    async def body() -> None:
        clock = SimClock(START_MS)
        stop = asyncio.Event()
        runs = 0

        async def quitter(beat: Beat) -> None:
            nonlocal runs
            runs += 1
            if runs >= 3:
                await stop.wait()

        sup = supervisor(clock)
        sup.add("quitter", quitter)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: runs == 3)
        status = sup.status()["quitter"]
        assert status.restarts == 2
        assert status.last_error == "returned without being asked to stop"
        stop.set()
        await task

    run(body)


def test_the_backoff_resets_after_a_healthy_run() -> None:
    async def body() -> None:
        clock = SimClock(START_MS)
        stop = asyncio.Event()
        attempts = 0

        async def sometimes(beat: Beat) -> None:
            # Three quick failures, then long healthy runs that each end in one failure.
            nonlocal attempts
            attempts += 1
            if attempts > 3:
                await clock.sleep(120)
            if attempts == 6:
                stop.set()
            raise ConnectionError("venue went away")

        sup = supervisor(clock, rng=UpperBound(), healthy_after_s=60)
        sup.add("venue", sometimes)
        await sup.run(stop)
        assert [d for _, d in sup.delays] == [1, 2, 4, 1, 1]
        assert sup.status()["venue"].restarts == 5

    run(body)


def test_heartbeats_and_staleness_drive_the_worker_state() -> None:
    async def body() -> None:
        clock = SimClock(START_MS)
        stop = asyncio.Event()
        poke = asyncio.Event()
        beats: list[tuple[str, float]] = []
        states: list[tuple[str, bool]] = []

        async def worker(beat: Beat) -> None:
            while not stop.is_set():
                await poke.wait()
                poke.clear()
                beat()

        sup = supervisor(
            clock,
            on_heartbeat=lambda name, ts: beats.append((name, ts)),
            on_state=lambda name, up: states.append((name, up)),
        )
        sup.add("engine", worker)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: bool(states))
        assert states == [("engine", True)]
        assert beats == [("engine", START_MS / 1000)]

        poke.set()  # beats in the same second are recorded but not re-published
        await settle(lambda: not poke.is_set())
        assert len(beats) == 1

        clock.advance(31_000)
        stale = sup.status()["engine"]
        assert not stale.up and stale.stale and stale.state == "running"
        assert states[-1] == ("engine", False)
        check = await sup.probe()
        assert not check.ok and "engine (no heartbeat)" in check.detail

        poke.set()
        await settle(lambda: states[-1] == ("engine", True))
        fresh = sup.status()["engine"]
        assert fresh.up and fresh.last_beat_ms == START_MS + 31_000
        assert beats[-1] == ("engine", (START_MS + 31_000) / 1000)
        assert (await sup.probe()).ok

        stop.set()
        poke.set()
        await task
        assert states[-1] == ("engine", False)

    run(body)


def test_a_broken_metrics_hook_does_not_take_the_component_down() -> None:
    async def body() -> None:
        stop = asyncio.Event()
        started = 0

        def explode(*_: object) -> None:
            raise RuntimeError("metrics are broken")

        async def worker(beat: Beat) -> None:
            nonlocal started
            started += 1
            beat()
            await stop.wait()

        sup = supervisor(SimClock(START_MS), on_heartbeat=explode, on_state=explode)
        sup.add("worker", worker)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: started == 1)
        assert sup.status()["worker"].up
        stop.set()
        await task
        assert started == 1

    run(body)


def test_stop_lets_in_flight_work_finish_and_cancels_what_overstays_the_bound() -> None:
    async def body() -> None:
        stop = asyncio.Event()
        persisted: list[str] = []
        started: set[str] = set()

        async def polite(beat: Beat) -> None:
            started.add("polite")
            await stop.wait()
            await asyncio.sleep(0)  # the candle in hand
            persisted.append("checkpoint")

        async def stubborn(beat: Beat) -> None:
            started.add("stubborn")
            try:
                await asyncio.Event().wait()  # ignores stop
            except asyncio.CancelledError:
                persisted.append("cancelled")
                raise

        sup = supervisor(SimClock(START_MS), drain_timeout_s=0.05)
        sup.add("polite", polite)
        sup.add("stubborn", stubborn)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: len(started) == 2)
        stop.set()
        await task
        assert sorted(persisted) == ["cancelled", "checkpoint"]
        assert {s.state for s in sup.status().values()} == {"stopped"}
        assert sup.delays == type(sup.delays)(), "nothing restarts once stopping"

    run(body)


def test_a_run_once_component_is_not_restarted() -> None:
    async def body() -> None:
        stop = asyncio.Event()
        runs = {"once": 0, "fails": 0}

        async def once(beat: Beat) -> None:
            runs["once"] += 1

        async def fails(beat: Beat) -> None:
            runs["fails"] += 1
            raise OSError("disk full")

        sup = supervisor(SimClock(START_MS))
        sup.add("once", once, restart=False)
        sup.add("fails", fails, restart=False)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: sup.status()["fails"].state == "faulted")
        await settle(lambda: sup.status()["once"].note == "finished")
        check = await sup.probe()
        assert not check.ok and "fails (faulted, not restarted: OSError: disk full)" in check.detail
        assert "once" not in check.detail
        stop.set()
        await task
        assert runs == {"once": 1, "fails": 1}

    run(body)


def test_stop_during_backoff_does_not_restart() -> None:
    async def body() -> None:
        stop = asyncio.Event()
        attempts = 0

        class Slow:
            """A clock whose sleeps never end by themselves: only stop can end the backoff."""

            def now_ms(self) -> int:
                return START_MS

            def now(self) -> datetime:
                return ms_to_datetime(START_MS)

            async def sleep(self, seconds: float) -> None:
                await asyncio.Event().wait()

        async def failing(beat: Beat) -> None:
            nonlocal attempts
            attempts += 1
            raise RuntimeError("down")

        sup = Supervisor(Slow(), initial_backoff_s=1, max_backoff_s=2, stale_after_s=30)
        sup.add("failing", failing)
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: sup.status()["failing"].note == "restarting")
        stop.set()
        await task
        assert attempts == 1
        assert sup.status()["failing"].state == "stopped"

    run(body)


def test_configuration_errors() -> None:
    clock = SimClock(START_MS)
    with pytest.raises(ValueError):
        Supervisor(clock, initial_backoff_s=5, max_backoff_s=1, stale_after_s=30)
    sup = supervisor(clock)

    async def noop(beat: Beat) -> None:
        return None

    sup.add("a", noop)
    with pytest.raises(ValueError, match="already supervised"):
        sup.add("a", noop)


def test_errors_are_one_line() -> None:
    assert one_line(RuntimeError("a\nb\n  c")) == "RuntimeError: a b c"
    assert one_line(KeyError()) == "KeyError"


def test_ticking_beats_for_a_component_without_progress_events() -> None:
    async def body() -> None:
        clock = SimClock(START_MS)
        stop = asyncio.Event()
        beats: list[float] = []

        async def server(beat: Beat) -> None:
            await stop.wait()

        sup = supervisor(clock, on_heartbeat=lambda _, ts: beats.append(ts))
        sup.add("api", ticking(server, clock, 5.0))
        task = asyncio.create_task(sup.run(stop))
        await settle(lambda: len(beats) >= 4)
        assert sup.status()["api"].up
        assert beats[1] - beats[0] >= 1  # published at most once a second of clock time
        stop.set()
        await task
        assert sup.status()["api"].state == "stopped"

    run(body)
