"""A shard's takeover on the exchange simulator through the real ccxt client, built the same way
twice so that a sequential and an overlapped reconciliation can be compared (the simulator, the
agents, the injected real time and the clients' retries are all seeded or driven by the test).

The world: accounts trade with brackets; a checkpoint is taken; they go on trading (orders the
old owner sent after its checkpoint: entries, their pairs, exits); the owner stops and the
market goes on with no one looking (stops and take-profits execute on the exchange); a new
engine loads the checkpoint and reconciles as at a start (:func:`taken_over`). What a pass did
is read back per account, without what depends on the order the exchange received requests in
(its order ids): :func:`outcome`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from decimal import Decimal
from typing import Any

from rampart.domain.events import FillBooked, OrderUpdated, ReconciliationRepaired, TradeClosed
from rampart.trading.reconcile.context import ReconcileReport

from .helpers import SYMBOL, Chaos, chaos

D = Decimal
PLANS = ((2, 4), (2, 6), (3, 9), (2, 14), (2, 100), (3, 100), (5, 100), (7, 100))
"""(every, hold) of each account's agent: when it may enter, how many candles it holds."""
ACCOUNTS = {f"a{i}": {"every": e, "hold": h} for i, (e, h) in enumerate(PLANS, 1)}
"""Each enters when flat and exits after its hold: after the checkpoint some exit, some enter
again (orders to adopt), others keep the position until its bracket executes while no one
looks (a fill the venue reports when polled)."""


@asynccontextmanager
async def taken_over(
    before: int = 12, after: int = 5, away: int = 20
) -> AsyncIterator[tuple[Chaos, dict[str, Any]]]:
    """The world up to the new owner's start (its engine loaded from the checkpoint, nothing
    reconciled yet); yields the rig and the checkpoint."""
    async with chaos(ACCOUNTS) as rig:
        await rig.step(before)
        checkpoint = json.loads(json.dumps(rig.eng.snapshot()))
        venue = checkpoint["venue"]
        venue["tracked"] = [t for t in venue["tracked"] if t["account_id"] not in UNFOLLOWED]
        booked = rig.book.copy()  # what the checkpoint's books hold
        await rig.step(after)  # sent after the checkpoint: to be adopted
        await rig.stop_engine()  # a SIGKILL: nothing written
        await rig.market(away)  # brackets execute on the exchange meanwhile
        for account_id in BY_HAND:  # and two investors cancel their stop in their own app
            await _cancel_stop(rig, account_id)
        rig.events.clear()
        rig.book.restore(booked)
        await rig.start_engine(ACCOUNTS, checkpoint)
        yield rig, checkpoint


UNFOLLOWED = ("a3", "a5")
"""Accounts whose orders the checkpoint's venue state does not follow (saved by an adapter that
had lost them): the new owner looks each one up by its client order id."""
BY_HAND = ("a4", "a7")
"""Accounts whose investor cancels the position's stop (and so its pair) while no one looks:
the new owner must protect the position again before it trades."""


async def _cancel_stop(rig: Chaos, account_id: str) -> None:
    opened = rig.sim_state(account_id)["open_orders"]
    stop = next(o for o in opened if o["type"] == "stop_market")
    by_hand = rig.by_hand(account_id)  # the investor's own app, same key
    try:
        await by_hand.cancel_order(str(stop["order_id"]), SYMBOL)
    finally:
        await by_hand.close()


def outcome(rig: Chaos, report: ReconcileReport) -> dict[str, Any]:
    """Everything the pass booked, per account and in order, and its report."""
    events: dict[str, dict[str, list[Any]]] = {a: {} for a in rig.eng.accounts}

    def add(account_id: str, kind: str, item: Any) -> None:
        events[account_id].setdefault(kind, []).append(item)

    for e in rig.events:
        if isinstance(e, FillBooked):
            f = e.fill
            add(f.account_id, "fills", (f.fill_id, f.client_id, f.side, f.qty, f.price, f.fee))
        elif isinstance(e, ReconciliationRepaired):
            add(e.account_id, "repairs", (e.kind, e.client_id, e.symbol, e.detail))
        elif isinstance(e, OrderUpdated):
            o = e.order
            add(o.account_id, "orders", (o.client_id, e.previous, o.status, o.filled_qty))
        elif isinstance(e, TradeClosed):
            t = e.trade
            add(t.account_id, "trades", (t.entry_client_id, t.qty, t.pnl, t.exit_reason))
    books = {}
    for account_id, acct in rig.eng.accounts.items():
        ledger = acct.ledger
        books[account_id] = {
            "cash": ledger.cash,
            "capital": ledger.capital,
            "realized": ledger.realized_pnl,
            "positions": {s: (p.qty, p.avg_price) for s, p in ledger.positions.items()},
            "apart": dict(acct.held_apart),
            "dust": dict(ledger.dust),
            "seq": acct.seq,
            "orders": {
                c: (o.role, o.status, o.qty, o.filled_qty, o.price, o.stop_price)
                for c, o in acct.orders.items()
            },
            "brackets": dict(acct.brackets),
            "close_only": acct.close_only,
        }
    return {
        "repairs": Counter(report.repairs),
        "differences": list(report.differences),
        "books": books,
        "events": events,
    }


def checked(rig: Chaos) -> None:
    """The books equal the exchange, every fill is booked once, every position is protected."""
    assert rig.truth() == []
    accounting = rig.accounting()
    assert accounting.lost == 0 and accounting.duplicated == 0, accounting.details
    protection = rig.protection
    before = protection.unprotected
    protection.check(rig.eng, rig.sim.exchange)
    assert protection.unprotected == before, protection.samples[-3:]


Around = Callable[[str, str], AbstractAsyncContextManager[Any]]
"""``around(account_id, call)``: entered before each venue read of one account a test watches,
left when the read has answered."""

READS = (
    "fetch_order",
    "fetch_open_orders",
    "fetch_recent_orders",
    "fetch_fills",
    "fetch_balances",
    "refresh",
)


def watch_reads(rig: Chaos, around: Around) -> None:
    """Wrap each read of one account on the rig's venue in ``around``."""
    venue = rig.ven
    for name in READS:
        real = getattr(venue, name)

        def wrapped(account_id: str | None = None, *args: Any, _real: Any = real,
                    _name: str = name, **kwargs: Any) -> Any:  # fmt: skip
            async def call() -> Any:
                if account_id is None:
                    return await _real(account_id, *args, **kwargs)
                async with around(account_id, _name):
                    return await _real(account_id, *args, **kwargs)

            return call()

        setattr(venue, name, wrapped)


__all__ = ["ACCOUNTS", "READS", "checked", "outcome", "taken_over", "watch_reads"]
