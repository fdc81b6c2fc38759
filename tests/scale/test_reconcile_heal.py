"""A shard's new holder heals its books from the venue in one reconciliation pass, on
the real ccxt client against the exchange simulator: an order sent after the last checkpoint is
adopted with its fill; an order the books hold as sent, which the exchange no longer finds by
its client order id, is settled from the account's trade history; an earlier guessed sale
(``adj-``) of coins the venue still holds is reversed. Each is a repair in the audit trail, and
the books equal the venue after the pass. An unconfirmed order with no trade at all is closed
after a bounded number of passes instead of blocking its account's balances for good."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event, ReconciliationRepaired
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.domain.positions import Adjustment
from rampart.risk.profiles import get_profile
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter
from rampart.trading.account import AccountRuntime, Bracket
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile import books
from rampart.trading.reconcile.history import SETTLE_AFTER_PASSES, SETTLED
from rampart.trading.reconcile.reconciler import Reconciler
from tests.exchange.helpers import SYMBOL, Rig, rig
from tests.trading.helpers import ScriptedAgent

D = Decimal
ETH = "ETH/USDT"
NOT_FOUND = {"status": 503, "code": -2013}
"""Binance's "Order does not exist" for a lookup by client order id."""


async def _engine(r: Rig, accounts: list[str]) -> tuple[Engine, list[Event]]:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    agent = ScriptedAgent(lambda i, view: [])
    engine = Engine(
        venue=r.venue,
        clock=r.clock,
        bus=bus,
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=lambda name: get_profile(name),
        taker_fee=D("0.001"),
    )
    for account_id in accounts:
        spec = AccountSpec(account_id, "scripted", "moderate", D("10000"), (SYMBOL, ETH))
        await engine.add_account(spec)
    return engine, events


async def _place(r: Rig, account_id: str, symbol: str, client_id: str, qty: str) -> None:
    """An order that reached the exchange while the books lost track of it."""
    client = r.venue.client(account_id)
    await client.create_order(symbol, "market", "buy", float(qty), None, {
        "newClientOrderId": client_id
    })  # fmt: skip


def _sent(acct: AccountRuntime, seq: int, qty: str, ts: int) -> Order:
    return Order(
        client_id=client_order_id(acct.account_id, seq, OrderRole.ENTRY),
        account_id=acct.account_id,
        symbol=SYMBOL,
        side=Side.BUY,
        type=OrderType.MARKET,
        qty=D(qty),
        role=OrderRole.ENTRY,
        strategy="scripted",
        created_at=ts,
        updated_at=ts,
    )


async def _guessed_sale(engine: Engine, acct: AccountRuntime, price: Decimal, ts: int) -> None:
    """The books bought 0.01 BTC, then a pass found it missing (the venue was read mid-change)
    and booked it as sold outside Rampart at a guessed price: an ``adj-`` fill."""
    entry = client_order_id(acct.account_id, 1, OrderRole.ENTRY)
    acct.brackets[entry] = Bracket(price * D("0.95"), price * D("1.1"))
    executor = engine.executor
    executor.hold_protection.add(acct.account_id)  # no bracket for a position about to go
    qty = D("0.01")
    buy = Fill("v-old-1", entry, acct.account_id, SYMBOL, Side.BUY, qty, price, D(0),
               Liquidity.TAKER, ts)  # fmt: skip
    await executor.book_fill(acct, buy, OrderRole.ENTRY, "scripted", entry)
    acct.add_adjustment(Adjustment(SYMBOL, qty, price, ts))
    guess = Fill(f"adj-guess-{ts}", "", acct.account_id, SYMBOL, Side.SELL, qty, price, D(0),
                 Liquidity.TAKER, ts)  # fmt: skip
    await executor.book_fill(acct, guess, OrderRole.EXTERNAL, "scripted", entry)
    executor.hold_protection.discard(acct.account_id)
    await executor.drain()


def _books_equal_venue(r: Rig, engine: Engine) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for account_id, acct in engine.accounts.items():
        held = r.sim.exchange.sub(account_id).balances()
        wrong = []
        cash = held["USDT"].total if "USDT" in held else D(0)
        if abs(cash - acct.ledger.cash) > D("1e-8"):
            wrong.append(f"cash {acct.ledger.cash} vs {cash}")
        for symbol in (SYMBOL, ETH):
            base = symbol.split("/")[0]
            venue = held[base].total if base in held else D(0)
            pos = acct.ledger.positions.get(symbol)
            mine = (pos.qty if pos else D(0)) + acct.ledger.dust.get(symbol, D(0))
            if abs(mine - venue) > D("1e-8"):
                wrong.append(f"{symbol} {mine} vs {venue}")
        out[account_id] = wrong
    return out


