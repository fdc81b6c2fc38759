"""What the chain says became of an attempt, as the venue reports it (the survivors
of ``venues/solana/attempts.py``): the words an expired or refused attempt leaves in the
journal and in the order's rejection, the landing block's time on the fill, a node whose
``getTransaction`` is not yet in step with its statuses, the quoted amounts journaled in each
token's own decimals, and a bags.fm fee in the quote token (BONK/USDC: 5 and 6 decimals)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.venues.solana.attempts import best_quote
from rampart.venues.solana.journal import FAILED, FILLED, SENT

from .venue_kit import SOL, USDC, Desk, order, with_desk

D = Decimal
INSUFFICIENT = {"InstructionError": [1, {"Custom": 1}]}
"""The stand-in's error for a swap whose wallet no longer holds its input (as the swap
programs' own ``custom program error: 0x1``)."""
LANDED_MS = 1_650_000_123_456
"""The stand-in's clock when a transaction lands: its ``blockTime`` is this in seconds."""


def test_an_attempt_whose_blockhash_expired_says_so_in_the_journal_and_the_rejection() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("expire", count=1)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [rec] = await desk.journal.for_client("b1")
        assert rec.err == "its blockhash expired before it landed"
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "attempts_exhausted"
        assert last.reason == (
            "The swap did not go through in 1 attempts (its blockhash expired before it landed)."
        )

    with_desk(body, slots_per_sleep=5, max_attempts=1, route={"routes": ["jupiter"]})


def test_a_swap_landing_with_another_error_is_refused_with_the_chains_own_error() -> None:
    # The sell is sent while the wallet holds its SOL; the SOL leaves by hand before it lands,
    # so it lands with the program's insufficient-funds error: not slippage, refused as is.
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("s1", Side.SELL, "0.5"))
        [sent] = await desk.journal.for_client("s1")
        assert sent.status == SENT and desk.fills() == []
        desk.sim.transfer(desk.pubkey, SOL, desk.sim.balance(desk.pubkey, SOL))
        await desk.sim.advance(3)
        await desk.venue.poll()
        [rec] = await desk.journal.for_client("s1")
        assert rec.status == FAILED and rec.err == json.dumps(INSUFFICIENT)
        assert rec.fee_lamports > 0  # a landed failure still paid its network fee
        assert ("jupiter", "refused") in desk.obs.swaps
        assert ("jupiter", "slippage") not in desk.obs.swaps
        last = desk.reports[-1]
        assert last.status is OrderStatus.REJECTED and last.code == "attempts_exhausted"
        assert last.reason == (
            f"The swap did not go through in 1 attempts ({json.dumps(INSUFFICIENT)})."
        )
        assert desk.fills() == []

    with_desk(
        body,
        slots_per_sleep=0,
        confirm_timeout_s=0.2,
        max_attempts=1,
        route={"routes": ["jupiter"]},
    )


def test_a_fill_is_stamped_with_the_time_of_the_block_it_landed_in() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [report] = desk.fills()
        assert report.fill is not None
        # The block's time (whole seconds), not the venue's clock (1_700_000_000_000).
        assert report.fill.ts == LANDED_MS // 1000 * 1000

    with_desk(body, sim_options={"clock": lambda: LANDED_MS}, route={"routes": ["jupiter"]})


