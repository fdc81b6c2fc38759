"""What the Solana venue tells reconciliation and the service (survivors of
``venues/solana/venue.py``): the markets it loads, each account's wallet, the orders in flight
and done per account (open, one by one, recent with ``since_ms`` and ``limit``), fills the chain
shows landed before the venue checked, balances at the configured commitment, and an account
opened with more than its wallet holds."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import structlog
from solders.keypair import Keypair
from structlog.testing import capture_logs

from rampart.domain.errors import RampartError
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.venues.solana.journal import FILLED, SENT

from .venue_kit import SOL, USDC, Desk, order, with_desk

D = Decimal
T0 = 1_700_000_000_000


@contextmanager
def warnings_logged() -> Iterator[list[dict[str, Any]]]:
    """The log entries of the block, warnings included (the suite logs errors only)."""
    quiet = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=quiet)


def bob_order(cid: str, qty: str) -> Order:
    return Order(cid, "bob", "SOL/USDC", Side.BUY, OrderType.MARKET, D(qty), OrderRole.ENTRY)


async def connect_bob(desk: Desk) -> Keypair:
    bob = Keypair()
    desk.sim.fund(str(bob.pubkey()), lamports=10**9, tokens={USDC: 1_000 * 10**6})
    await desk.venue.connect_account("bob", str(bob.pubkey()), str(bob))
    return bob


def test_load_reads_the_markets_asked_for_and_only_them() -> None:
    async def body(desk: Desk) -> None:
        loaded = await desk.venue.load(["SOL/USDC"])
        assert list(loaded) == ["SOL/USDC"]
        assert loaded["SOL/USDC"].base == "SOL" and loaded["SOL/USDC"].quote == "USDC"

    with_desk(body)


def test_each_account_has_its_own_wallet_connected_and_disconnected() -> None:
    async def body(desk: Desk) -> None:
        assert desk.venue.wallet_address("alice") == desk.pubkey
        assert desk.venue.wallet_address("bob") is None
        bob = await connect_bob(desk)
        assert desk.venue.wallet_address("bob") == str(bob.pubkey())
        assert desk.venue.wallet_address("alice") == desk.pubkey
        # Bob's orders are signed by his wallet: his USDC pays, Alice's is untouched.
        alice_usdc = desk.sim.balance(desk.pubkey, USDC)
        await desk.venue.submit(bob_order("k1", "0.1"))
        assert desk.reports[-1].status is OrderStatus.FILLED
        assert desk.sim.balance(str(bob.pubkey()), SOL) == 10**8
        assert desk.sim.balance(desk.pubkey, USDC) == alice_usdc
        await desk.venue.disconnect_account("bob")
        assert desk.venue.wallet_address("bob") is None
        assert desk.venue.wallet_address("alice") == desk.pubkey
        await desk.venue.disconnect_account("carol")  # never connected: nothing to do

    with_desk(body, route={"routes": ["jupiter"]})


def test_orders_in_flight_and_done_are_read_per_account() -> None:
    async def body(desk: Desk) -> None:
        venue, clock = desk.venue, desk.venue.clock
        await connect_bob(desk)
        await venue.submit(order("b1", Side.BUY, "0.1"))
        clock.advance(1_000)  # type: ignore[attr-defined]
        await venue.submit(order("b2", Side.BUY, "0.2"))
        clock.advance(1_000)  # type: ignore[attr-defined]
        await venue.submit(bob_order("k1", "0.3"))
        sl = order("sl", Side.SELL, "0.1", OrderType.STOP_MARKET)
        tp = order("tp", Side.SELL, "0.1", OrderType.LIMIT)
        await venue.submit_oco(sl, tp)
        assert [r.status for r in await desk.journal.since(0)] == [SENT] * 3
        # In flight: the swaps sent (never the legs held here), each account its own.
        open_alice = await venue.fetch_open_orders("alice")
        assert [(o.client_id, o.status, o.qty) for o in open_alice] == [
            ("b1", OrderStatus.SUBMITTED, D("0.1")),
            ("b2", OrderStatus.SUBMITTED, D("0.2")),
        ]
        [open_bob] = await venue.fetch_open_orders("bob")
        assert (open_bob.client_id, open_bob.qty) == ("k1", D("0.3"))
        assert await venue.fetch_order("bob", "b1") is None
        # Landed and confirmed, not yet checked by the venue: the chain's fills are read.
        await desk.sim.advance(2)
        fills = await venue.fetch_fills("alice", "SOL/USDC")
        assert [(f.client_id, f.qty) for f in fills] == [("b1", D("0.1")), ("b2", D("0.2"))]
        assert [f.client_id for f in await venue.fetch_fills("bob", "SOL/USDC")] == ["k1"]
        assert [f.client_id for f in await venue.fetch_fills("alice", "SOL/USDC", limit=1)] == [
            "b2"
        ]
        since = await venue.fetch_fills("alice", "SOL/USDC", since_ms=T0 + 1_000)
        assert [f.client_id for f in since] == ["b2"]
        await venue.poll()
        assert [r.status for r in await desk.journal.since(0)] == [FILLED] * 3
        assert await venue.fetch_open_orders("alice") == []
        done = await venue.fetch_order("alice", "b2")
        assert done is not None and (done.status, done.filled_qty) == (OrderStatus.FILLED, D("0.2"))
        # Recent orders: per account and symbol, oldest first, from ``since_ms``, the last
        # ``limit`` of them.
        recent = await venue.fetch_recent_orders("alice", "SOL/USDC")
        assert [(o.client_id, o.status, o.ts) for o in recent] == [
            ("b1", OrderStatus.FILLED, T0),
            ("b2", OrderStatus.FILLED, T0 + 1_000),
        ]
        later = await venue.fetch_recent_orders("alice", "SOL/USDC", since_ms=T0 + 1)
        assert [o.client_id for o in later] == ["b2"]
        last = await venue.fetch_recent_orders("alice", "SOL/USDC", limit=1)
        assert [o.client_id for o in last] == ["b2"]
        assert [o.client_id for o in await venue.fetch_recent_orders("bob", "SOL/USDC")] == ["k1"]
        assert await venue.fetch_recent_orders("alice", "BONK/USDC") == []
        # Filled from the journal now, with the same limits.
        since = await venue.fetch_fills("alice", "SOL/USDC", since_ms=T0 + 1_000)
        assert [f.client_id for f in since] == ["b2"]

    with_desk(body, slots_per_sleep=0, confirm_timeout_s=0.2, route={"routes": ["jupiter"]})


def test_balances_are_read_at_the_configured_commitment() -> None:
    # A swap the node has processed but not yet confirmed is not in the balances.
    async def body(desk: Desk) -> None:
        before = await desk.venue.fetch_balances("alice")
        await desk.venue.submit(order("b1", Side.BUY, "0.5"))
        await desk.sim.advance(1)
        assert [t["status"] for t in desk.sim.state()["transactions"]] == ["processed"]
        processed = await desk.venue.fetch_balances("alice")
        assert processed["SOL"].free == before["SOL"].free
        assert processed["USDC"].free == before["USDC"].free
        await desk.sim.advance(1)
        confirmed = await desk.venue.fetch_balances("alice")
        assert confirmed["SOL"].free == before["SOL"].free + D("0.5")

    with_desk(body, slots_per_sleep=0, confirm_timeout_s=0.2, route={"routes": ["jupiter"]})


def test_an_account_opened_with_more_than_its_wallet_holds_is_said_in_the_log() -> None:
    async def body(desk: Desk) -> None:
        with warnings_logged() as logs:
            await desk.venue.open_account("alice", {"USDC": D(20_000), "SOL": D(1)})
        short = [e for e in logs if e["event"] == "venue_balance_short"]
        assert short == [
            {
                "event": "venue_balance_short",
                "log_level": "warning",
                "exchange": "solana",
                "account_id": "alice",
                "asset": "USDC",
                "free": "10000.000000",
                "capital": "20000",
            }
        ]

    with_desk(body)


def test_a_wallet_whose_secret_is_for_another_public_key_is_refused() -> None:
    async def body(desk: Desk) -> None:
        bob, carol = Keypair(), Keypair()
        with pytest.raises(RampartError):
            await desk.venue.connect_account("bob", str(carol.pubkey()), str(bob))
        assert desk.venue.wallet_address("bob") is None

    with_desk(body)