def test_one_pass_adopts_a_missing_fill_reverses_a_phantom_and_settles_from_history(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        accounts = {"a1": {"USDT": "10000"}, "a2": {"USDT": "10000", "BTC": "0.01"}}
        async with rig(accounts, symbols=(SYMBOL, ETH)) as r:
            engine, events = await _engine(r, ["a1", "a2"])
            db = open_database(f"sqlite:///{tmp_path / 'store.db'}")
            writer = StoreWriter(db)
            engine.bus.subscribe(writer)
            a1, a2 = engine.accounts["a1"], engine.accounts["a2"]
            a1.seq = 5  # the checkpoint the new holder resumed from knew ids up to 5
            now = r.clock.now_ms()

            # Sent and filled, but the books hold it as just sent, and the exchange cannot
            # find it by its client order id any more.
            stuck = _sent(a1, 5, "0.01", now)
            books.register(engine, a1, stuck, now)
            r.venue.follow(stuck)
            await _place(r, "a1", SYMBOL, stuck.client_id, "0.01")
            # Sent after the checkpoint and filled: the books know nothing of it.
            lost = client_order_id("a1", 6, OrderRole.ENTRY)
            await _place(r, "a1", ETH, lost, "0.1")
            await _guessed_sale(engine, a2, r.price(), now)
            r.sim.faults.add("error", paths=["/api/v3/order"], methods=["GET"], **NOT_FOUND)
            await r.advance(1)  # past the grace period of the unconfirmed order

            report = await Reconciler(unknown_grace_s=30).run(engine, reason="start")

            kinds = {
                (e.account_id, e.kind) for e in events if isinstance(e, ReconciliationRepaired)
            }
            assert {
                ("a1", "order_settled_from_history"),
                ("a1", "order_adopted"),
                ("a1", "fill_booked"),
                ("a2", "phantom_fill_reversed"),
            } <= kinds
            assert report.differences == []
            assert _books_equal_venue(r, engine) == {"a1": [], "a2": []}
            assert a1.orders.get(stuck.client_id) is None or (
                a1.orders[stuck.client_id].status is OrderStatus.FILLED
            )
            writer.flush()
            with db.connect() as conn:
                stored = {
                    (str(row.account_id), str(row.kind))
                    for row in conn.execute(
                        sa.select(
                            m.reconciliation_repairs.c.account_id, m.reconciliation_repairs.c.kind
                        )
                    )
                }
                fills = {str(f) for f in conn.execute(sa.select(m.fills.c.fill_id)).scalars()}
            db.dispose()
            assert kinds <= stored  # every repair is in the audit trail
            assert any(f.startswith("rev-") for f in fills)

    asyncio.run(go())


def test_an_unconfirmed_order_without_a_trade_is_closed_after_bounded_passes() -> None:
    async def go() -> None:
        async with rig(symbols=(SYMBOL, ETH)) as r:
            engine, events = await _engine(r, ["a1"])
            a1 = engine.accounts["a1"]
            now = r.clock.now_ms()
            stuck = _sent(a1, 3, "0.01", now)
            a1.seq = 3
            books.register(engine, a1, stuck, now)
            r.venue.follow(stuck)  # taken for acknowledged: the venue waits for it for good
            await r.advance(1)
            reconciler = Reconciler(unknown_grace_s=30)
            verdicts = []
            for _ in range(SETTLE_AFTER_PASSES):
                report = await reconciler.run(engine, reason="interval")
                verdicts.append(any("still unconfirmed" in d for d in report.differences))
                await r.advance(1)
            settled = [
                e.kind
                for e in events
                if isinstance(e, ReconciliationRepaired) and e.client_id == stuck.client_id
            ]
            assert verdicts == [True] * (SETTLE_AFTER_PASSES - 1) + [False]
            assert settled == [SETTLED]
            assert stuck.client_id not in r.venue.following("a1")
            assert report.differences == []

    asyncio.run(go())
