"""The Solana venue's attempts of one order (survivors of
``venues/solana/venue.py``): each attempt counted once, a send the node refuses journaled and
rejected, a dropped send rebroadcast after exactly ``rebroadcast_ms`` (and again every
``rebroadcast_ms`` while it does not land; a rebroadcast no node took said in the log), and a
sell of SOL wrapping the whole input when the wrapped SOL held falls short of it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.venues.solana.attempts import best_quote
from rampart.venues.solana.journal import EXPIRED, FAILED, FILLED, REFUSED
from rampart.venues.solana.markets import from_base_units

from .venue_kit import SOL, Desk, order, with_desk

D = Decimal
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
NO_CREDIT = (
    "Transaction simulation failed: Attempt to debit an account but found no record of a "
    "prior credit."
)


@contextmanager
def warnings_logged() -> Iterator[list[dict[str, Any]]]:
    """The log entries of the block, every level (the suite logs errors only)."""
    quiet = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as logs:
            yield logs
    finally:
        structlog.configure(wrapper_class=quiet)


def test_each_attempt_is_counted_once() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slippage", count=5)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        recs = await desk.journal.for_client("b1")
        assert [(r.attempt, r.status) for r in recs] == [(1, FAILED), (2, FAILED), (3, FAILED)]
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "attempts_exhausted"
        assert last.reason == (
            "The swap did not go through in 3 attempts (price moved past the slippage limit)."
        )

    with_desk(body, max_attempts=3, route={"routes": ["jupiter"]})


def test_a_send_the_node_refuses_is_journaled_refused_and_the_order_rejected() -> None:
    # A wallet without lamports for the network fee: the node refuses the transaction.
    async def body(desk: Desk) -> None:
        desk.sim.chain.wallet(desk.pubkey).lamports = 0
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [rec] = await desk.journal.for_client("b1")
        assert (rec.status, rec.err) == (REFUSED, NO_CREDIT)
        assert desk.obs.swaps == [("jupiter", "refused")]
        last = desk.reports[-1]
        assert (last.status, last.code) == (OrderStatus.REJECTED, "refused")
        assert last.reason == f"The Solana node refused the swap: {NO_CREDIT}."
        assert desk.sim.state()["transactions"] == []
        assert desk.venue.following("alice") == {}

    with_desk(body, route={"routes": ["jupiter"]})


@pytest.mark.parametrize(("every_ms", "slots"), [(100, 1), (1_051, 11), (2_000, 20)])
def test_a_dropped_send_is_rebroadcast_after_exactly_rebroadcast_ms(
    every_ms: int, slots: int
) -> None:
    # A check every 0.1 s, each moving the chain a slot: a copy every 2 s is sent on the 20th
    # check (every 1.051 s: the 11th, 10.51 rounded; every 0.1 s: the first), and lands in the
    # slot after it is sent.
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("drop", count=1)
        start = desk.sim.chain.slot
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [tx] = desk.sim.state()["transactions"]
        assert tx["slot"] - start == slots
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == FILLED

    with_desk(body, rebroadcast_ms=every_ms, route={"routes": ["jupiter"]})


def test_a_swap_that_never_lands_is_sent_again_every_rebroadcast_ms_until_it_expires() -> None:
    # Its blockhash lives 150 slots: the first send, then a copy every 3 checks (0.35 s at a
    # check every 0.1 s, one slot each): 50 of them.
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("expire", count=1)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        sends = [c for c in desk.obs.calls if c[1] == "sendTransaction"]
        assert len(sends) == 51
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == EXPIRED

    with_desk(body, max_attempts=1, rebroadcast_ms=350, route={"routes": ["jupiter"]})


class FirstRebroadcastLost(httpx.AsyncBaseTransport):
    """The stand-in, with the first rebroadcast failing to reach any node: the second to fifth
    ``sendTransaction`` (the copy, to each of the two nodes, in each of the pool's two
    rounds)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sends = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        if isinstance(body, dict) and body.get("method") == "sendTransaction":
            self.sends += 1
            if 2 <= self.sends <= 5:
                raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_rebroadcast_no_node_took_is_said_in_the_log_and_tried_again() -> None:
    async def body(desk: Desk) -> None:
        flaky = FirstRebroadcastLost()
        async with httpx.AsyncClient(transport=flaky) as http:
            desk.venue.rpc.client = http
            desk.venue.rpc.sleep = desk.chain_sleep(0)  # the pool's backoff: no wall time
            desk.sim.add_fault("drop", count=1)
            with warnings_logged() as logs:
                await desk.venue.submit(order("b1", Side.BUY, "0.2"))
            refused = [e for e in logs if e["event"] == "swap_rebroadcast_refused"]
            assert refused and {(e["log_level"], e["order"]) for e in refused} == {("info", "b1")}
            assert refused[0]["error"].startswith("No Solana RPC node confirmed the transaction")
        # The next copy reached a node and landed: one transaction, one fill.
        [report] = desk.fills()
        assert report.fill is not None and report.fill.qty == D("0.2")
        assert len(desk.sim.state()["transactions"]) == 1

    with_desk(body, rebroadcast_ms=100, route={"routes": ["jupiter"]})


