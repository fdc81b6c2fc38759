"""After a restart: held bracket legs are held again (not found missing by reconciliation),
and the memory of filled client ids stays bounded on a long-running service."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rampart.domain.orders import OrderRole, OrderStatus, OrderType, Side
from rampart.venues.solana import venue as venue_module

from .venue_kit import Desk, order, with_desk


def test_bracket_legs_followed_after_a_restart_are_held_again() -> None:
    async def body(desk: Desk) -> None:
        restarted = desk.new_venue()
        sl = replace(order("sl", Side.SELL, "1", OrderType.STOP_MARKET), role=OrderRole.STOP_LOSS)
        tp = replace(order("tp", Side.SELL, "1", OrderType.LIMIT), role=OrderRole.TAKE_PROFIT)
        restarted.follow(sl)
        restarted.follow(tp)
        # Held here, as before the restart: nothing to look up on chain or in the journal.
        assert restarted.following("alice") == {"sl": True, "tp": True}
        assert await restarted.fetch_open_orders("alice") == []
        await restarted.poll()
        assert desk.reports == []
        await restarted.cancel("alice", "sl")
        assert desk.reports[-1].status is OrderStatus.CANCELED
        assert desk.sim.state()["transactions"] == []

    with_desk(body)


def test_held_legs_come_back_with_the_engines_checkpoint() -> None:
    async def body(desk: Desk) -> None:
        sl = replace(order("sl", Side.SELL, "1", OrderType.STOP_MARKET), role=OrderRole.STOP_LOSS)
        tp = replace(order("tp", Side.SELL, "1", OrderType.LIMIT), role=OrderRole.TAKE_PROFIT)
        await desk.venue.submit_oco(sl, tp)
        saved = json.loads(json.dumps(desk.venue.snapshot()))  # as the checkpoint stores it
        restarted = desk.new_venue()
        restarted.load_snapshot(saved)
        assert restarted.following("alice") == {"sl": True, "tp": True}
        assert restarted.snapshot() == saved

    with_desk(body)


def test_filled_client_ids_are_remembered_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(venue_module, "FILLED_MEMORY", 2)

    async def body(desk: Desk) -> None:
        for i in range(3):
            await desk.venue.submit(order(f"buy{i}", Side.BUY, "0.1"))
        assert len(desk.fills()) == 3
        assert list(desk.venue._filled) == ["buy1", "buy2"]
        # A repeat of a remembered id changes nothing on chain.
        await desk.venue.submit(order("buy2", Side.BUY, "0.1"))
        assert len(desk.sim.state()["transactions"]) == 3

    with_desk(body)
