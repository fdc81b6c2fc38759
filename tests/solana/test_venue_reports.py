"""What the Solana venue reports and measures, and what it is built from (survivors
of ``venues/solana/venue.py``): reports at the venue's time with the attempt's signature, the
refusals of an order it cannot take, the metrics of a swap, a blockhash that ran out before the
send, a send no node confirmed, and a venue built with its own journal, HTTP client, routes,
known decimals and sleep."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import structlog
from structlog.testing import capture_logs

from rampart.clock import SimClock
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.venues.solana.journal import EXPIRED, FILLED, REFUSED
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.solana_sim import SolanaSimHandle

from .client_kit import Recorder
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


class Timed(Recorder):
    """A Recorder that keeps the seconds of each swap outcome too."""

    def __init__(self) -> None:
        super().__init__()
        self.timed: list[tuple[str, str, float]] = []

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        super().swap(route, outcome, seconds)
        self.timed.append((route, outcome, seconds))


def test_reports_carry_the_venues_time_and_the_attempts_signature() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.add_fault("slippage", count=1)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [rec] = await desk.journal.for_client("b1")
        submitted, rejected = desk.reports
        assert (submitted.status, submitted.ts, submitted.venue_order_id) == (
            OrderStatus.SUBMITTED,
            T0,
            None,
        )
        # The rejection names the last attempt's transaction.
        assert (rejected.status, rejected.ts) == (OrderStatus.REJECTED, T0)
        assert rejected.venue_order_id == rec.signature

    with_desk(body, max_attempts=1, route={"routes": ["jupiter"]})


def test_an_order_the_venue_cannot_take_is_rejected_in_its_own_words() -> None:
    async def body(desk: Desk) -> None:
        venue = desk.venue
        carol = Order("c1", "carol", "SOL/USDC", Side.BUY, OrderType.MARKET, D(1), OrderRole.ENTRY)
        await venue.submit(carol)
        dodgy = Order("d1", "alice", "DOGE/USDC", Side.BUY, OrderType.MARKET, D(1), OrderRole.ENTRY)
        await venue.submit(dodgy)
        assert [(r.client_id, r.status, r.code, r.reason) for r in desk.reports] == [
            (
                "c1",
                OrderStatus.REJECTED,
                "refused",
                "Account carol has no Solana wallet; import one with 'rampart wallet'.",
            ),
            ("d1", OrderStatus.REJECTED, "refused", "The solana venue does not trade DOGE/USDC."),
        ]
        assert venue.following("alice") == {} and venue.following("carol") == {}
        assert desk.sim.state()["transactions"] == []

    with_desk(body)


def test_a_venue_that_cannot_read_its_markets_rejects_with_the_nodes_failure() -> None:
    async def body(desk: Desk) -> None:
        desk.venue.rpc.sleep = desk.chain_sleep(0)
        desk.sim.add_fault("down", node="a")
        desk.sim.add_fault("down", node="b")
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        [r] = desk.reports
        assert (r.status, r.code) == (OrderStatus.REJECTED, "rpc_down")
        assert r.reason.startswith("Every Solana RPC node failed the getAccountInfo call")

    with_desk(body)


def test_a_filled_swap_is_measured_once() -> None:
    async def body(desk: Desk) -> None:
        timed = Timed()
        desk.venue.observer = timed
        ticks = itertools.count(100.0, 2.5)  # each read of the timer 2.5 s after the last
        desk.venue.timer = lambda: next(ticks)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        # From the send to the outcome, on the venue's timer.
        assert timed.timed == [("jupiter", "filled", 2.5)]
        # An exact output landed at its quote: no slippage against the 50 bps allowed.
        assert timed.slippages == [("jupiter", 50.0, 0.0)]
        assert timed.routes == [("jupiter", "jupiter", 0.0, "USDC")]
        # Settled after a restart, the send time is not known: no duration is made up.
        buy = order("b2", Side.BUY, "0.2")
        desk.venue.sleep = desk.chain_sleep(0)  # sent, and not landed before the "crash"
        desk.venue.config = desk.config(confirm_timeout_s=0.2, route={"routes": ["jupiter"]})
        await desk.venue.submit(buy)
        restarted = desk.new_venue(route={"routes": ["jupiter"]})
        after = Timed()
        restarted.observer = after
        restarted.follow(buy)
        await desk.sim.advance(2)
        await restarted.poll()
        assert after.timed == [("jupiter", "filled", 0.0)]

    with_desk(body, route={"routes": ["jupiter"]})


class BlockhashGoneOnFirstSend(httpx.AsyncBaseTransport):
    """The stand-in, with the chain moved past the transaction's blockhash just before the
    first ``sendTransaction`` reaches it (a send delayed past ~60 s)."""

    def __init__(self, sim: SolanaSimHandle) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sim = sim
        self.sends = 0
        self.slot = 0
        """The chain's slot once moved past the blockhash."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        if isinstance(body, dict) and body.get("method") == "sendTransaction":
            self.sends += 1
            if self.sends == 1:
                self.slot = await self.sim.advance(160)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def build(desk: Desk, http: httpx.AsyncClient, **cfg: Any) -> SolanaVenue:
    """A venue over the desk's stand-in and journal, with its own HTTP client."""
    venue = SolanaVenue(
        desk.config(**cfg),
        clock=SimClock(T0),
        journal=desk.journal,
        observer=desk.obs,
        http=http,
        keypairs={"alice": str(desk.keypair)},
        sleep=desk.chain_sleep(),
    )
    venue.set_listener(desk.reports.append)
    return venue


