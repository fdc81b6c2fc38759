"""The report of a pass with the accounts side by side lists its differences as the sequential
pass does: what was found while reserving ids, then the venue's own, then each
account's in the pass's order, however the venue's answers interleave. On an exchange in
memory whose reads answer later the earlier the account (so side by side, the last account
finishes first)."""

from __future__ import annotations

import asyncio
from typing import Any

from rampart.clock import SimClock
from rampart.trading.reconcile.reconciler import Reconciler

from .exchange_fake import Exchange, FakeVenue, add_account, make_engine

IDS = ("a1", "a2", "a3", "a4", "a5")


class LateForTheFirst(FakeVenue):
    """Each read waits the more turns of the loop the earlier its account comes."""

    async def _late(self, account_id: str | None) -> None:
        turns = 0 if account_id is None else 3 * (len(IDS) - IDS.index(account_id))
        for _ in range(turns):
            await asyncio.sleep(0)

    async def fetch_balances(self, account_id: str) -> Any:
        await self._late(account_id)
        return await super().fetch_balances(account_id)

    async def fetch_open_orders(self, account_id: str) -> Any:
        await self._late(account_id)
        return await super().fetch_open_orders(account_id)

    async def refresh(self, account_id: str | None = None) -> None:
        await self._late(account_id)
        await super().refresh(account_id)


async def _differences(concurrency: int) -> list[str]:
    x = Exchange()
    venue = LateForTheFirst(x)
    engine = make_engine(venue, clock=SimClock(x.now))
    for account_id in IDS:
        await add_account(engine, account_id)
    venue.fail_orders = True  # no order history: ids left with a gap, nothing to adopt
    venue.fail_refresh = True  # and no poll: neither the venue's nor each account's
    report = await Reconciler(concurrency=concurrency).run(engine, [*IDS, "ghost"], reason="start")
    return report.differences


def test_side_by_side_the_differences_come_in_the_sequential_order() -> None:
    one_by_one = asyncio.run(_differences(1))
    side_by_side = asyncio.run(_differences(4))
    assert side_by_side == one_by_one
    reserving = [d for d in one_by_one if "its orders could not be read" in d]
    assert [d.split(":")[0] for d in reserving] == list(IDS)
    assert one_by_one[: len(IDS)] == reserving
    polled = [d for d in one_by_one if d.startswith("The venue could not be polled")]
    assert len(polled) == 1 and one_by_one[len(IDS)] == polled[0]
    rest = [d.split(":")[0] for d in one_by_one[len(IDS) + 1 :]]
    assert rest == sorted(rest, key=[*IDS, "ghost"].index)
    assert rest[-1] == "ghost" and len(set(rest)) == len(IDS) + 1
