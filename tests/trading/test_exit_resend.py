"""A market sell the exchange refuses for lack of free coins, sized again to the coins free and
sent again under a new client id, at most three sends; what cannot go is said in words. The
engine holds 10 BTC (its stop at 98) on a venue whose free balance the test sets; a sell above
it is refused as Binance refuses it (-2010, the ``insufficient_funds`` code)."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.fills import Balance
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading.engine import Engine
from rampart.trading.exits import EXIT_TRIES
from rampart.trading.refit import NO_FUNDS
from tests.log_lines import every_log_line

from .held import HeldVenue, held
from .helpers import INSTRUMENT, SYMBOL

D = Decimal
LOCKED = "Account has insufficient balance for requested action."
LOCKED_SAID = f"binance refused the order: {LOCKED}"


class ShortOfCoins(HeldVenue):
    """Refuses a sell above ``free`` BTC (or the first ``refuse_first`` sells whatever their
    size: the coins still locked a moment after the pair's cancel); reads ``free`` back as the
    balance (``None``: no BTC row at all; ``unreadable``: the read fails)."""

    def __init__(self) -> None:
        super().__init__()
        self.free: Decimal | None = D(10)
        self.refuse_first = 0
        self.unreadable = False
        self.other: Exception | None = None
        self.said = LOCKED_SAID
        self.rules_after = INSTRUMENT
        """The market's rules once the position is held."""
        self.sells: list[tuple[str, Decimal]] = []
        self.reads = 0

    async def submit(self, order: Order) -> None:
        if order.role is OrderRole.EXIT:
            self.sells.append((order.client_id, order.qty))
            if self.other is not None:
                raise self.other
            if len(self.sells) <= self.refuse_first or order.qty > (self.free or D(0)):
                raise VenueError(self.said, code=NO_FUNDS)
        await super().submit(order)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        self.reads += 1
        if self.unreadable:
            raise VenueError("the exchange did not answer", code="network")
        if self.free is None:
            return {"USDT": Balance("USDT", D(1000))}
        return {"BTC": Balance("BTC", self.free, D(0)), "USDT": Balance("USDT", D(1000))}


async def _close(venue: ShortOfCoins, free: Decimal | None) -> Engine:
    engine, _ = await held("10", venue)
    venue.free = free
    venue._instrument = venue.rules_after
    await engine.executor.exit_position(engine.accounts["a1"], SYMBOL, "the agent closes")
    return engine


def _run(
    free: Decimal | None, venue: ShortOfCoins | None = None
) -> tuple[ShortOfCoins, Engine, list[MutableMapping[str, Any]]]:
    venue = venue or ShortOfCoins()
    with every_log_line() as logs:
        engine = asyncio.run(_close(venue, free))
    return venue, engine, logs


def _said(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == event]


def _held(engine: Engine) -> Decimal:
    pos = engine.accounts["a1"].ledger.positions.get(SYMBOL)
    return D(0) if pos is None else pos.qty


def test_a_refused_sell_goes_again_sized_to_the_free_coins_under_a_new_id() -> None:
    venue, engine, logs = _run(D("6.123456789"))
    (first, asked), (again, qty) = venue.sells
    assert asked == D(10) and qty == D("6.12345"), "whole lots of what is free"
    assert again != first, "a new client id: the refused one is spent"
    assert _held(engine) == D("3.87655")
    exits = [o for o in engine.accounts["a1"].recent_orders if o.role is OrderRole.EXIT]
    assert [(o.status, o.qty, o.filled_qty) for o in exits] == [
        (OrderStatus.REJECTED, D(10), D(0)),
        (OrderStatus.FILLED, D("6.12345"), D("6.12345")),
    ]
    (line,) = _said(logs, "exit_resized")
    assert {k: line[k] for k in ("account_id", "symbol", "asked", "free", "qty")} == {
        "account_id": "a1",
        "symbol": SYMBOL,
        "asked": D(10),
        "free": D("6.123456789"),
        "qty": D("6.12345"),
    }
    assert _said(logs, "exit_refused") == []


def test_a_sell_refused_while_the_coins_are_still_locked_goes_again_at_its_size() -> None:
    """More coins free than the sell asks (they were locked a moment): it goes again whole,
    never larger than it was."""
    venue = ShortOfCoins()
    venue.refuse_first = 1
    venue, engine, _ = _run(D(25), venue)
    assert [q for _, q in venue.sells] == [D(10), D(10)]
    assert _held(engine) == D(0)


def test_a_sell_refused_every_time_is_sent_three_times_then_said_in_words() -> None:
    venue = ShortOfCoins()
    venue.refuse_first = 99
    venue, engine, logs = _run(D(8), venue)
    assert EXIT_TRIES == 3
    assert [q for _, q in venue.sells] == [D(10), D(8), D(8)]
    assert len({c for c, _ in venue.sells}) == 3
    assert venue.reads == 2, "the balance is read before each send again, not after the last"
    assert _held(engine) == D(10)
    (line,) = _said(logs, "exit_refused")
    assert line["account_id"] == "a1" and line["symbol"] == SYMBOL
    assert line["text"] == (
        f"The sale of 8 {SYMBOL} for account a1 was refused for lack of free coins "
        f"({LOCKED_SAID}); the free balance could not be read, too little "
        "for an order the exchange takes. The stop is put back on the coins held and Rampart's "
        "monitor holds it; the sale is tried again when the monitor or the agent asks."
    )


def test_a_sell_with_too_few_coins_free_for_any_order_is_not_sent_again() -> None:
    cases = {
        "none free": (D(0), "is 0"),
        "no row for the coin": (None, "is 0"),
        "less than a lot": (D("0.000009"), "is 0.000009"),
        "worth less than the minimum order": (D("0.05"), "is 0.05"),
    }
    for case, (free, seen) in cases.items():
        venue, engine, logs = _run(free)
        assert [q for _, q in venue.sells] == [D(10)], case
        assert _held(engine) == D(10), case
        (line,) = _said(logs, "exit_refused")
        assert f"; the free balance {seen}, too little" in line["text"], (case, line["text"])
        assert f"refused for lack of free coins ({LOCKED_SAID})" in line["text"], case
        assert _said(logs, "exit_resized") == [], case


def test_a_sell_of_exactly_the_markets_minimum_goes() -> None:
    venue = ShortOfCoins()
    venue.rules_after = replace(INSTRUMENT, lot_size=D("0.1"), min_qty=D("0.1"))
    venue, engine, _ = _run(D("0.1"), venue)
    assert [q for _, q in venue.sells] == [D(10), D("0.1")]
    assert _held(engine) == D("9.9")


def test_an_unreadable_balance_sends_nothing_more_and_says_so() -> None:
    venue = ShortOfCoins()
    venue.unreadable = True
    venue, engine, logs = _run(D(4), venue)
    assert [q for _, q in venue.sells] == [D(10)]
    (unread,) = _said(logs, "free_balance_unread")
    assert unread["account_id"] == "a1"
    assert str(unread["why"]) == "the exchange did not answer"
    (line,) = _said(logs, "exit_refused")
    assert "; the free balance could not be read, too little" in line["text"]


def test_a_sell_refused_for_another_reason_or_unanswered_is_not_resized() -> None:
    for other in (
        VenueError("binance refused the order: Market is closed.", code="rejected"),
        OutcomeUnknown("the answer was lost"),
    ):
        venue = ShortOfCoins()
        venue.other = other
        venue, engine, logs = _run(D(4), venue)
        assert [q for _, q in venue.sells] == [D(10)], other
        assert venue.reads == 0, other
        assert _said(logs, "exit_refused") == [] and _said(logs, "exit_resized") == [], other


def test_a_refusal_without_words_is_said_as_such() -> None:
    venue = ShortOfCoins()
    venue.said = ""
    venue, _, logs = _run(D(0), venue)
    (line,) = _said(logs, "exit_refused")
    assert "refused for lack of free coins (no reason given)" in line["text"]
