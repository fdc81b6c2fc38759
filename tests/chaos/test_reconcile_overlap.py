"""A takeover's reconciliation with the accounts side by side books exactly what the
sequential one books: the same fills at the exchange's prices and fees, once each, the same
orders adopted, the same ids reserved, every position protected, the same report; and the
overlap is real (another account's read starts while one account's read is held), bounded by
the pass's concurrency. On the real ccxt client against the exchange simulator.

The world (tests/chaos/overlap_world.py) is built twice, the same way: one copy reconciled one
account after another, the other side by side, and what each booked compared per account."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .overlap_world import ACCOUNTS, checked, outcome, taken_over, watch_reads

_SEQUENTIAL: dict[str, Any] = {}


async def _reconciled(concurrency: int, rig_hook: Any = None) -> dict[str, Any]:
    async with taken_over() as (rig, _checkpoint):
        if rig_hook is not None:
            rig_hook(rig)
        report = await rig.reconcile(reason="start", concurrency=concurrency)
        checked(rig)
        return outcome(rig, report)


def sequential() -> dict[str, Any]:
    """The sequential pass's outcome (built once: the world is the same every time)."""
    if not _SEQUENTIAL:
        _SEQUENTIAL.update(asyncio.run(_reconciled(1)))
    return _SEQUENTIAL


def test_side_by_side_books_exactly_what_one_after_another_books() -> None:
    expected = sequential()
    repairs = expected["repairs"]
    # The world holds what a takeover must get right, or the comparison proves little.
    assert repairs["order_adopted"] >= 3 and repairs["fill_booked"] >= 3, repairs
    assert any(e.get("trades") for e in expected["events"].values())
    got = asyncio.run(_reconciled(4))
    assert got["repairs"] == expected["repairs"]
    assert got["differences"] == expected["differences"]
    for account_id in ACCOUNTS:
        assert got["books"][account_id] == expected["books"][account_id], account_id
        assert got["events"][account_id] == expected["events"][account_id], account_id


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.data())
def test_any_interleaving_of_the_reads_books_the_same(data: st.DataObject) -> None:
    """The reads answer in an order Hypothesis chooses (each account's read is held back for
    a drawn number of the loop's turns): the books and the report stay the sequential pass's."""
    expected = sequential()
    draws: dict[tuple[str, int], int] = {}
    seen: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def late(account_id: str, _call: str) -> AsyncIterator[None]:
        n = seen[account_id] = seen.get(account_id, 0) + 1
        key = (account_id, n)
        if key not in draws:
            draws[key] = data.draw(st.integers(0, 6), label=f"{account_id} read {n}")
        for _ in range(draws[key]):
            await asyncio.sleep(0)
        yield

    got = asyncio.run(_reconciled(3, lambda rig: watch_reads(rig, late)))
    assert got == expected


def test_reads_overlap_within_the_bound_and_a_held_answer_waits_for_its_account() -> None:
    """a3's stop executed while no one looked: its first poll reports the fill. That answer is
    held back until two reads of other accounts have started (one after another, they never
    would: the wait is bounded so a broken pass fails instead of hanging), and at most the
    pass's concurrency of reads is ever in flight. The fill is still booked, classified and
    counted as a3's, exactly as the sequential pass books it."""

    async def go() -> dict[str, Any]:
        async with taken_over() as (rig, _checkpoint):
            in_flight = most = others = 0
            wanted = 0
            reached = asyncio.Event()
            held = False

            @contextlib.asynccontextmanager
            async def counted(account_id: str, call: str) -> AsyncIterator[None]:
                nonlocal in_flight, most, others, wanted, held
                if account_id != "a3":
                    others += 1
                    if wanted and others >= wanted:
                        reached.set()
                in_flight += 1
                most = max(most, in_flight)
                try:
                    yield
                    if account_id == "a3" and call == "refresh" and not held:
                        held = True
                        wanted = others + 2
                        await asyncio.wait_for(reached.wait(), 60)
                finally:
                    in_flight -= 1

            watch_reads(rig, counted)
            report = await rig.reconcile(reason="start", concurrency=3)
            assert held and reached.is_set()
            assert 2 <= most <= 3, most
            checked(rig)
            return outcome(rig, report)

    got = asyncio.run(go())
    assert got == sequential()


def test_a_read_made_with_reports_queued_keeps_the_turn() -> None:
    """a3's orders are looked up one by one (the checkpoint's venue state lost them): its stop
    filled while no one looked, so the fill is queued when its take-profit is looked up. That
    read is held for many of the loop's turns; no other account books meanwhile (its drain
    would apply a3's fill in a3's place), and the outcome is the sequential pass's."""

    async def go() -> dict[str, Any]:
        async with taken_over() as (rig, _checkpoint):
            lookups = 0
            during: list[Any] = []

            @contextlib.asynccontextmanager
            async def slow(account_id: str, call: str) -> AsyncIterator[None]:
                nonlocal lookups
                if account_id == "a3" and call == "fetch_order":
                    lookups += 1
                    if lookups == 2:
                        assert rig.eng.executor.has_work()  # the stop's fill is queued
                        mark = len(rig.events)
                        for _ in range(300):
                            await asyncio.sleep(0)
                        during.extend(rig.events[mark:])
                yield

            watch_reads(rig, slow)
            report = await rig.reconcile(reason="start", concurrency=4)
            assert lookups == 2
            assert during == []
            checked(rig)
            return outcome(rig, report)

    got = asyncio.run(go())
    assert got == sequential()


def test_a_running_engines_pass_takes_its_accounts_one_after_another() -> None:
    """Only a start (a restart, a takeover) overlaps: an interval or reconnect pass runs while
    the engine trades, and keeps one account's reads at a time whatever the concurrency."""

    async def go(reason: str) -> int:
        async with taken_over() as (rig, _checkpoint):
            in_flight = most = 0

            @contextlib.asynccontextmanager
            async def counted(_account_id: str, _call: str) -> AsyncIterator[None]:
                nonlocal in_flight, most
                in_flight += 1
                most = max(most, in_flight)
                try:
                    for _ in range(3):
                        await asyncio.sleep(0)  # room for another account's read to start
                    yield
                finally:
                    in_flight -= 1

            watch_reads(rig, counted)
            await rig.reconcile(reason=reason, concurrency=4)
            return most

    assert asyncio.run(go("interval")) == 1
    assert asyncio.run(go("reconnect")) == 1