def test_a_blockhash_gone_before_the_send_is_quoted_again_not_rejected() -> None:
    async def body(desk: Desk) -> None:
        late = BlockhashGoneOnFirstSend(desk.sim)
        async with httpx.AsyncClient(transport=late) as http:
            venue = build(desk, http, route={"routes": ["jupiter"]})
            await venue.submit(order("b1", Side.BUY, "0.2"))
        first, second = await desk.journal.for_client("b1")
        assert first.status == REFUSED and "Blockhash not found" in (first.err or "")
        assert second.status == FILLED and second.attempt == 2
        # Quoted and sent again at once, without waiting a check: it landed in the next slot.
        landed = {t["signature"]: t["slot"] for t in desk.sim.state()["transactions"]}
        assert landed[second.signature] == late.slot + 1
        assert [r.status for r in desk.reports] == [OrderStatus.SUBMITTED, OrderStatus.FILLED]
        assert ("jupiter", "refused") in desk.obs.swaps

    with_desk(body)


def test_a_send_no_node_confirmed_is_followed_said_in_the_log_and_settled() -> None:
    async def body(desk: Desk) -> None:
        slept: list[float] = []
        chain = desk.chain_sleep(0)

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await chain(seconds)

        venue = SolanaVenue(
            desk.config(confirm_timeout_s=0.2, route={"routes": ["jupiter"]}),
            clock=SimClock(T0),
            observer=desk.obs,
            http=desk.http,
            keypairs={"alice": str(desk.keypair)},
            sleep=sleep,
        )
        venue.set_listener(desk.reports.append)
        await venue.ready()
        desk.sim.add_fault("down", node="a")
        desk.sim.add_fault("down", node="b")
        with warnings_logged() as logs:
            await venue.submit(order("b1", Side.BUY, "0.2"))
        said = [(e["event"], e["order"], e["error"]) for e in logs if "order" in e]
        assert said[0][:2] == ("swap_send_unconfirmed", "b1")
        assert said[0][2].startswith("No Solana RPC node confirmed the transaction was received")
        assert {s[:2] for s in said[1:]} == {("swap_check_failed", "b1")}
        assert said[1][2].startswith("Every Solana RPC node failed the getBlockHeight call")
        # The pool's backoff between rounds went through the venue's sleep, not the wall clock.
        assert 0.2 in slept
        assert venue.following("alice") == {"b1": False}
        desk.sim.clear_faults()
        await desk.sim.advance(200)  # it was never received: its blockhash runs out
        await venue.poll()
        await desk.sim.advance(2)
        await venue.poll()
        # The journal of the venue built without one.
        assert [r.status for r in await venue.journal.for_client("b1")] == [EXPIRED, FILLED]
        assert [r.client_id for r in desk.fills()] == ["b1"]
        await venue.aclose()
        assert not desk.http.is_closed  # the caller's client is the caller's to close

    with_desk(body)


