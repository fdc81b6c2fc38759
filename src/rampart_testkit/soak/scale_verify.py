"""The scale soak's record against the exchange simulator's own.

No one process saw every order: shards moved between workers, crashed workers lost what they
had not saved, paused ones were refused. What counts is what the store holds once every shard
is held again and checkpointed, against what the exchange did: every order of ours on the
exchange is in the store's orders (none lost), no client order id is on the exchange twice
(none duplicated), every exchange trade is one fill in the store and every stored fill is an
exchange trade (none lost, none booked twice or made up)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

import sqlalchemy as sa

from rampart.store import models as m
from rampart.trading.engine import Engine
from rampart.trading.reconcile.books import UNSETTLED, parse_client_id
from rampart_testkit.simulator.exchange import SimExchange
from rampart_testkit.soak.verify import Accounting


def trade_id(fill_id: str) -> int:
    tail = fill_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def store_records(db: sa.Engine) -> tuple[dict[str, set[str]], dict[str, Counter[int]]]:
    """Client order ids and exchange trade ids (with their counts) per account in the store."""
    orders: dict[str, set[str]] = defaultdict(set)
    fills: dict[str, Counter[int]] = defaultdict(Counter)
    with db.connect() as conn:
        for account_id, client_id in conn.execute(
            sa.select(m.orders.c.account_id, m.orders.c.client_id)
        ):
            orders[str(account_id)].add(str(client_id))
        for account_id, fill_id in conn.execute(sa.select(m.fills.c.account_id, m.fills.c.fill_id)):
            fills[str(account_id)][trade_id(str(fill_id))] += 1
    return orders, fills


def account(
    db: sa.Engine, exchange: SimExchange, account_ids: Iterable[str], engines: Iterable[Engine]
) -> Accounting:
    """Lost and duplicated orders and fills: the exchange against the store; orders still
    unsettled in the engines that hold the shards at the end."""
    out = Accounting()
    orders, fills = store_records(db)
    for account_id in account_ids:
        sub = exchange.sub(account_id)
        ids = [o.client_id for o in (*sub.open.values(), *sub.done.values()) if o.seq > 0]
        ours = [c for c in ids if parse_client_id(account_id, c) is not None]
        out.duplicated_orders += len(ours) - len(set(ours))
        lost = sorted(set(ours) - orders[account_id])
        out.lost_orders += len(lost)
        out.details.extend(
            f"{account_id}: order {c} is on the exchange, not in the store" for c in lost[:3]
        )
        trades = {t.trade_id for t in exchange.trades[account_id]}
        booked = fills[account_id]
        missing = trades - set(booked)
        out.lost_fills += len(missing)
        out.details.extend(
            f"{account_id}: trade {t} is not in the store" for t in sorted(missing)[:3]
        )
        phantom = set(booked) - trades
        out.duplicated_fills += len(phantom) + sum(n - 1 for n in booked.values() if n > 1)
        out.details.extend(
            f"{account_id}: fill {t} in the store is no exchange trade" for t in sorted(phantom)[:3]
        )
    for engine in engines:
        out.unresolved_orders += sum(
            1 for a in engine.accounts.values() for o in a.orders.values() if o.status in UNSETTLED
        )
    out.orders_on_exchange = exchange.counters.orders
    out.fills_on_exchange = exchange.counters.fills
    return out


def unsettled(engine: Engine) -> bool:
    """An order of the engine's is not confirmed by the exchange yet."""
    return any(o.status in UNSETTLED for a in engine.accounts.values() for o in a.orders.values())


def stop_loss_invariants(db: sa.Engine) -> int:
    """Candles after which an open position had no live stop-loss, as the engines recorded
    them (every owner's, the dropped ones' included as far as they were saved)."""
    c = m.account_events.c
    with db.connect() as conn:
        query = sa.select(sa.func.count()).where(c.kind == "invariant", c.new == "stop_loss")
        return int(conn.execute(query).scalar_one())


__all__ = ["account", "stop_loss_invariants", "store_records", "trade_id", "unsettled"]