class NotInStep(httpx.AsyncBaseTransport):
    """The stand-in's nodes, behind a load balancer whose node that answers ``getTransaction``
    is behind the one that answered the statuses: ``null`` (a transaction it has not seen)
    for the first ``lagging`` asks, then a ``blockTime`` of ``null`` ("not available", as
    the RPC documents it) once it has the transaction."""

    def __init__(self, lagging: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lagging = lagging
        self.asked = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        response = await self.inner.handle_async_request(request)
        if not isinstance(body, dict) or body.get("method") != "getTransaction":
            return response
        await response.aread()
        answer = json.loads(response.content)
        self.asked += 1
        if self.asked <= self.lagging:
            answer["result"] = None
        elif isinstance(answer.get("result"), dict):
            answer["result"]["blockTime"] = None
        return httpx.Response(response.status_code, json=answer)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_transaction_the_node_has_not_caught_up_with_is_asked_again_not_sent_again() -> None:
    async def body(desk: Desk) -> None:
        behind = NotInStep(lagging=2)
        async with httpx.AsyncClient(transport=behind) as http:
            desk.venue.rpc.client = http
            await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        assert behind.asked == 3
        # One attempt, one transaction, one fill: a null transaction is "not yet", never "lost".
        [rec] = await desk.journal.for_client("b1")
        assert rec.status == FILLED
        assert len(desk.sim.state()["transactions"]) == 1
        [report] = desk.fills()
        assert report.fill is not None and report.fill.qty == D("0.2")
        # No block time from the node: the fill is stamped at the venue's clock.
        assert report.fill.ts == desk.venue.clock.now_ms()
        assert [s for s in desk.obs.swaps if s[0] == "jupiter"] == [("jupiter", "filled")]

    with_desk(body, route={"routes": ["jupiter"]})


def test_an_order_in_flight_is_reported_for_its_own_quantity_in_each_tokens_decimals() -> None:
    # Jupiter quotes a buy as an exact output of base and a sell as an exact input of base:
    # the order's quantity, journaled in SOL's 9 decimals, the USDC side in its 6.
    async def body(desk: Desk) -> None:
        await desk.venue.submit(order("b1", Side.BUY, "0.5"))
        await desk.venue.submit(order("s1", Side.SELL, "0.3"))
        buy = await desk.venue.fetch_order("alice", "b1")
        sell = await desk.venue.fetch_order("alice", "s1")
        assert buy is not None and sell is not None
        assert (buy.status, buy.qty, buy.filled_qty) == (OrderStatus.SUBMITTED, D("0.5"), 0)
        assert (sell.status, sell.qty, sell.filled_qty) == (OrderStatus.SUBMITTED, D("0.3"), 0)
        [b] = await desk.journal.for_client("b1")
        [s] = await desk.journal.for_client("s1")
        assert (b.quoted_out, s.quoted_in) == (D("0.5"), D("0.3"))
        # The USDC legs at about 150 a SOL, read in USDC's decimals (not SOL's).
        assert D(70) < b.quoted_in < D(80) and D(40) < s.quoted_out < D(50)
        assert (b.in_mint, b.out_mint, s.in_mint, s.out_mint) == (USDC, SOL, SOL, USDC)

    with_desk(body, slots_per_sleep=0, confirm_timeout_s=0.2, route={"routes": ["jupiter"]})


def test_a_bags_fee_in_the_quote_token_is_read_in_its_decimals() -> None:
    # On BONK/USDC bags.fm takes its fee in USDC (6 decimals), not in BONK (5).
    async def body(desk: Desk) -> None:
        bonk = Order(
            "k1", "alice", "BONK/USDC", Side.BUY, OrderType.MARKET, D(1_000_000), OrderRole.ENTRY
        )
        usdc0 = desk.sim.balance(desk.pubkey, USDC)
        await desk.venue.submit(bonk)
        [rec] = await desk.journal.for_client("k1")
        [tx] = desk.sim.state()["transactions"]
        assert rec.status == FILLED and rec.route == "bags"
        assert tx["fee_mint"] == USDC and tx["platform_fee"] > 0
        assert rec.platform_fee_mint == USDC
        assert rec.platform_fee == D(tx["platform_fee"]).scaleb(-6)
        [report] = desk.fills()
        fill = report.fill
        assert fill is not None and fill.fee == rec.platform_fee  # a USDC fee is its own value
        assert fill.notional + fill.fee == D(usdc0 - desk.sim.balance(desk.pubkey, USDC)).scaleb(-6)

    with_desk(body, route={"routes": ["bags"]})


def test_the_best_quote_is_asked_with_the_slippage_it_allows() -> None:
    async def body(desk: Desk) -> None:
        await desk.venue.ready()
        market = desk.venue.markets.market("SOL/USDC")
        quote = await best_quote(desk.venue.routes, market, Side.SELL, D("0.5"), 50, 30)
        assert (quote.route, quote.in_amount, quote.slippage_bps) == ("jupiter", 5 * 10**8, 50)
        # The least it accepts for 0.5 SOL: 50 bps under the quoted output, no further.
        assert quote.threshold == quote.out_amount * (10_000 - 50) // 10_000

    with_desk(body, route={"routes": ["jupiter"]})