def test_a_sell_of_sol_wraps_native_sol_when_the_wrapped_sol_is_short_of_its_input() -> None:
    # 0.1 SOL wrapped and 1 SOL native: a sell of 0.5 SOL needs 0.5 wrapped, so the native SOL
    # above the gas reserve is wrapped first. Each wait is the configured poll, never another.
    async def body(desk: Desk) -> None:
        pk = desk.pubkey
        desk.sim.transfer(pk, SOL, desk.sim.balance(pk, SOL) - 10**8)
        slept: list[float] = []
        chain = desk.chain_sleep()

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await chain(seconds)

        desk.venue.sleep = sleep
        await desk.venue.submit(order("s1", Side.SELL, "0.5"))
        [report] = desk.fills()
        assert report.fill is not None and report.fill.qty == D("0.5")
        [rec] = await desk.journal.for_client("s1")
        assert rec.status == FILLED
        # All the native SOL above the 0.05 reserve was wrapped; 0.5 of it was sold.
        assert desk.sim.balance(pk, SOL) == 10**8 + (10**9 - 5 * 10**7) - 5 * 10**8
        assert slept and set(slept) == {0.1}

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_buy_paid_in_sol_wraps_enough_for_its_worst_price_not_its_quote() -> None:
    # An exact-output buy of BONK pays up to its quote's threshold (the slippage allowed). With
    # exactly the quoted input wrapped, the native SOL above the reserve is wrapped too, so a
    # price that moves 20 bps (within the 50 allowed) before it lands still goes through, on
    # the first attempt.
    async def body(desk: Desk) -> None:
        venue, pk = desk.venue, desk.pubkey
        await venue.ready()
        market = venue.markets.market("BONK/SOL")
        quote = await best_quote(venue.routes, market, Side.BUY, D(5_000_000), 50, 50)
        assert quote.mode == "ExactOut" and quote.threshold > quote.in_amount
        desk.sim.transfer(pk, SOL, desk.sim.balance(pk, SOL) - quote.in_amount)
        # The wrap is sent first and takes one: the swap itself meets the other.
        desk.sim.add_fault("slippage", count=2, bps=20)
        bonk = Order(
            "k1", "alice", "BONK/SOL", Side.BUY, OrderType.MARKET, D(5_000_000), OrderRole.ENTRY
        )
        await venue.submit(bonk)
        [rec] = await desk.journal.for_client("k1")
        assert rec.status == FILLED and rec.filled_in > from_base_units(quote.in_amount, 9)
        assert [r.status for r in desk.reports] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]

    market = {"base_mint": BONK, "quote_mint": SOL}
    with_desk(
        body,
        sim_options={"markets": {"SOL/USDC": "150", "BONK/SOL": "0.0000002"}},
        markets={"BONK/SOL": market},
        route={"routes": ["jupiter"]},
    )


def test_a_swap_that_landed_is_not_sent_again() -> None:
    # A copy on every check (0.1 s): the first send is dropped, the copy of the first check
    # lands, the second check still sees it only processed and sends one more copy; the third
    # finds it confirmed and sends nothing.
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("drop", count=1)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        sends = [c for c in desk.obs.calls if c[1] == "sendTransaction"]
        assert len(sends) == 3
        assert [r.client_id for r in desk.fills()] == ["b1"]

    with_desk(body, rebroadcast_ms=100, route={"routes": ["jupiter"]})