def test_a_venue_built_with_its_routes_and_known_decimals_uses_them() -> None:
    async def body(desk: Desk) -> None:
        decimals = {SOL: 9, USDC: 6}
        venue = SolanaVenue(
            desk.config(min_notional=5),
            clock=SimClock(T0),
            observer=desk.obs,
            routes={"jupiter": desk.venue.routes["jupiter"]},
            decimals=decimals,
            keypairs={"alice": str(desk.keypair)},
            sleep=desk.chain_sleep(),
        )
        # No listener set: the reports go nowhere, and nothing breaks.
        inst = (await venue.load(["SOL/USDC"]))["SOL/USDC"]
        assert inst.min_notional == D(5)
        assert [c for c in desk.obs.calls if c[1] == "getAccountInfo"] == []
        await venue.submit(order("b1", Side.BUY, "0.2"))
        [rec] = await venue.journal.for_client("b1")
        assert (rec.route, rec.status) == ("jupiter", FILLED)
        assert {q[0] for q in desk.obs.quotes} == {"jupiter"}
        own = venue.http
        await venue.aclose()
        assert own.is_closed  # made here, closed here

    with_desk(body)


class TimeoutsSeen(httpx.AsyncBaseTransport):
    """The stand-in, keeping the read timeout each request was sent with."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.timeouts: set[float | None] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.add(request.extensions.get("timeout", {}).get("read"))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class RpcTimed(Recorder):
    """A Recorder that keeps the seconds of each RPC call too."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def rpc_call(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        super().rpc_call(endpoint, method, outcome, seconds)
        self.seconds.append(seconds)


def test_the_rpc_pool_is_built_from_the_venues_settings_and_timer() -> None:
    async def body(desk: Desk) -> None:
        seen, timed = TimeoutsSeen(), RpcTimed()
        ticks = itertools.count(0.0, 0.25)
        async with httpx.AsyncClient(transport=seen) as http:
            venue = SolanaVenue(
                desk.config(request_timeout_s=2.5, lag_slots=5, route={"routes": ["jupiter"]}),
                clock=SimClock(T0),
                observer=timed,
                http=http,
                keypairs={"alice": str(desk.keypair)},
                sleep=desk.chain_sleep(),
                timer=lambda: next(ticks),
            )
            await venue.submit(order("b1", Side.BUY, "0.2"))
            # Every RPC call is bounded by solana.request_timeout_s, and timed on the timer.
            rpc_seconds = set(timed.seconds)
            assert seen.timeouts == {2.5} and rpc_seconds == {0.25}
            # A node whose answers fall further behind than solana.lag_slots (10 against 5)
            # is left for the next one in the middle of the call.
            await venue.fetch_balances("alice")
            desk.sim.add_fault("lag", node="a", slots=10)
            await venue.fetch_balances("alice")
            assert list(venue.rpc.up().values()) == [False, True]
            assert timed.failovers[-1][:2] == tuple(e.name for e in venue.rpc.endpoints)

    with_desk(body)


def test_a_refused_send_is_measured_from_the_send() -> None:
    async def body(desk: Desk) -> None:
        desk.sim.chain.wallet(desk.pubkey).lamports = 0  # no fee money: the node refuses it
        timed = Timed()
        desk.venue.observer = timed
        ticks = itertools.count(10.0, 1.5)
        desk.venue.timer = lambda: next(ticks)
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        assert timed.timed == [("jupiter", "refused", 1.5)]

    with_desk(body, route={"routes": ["jupiter"]})


def test_a_submit_waits_for_its_outcome_no_longer_than_confirm_timeout_s() -> None:
    # One check (0.1 s at a check every 0.1 s), one wait: the chain moved one slot, the swap
    # landed in it and is not yet confirmed, so it is left to the polls.
    async def body(desk: Desk) -> None:
        start = desk.sim.chain.slot
        await desk.venue.submit(order("b1", Side.BUY, "0.2"))
        assert desk.sim.chain.slot - start == 1
        assert desk.fills() == [] and desk.venue.following("alice") == {"b1": False}

    with_desk(body, confirm_timeout_s=0.1, route={"routes": ["jupiter"]})
