"""A money notice leaves only after its record: at the moment each "Bought"
or "Sold" reaches Telegram, the order or trade it announces is already committed in the store,
as another process reading the database sees it, so a kill -9 at any moment leaves no investor
told of an order the restarted books do not hold. Without checkpoints (the default is every 500
candles) the notice still leaves within the candle: the session writes the rows it waits on."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rampart.store import models as m
from tests.telegram.conftest import ALICE
from tests.telegram.notices_support import NoticeService
from tests.telegram.test_notices import ACCOUNT


def _committed(db_path: Path) -> tuple[int, int]:
    """(filled entry orders, closed trades) of the account, read on a connection of its own."""
    other = sa.create_engine(f"sqlite:///{db_path}")
    try:
        with other.connect() as conn:
            entries = conn.execute(
                sa.select(sa.func.count())
                .select_from(m.orders)
                .where(
                    m.orders.c.account_id == ACCOUNT,
                    m.orders.c.role == "entry",
                    m.orders.c.status == "filled",
                )
            ).scalar_one()
            trades = conn.execute(
                sa.select(sa.func.count())
                .select_from(m.trades)
                .where(m.trades.c.account_id == ACCOUNT)
            ).scalar_one()
    finally:
        other.dispose()
    return int(entries), int(trades)


def test_each_bought_and_sold_leaves_after_its_order_is_committed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            told = {"Bought": 0, "Sold": 0}
            seen: list[tuple[str, int, tuple[int, int]]] = []
            real = svc.bot.deliver

            async def deliver(account_id: str, html: str) -> Any:
                for word in told:
                    if f"<b>{word} " in html:
                        told[word] += 1
                        seen.append((word, told[word], _committed(svc.db_path)))
                return await real(account_id, html)

            svc.bot.deliver = deliver  # type: ignore[method-assign]
            await svc.onboard(ALICE, "aggressive", "5000")

            for candle in itertools.islice(svc.candles, 3000):
                svc.clock.set(candle.close_ts)
                async with svc.lock:
                    await svc.session.process(candle)
                svc.pace.advance(1_000)  # the outbox's sends wait on the pace (a chat's gap)
                await asyncio.sleep(0.001)  # a turn for the outbox (its saves run in a thread)
                if told["Sold"] >= 1 and told["Bought"] >= 2:
                    break
            assert told["Sold"] >= 1 and told["Bought"] >= 2, told
            await svc.drain()
            for word, n, (entries, trades) in seen:
                # The n-th "Bought" finds n filled entries committed; the n-th "Sold" n trades.
                assert (entries if word == "Bought" else trades) >= n, seen

    asyncio.run(scenario())
