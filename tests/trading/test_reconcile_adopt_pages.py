"""Reconciliation at a start reads the venue's newest orders once, a short page first:
a takeover read the newest 500 orders of every account twice (ids reserved, orders adopted),
and in a 30-minute chaos run that parsing grew a shard's takeover from 0.13 s to 2.6 s. The
short page is enough only when it reaches back past what the books know; when the books lost
more orders than it holds, the long read finds every one of them."""

from __future__ import annotations

import asyncio
from typing import Any

from rampart.domain.orders import OrderRole
from rampart.trading.reconcile.adopt import FIRST_PAGE, RECENT
from rampart.trading.reconcile.books import seq_of

from .reconcile_rig import START, Rig, rig

MANY = FIRST_PAGE + 10


async def _orders(r: Rig, count: int) -> list[str]:
    """``count`` resting orders sent and canceled on the exchange (each known to the books)."""
    out = []
    for _ in range(count):
        cid = await r.send(OrderRole.TAKE_PROFIT, "150")
        await r.venue.cancel("a1", cid)
        out.append(cid)
    await r.engine.executor.drain()
    return out


def _counted(r: Rig) -> list[int | None]:
    """The limits of the venue's order-list reads from now on."""
    limits: list[int | None] = []
    read = r.venue.fetch_recent_orders

    async def counted(*args: Any, **kwargs: Any) -> Any:
        limits.append(args[3] if len(args) > 3 else kwargs.get("limit"))
        return await read(*args, **kwargs)

    r.venue.fetch_recent_orders = counted  # type: ignore[method-assign]
    return limits


def _adopted(r: Rig) -> set[str]:
    return {str(e.client_id) for e in r.repairs("order_adopted")}


async def _takeover(known: int, lost: int) -> tuple[Rig, list[str], list[int | None]]:
    """``known`` orders in the checkpoint, ``lost`` sent after it; the shard taken over from
    that checkpoint: the rig, the lost orders' ids and the limits of the order-list reads."""
    r = await rig()
    await _orders(r, known)
    saved = r.checkpoint()
    sent = await _orders(r, lost)  # sent after the checkpoint the restart loads
    await r.restart(saved)
    limits = _counted(r)
    r.at(START + 60_000)
    await r.reconcile("takeover")
    return r, sent, limits


def test_a_few_orders_lost_among_many_are_found_in_the_first_page_read_once() -> None:
    r, lost, limits = asyncio.run(_takeover(MANY, 3))
    assert _adopted(r) == set(lost)
    assert limits == [FIRST_PAGE]  # one read for the ids and the adoption, the short one


def test_more_orders_lost_than_the_first_page_holds_are_all_adopted() -> None:
    r, lost, limits = asyncio.run(_takeover(0, MANY))
    assert _adopted(r) == set(lost)
    assert limits == [FIRST_PAGE, RECENT]
    assert r.acct.seq > seq_of(lost[-1])  # new ids past every lost one
