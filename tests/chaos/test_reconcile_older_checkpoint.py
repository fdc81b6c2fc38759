"""A restart from a checkpoint older than the last fills: the entry ends terminal at the first
pass, no fill is booked twice, and the passes after it repair nothing.

Found in a long wall-clock soak: after a restart that resumed from a checkpoint older than the
last fills, an entry reconciliation adopted stayed ``submitted`` although the exchange reported
it filled, and every pass booked its fills again (827 repair lines, each "already booked").
Here the real ccxt client trades against the exchange simulator, an entry fills in several
trades over several candles (the simulator's participation is thin; the rest of the market
order expires), the checkpoint is written to the store and read back from it, and the store
holds every exchange trade once. Two cases: the
checkpoint taken before the entry was sent (reconciliation adopts it), and taken while it was
partly filled (the books know it, not its later trades).

A pin of the end-to-end case the soak saw: both pass on main, also with the settle path of
``Execution._apply`` (a terminal report whose trade is already booked) disabled, since here
reconciliation adopts or follows the entry and books each later trade with its own report (that
path stays pinned by ``test_reconcile_settles_filled.py``). Checked to fail when the verdict
stops recognising booked trades by id (every later pass would then find them "not booked")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest
import sqlalchemy as sa

from rampart.domain.events import Event, FillBooked, OrderUpdated
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.queries import load_checkpoint
from rampart.store.writer import StoreWriter

from .helpers import SYMBOL, Chaos, chaos

D = Decimal
PARAMS = {"every": 2, "hold": 100_000}
"""An entry, then the position held: the only trades are the entry's."""
HOLD = {"a1": PARAMS}
THIN = D("0.0005")
"""The simulator's participation: a market entry fills a part on each candle (6 trades over 5
candles here), as a real exchange fills a large one over seconds."""
CHECKPOINT = "older-checkpoint"
LIMIT = 60


def _entries(rig: Chaos) -> list[str]:
    acct = rig.eng.accounts["a1"]
    return [o.client_id for o in acct.orders.values() if o.role is OrderRole.ENTRY]


def _partly_filled(rig: Chaos) -> bool:
    acct = rig.eng.accounts["a1"]
    return any(
        o.role is OrderRole.ENTRY and o.status is OrderStatus.PARTIALLY_FILLED
        for o in acct.orders.values()
    )


def _not_yet_sent(rig: Chaos) -> bool:
    return not rig.sim.exchange.trades["a1"] and not _entries(rig)


async def _until(rig: Chaos, ready: Callable[[Chaos], bool]) -> None:
    for _ in range(LIMIT):
        if ready(rig):
            return
        await rig.step()
    raise AssertionError("the entry never reached the state the checkpoint is taken in")


async def _entry_ended(rig: Chaos) -> None:
    for _ in range(LIMIT):
        await rig.step()
        acct = rig.eng.accounts["a1"]
        if SYMBOL in acct.ledger.positions and not _entries(rig):
            return
    raise AssertionError("the entry never ended")


def _last_status(events: list[Event], client_id: str) -> str:
    updates = [e for e in events if isinstance(e, OrderUpdated) and e.order.client_id == client_id]
    return updates[-1].order.status.value


@pytest.mark.parametrize(
    "taken", [_not_yet_sent, _partly_filled], ids=["before-the-entry", "entry-partly-filled"]
)
def test_a_restart_from_a_checkpoint_older_than_the_last_fills_settles_the_entry(
    db_url: str, taken: Callable[[Chaos], bool]
) -> None:
    db = open_database(db_url)
    writer = StoreWriter(db)

    async def go() -> None:
        async with chaos(HOLD) as rig:
            rig.sim.exchange.core.participation = THIN
            rig.bus.subscribe(writer)
            await _until(rig, taken)
            writer.flush((CHECKPOINT, rig.clock.now_ms(), rig.eng.snapshot()))
            at_checkpoint = {t.trade_id for t in rig.sim.exchange.trades["a1"]}
            await _entry_ended(rig)  # more fills, booked and stored, no checkpoint
            writer.flush()
            later = {t.trade_id for t in rig.sim.exchange.trades["a1"]} - at_checkpoint
            assert len(later) >= 2, later  # the entry's last trades came after the checkpoint
            (entry_id,) = {
                e.fill.client_id
                for e in rig.events
                if isinstance(e, FillBooked) and e.role == OrderRole.ENTRY.value
            }
            position = rig.eng.accounts["a1"].ledger.positions[SYMBOL].qty
            ended = _last_status(rig.events, entry_id)
            assert OrderStatus(ended).terminal
            await rig.stop_engine()  # a restart: the process is gone

            found = load_checkpoint(db, CHECKPOINT)
            assert found is not None
            after: list[Event] = []
            rig.bus.subscribe(after.append)
            await rig.start_engine(HOLD, found[1])
            acct = rig.eng.accounts["a1"]
            first = await rig.reconcile(reason="start")
            assert not _entries(rig), first.to_dict()  # terminal at this pass
            booked = [e.fill.fill_id for e in after if isinstance(e, FillBooked)]
            assert len(booked) == len(set(booked))  # no fill booked twice
            assert {f.rsplit(":", 1)[1] for f in booked} == {str(t) for t in later}
            assert acct.ledger.positions[SYMBOL].qty == position
            assert first.matches, first.differences
            for _ in range(2):  # the passes after it repair nothing and book nothing
                seen = len(after)
                again = await rig.reconcile(reason="interval")
                assert again.matches and not again.repairs, again.to_dict()
                assert not [e for e in after[seen:] if isinstance(e, FillBooked)]
            assert rig.truth() == []
            writer.flush()
            with db.connect() as conn:
                stored = conn.execute(
                    sa.select(m.orders.c.status).where(m.orders.c.client_id == entry_id)
                ).scalar()
                fills = conn.execute(
                    sa.select(m.fills.c.fill_id).where(m.fills.c.account_id == "a1")
                ).all()
            assert stored == ended  # as the exchange ended it (the rest of a market order expires)
            trades = {str(t.trade_id) for t in rig.sim.exchange.trades["a1"]}
            assert sorted(f.rsplit(":", 1)[1] for (f,) in fills) == sorted(trades)

    try:
        asyncio.run(go())
    finally:
        db.dispose()
