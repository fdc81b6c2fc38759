"""Properties of the bracket state machine.

- The table alone: random moves on a :class:`BracketBook` succeed exactly when
  :data:`TRANSITIONS` allows them, ``guarded`` is always the symbols whose state holds the
  monitor, and a checkpoint gives back every bracket that matters.
- The machine driven by the engine: random fills, an entry's end, refused and lost pairs,
  pairs the venue drops, cancels it does not report or confirm, a stop or target selling part,
  moved stops, reductions, candles and restarts. After every step each coin held is under a
  stop or the monitor, no move was illegal (nor did protecting fail), and a restart gives back
  the brackets as they were.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading import bracket as bracket_module
from rampart.trading.bracket import (
    TRANSITIONS,
    BracketBook,
    BracketState,
    IllegalBracketMove,
    Refusal,
)
from rampart.trading.engine import Engine
from rampart.trading.moves import move_bracket, reduce_position
from rampart.trading.protection import PROTECTIVE

from .held import HeldVenue, held
from .helpers import MINUTE, SYMBOL, candle
from .test_bracket_restart import _restart

D = Decimal
LOADED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
SYMBOLS = ("A", "B", "C")

# -- the table --------------------------------------------------------------------------------


@LOADED
@given(
    moves=st.lists(
        st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(list(BracketState))), max_size=40
    ),
    held_symbols=st.sets(st.sampled_from(SYMBOLS)),
)
def test_the_table_decides_every_move_and_guarded_follows_the_states(
    moves: list[tuple[str, BracketState]], held_symbols: set[str]
) -> None:
    book = BracketBook()
    states: dict[str, BracketState] = {}
    for n, (symbol, target) in enumerate(moves):
        before = states.get(symbol, BracketState.NEW)
        legal = target is before or target in TRANSITIONS[before]
        try:
            book.move(symbol, target)
        except IllegalBracketMove:
            assert not legal
        else:
            assert legal
            states[symbol] = target
        if n % 3 == 0:
            book.of(symbol).steps = (f"e{n}", 1)
        assert book.state(symbol) is states.get(symbol, BracketState.NEW)
        assert set(book.guarded) == {s for s, state in states.items() if state.guarded}
    back = BracketBook()
    back.load(json.loads(json.dumps(book.to_dict(held_symbols))), book.guarded, held_symbols)
    assert set(back.guarded) == set(book.guarded)
    for symbol in SYMBOLS:
        mine = book.get(symbol)
        if mine is None or (not mine.state.guarded and symbol not in held_symbols):
            continue  # nothing to protect: opened anew
        theirs = back.get(symbol)
        assert theirs is not None
        assert (theirs.state, theirs.refusal, theirs.steps) == (
            mine.state,
            mine.refusal,
            mine.steps,
        )


def test_the_monitor_lets_go_only_at_a_resting_pair_or_a_flat_position() -> None:
    for state in BracketState:
        if state.guarded:
            assert TRANSITIONS[state] & {s for s in BracketState if not s.guarded} == {
                BracketState.RESTING,
                BracketState.CLOSED,
            }
    book = BracketBook()
    book.hold("A", BracketState.REFUSED)
    try:
        book.move("A", BracketState.PLACED)
    except IllegalBracketMove as exc:
        assert "refused -> placed" in str(exc)
    else:
        raise AssertionError("a pair sent while the monitor holds must not let it go")
    assert book.state("A") is BracketState.REFUSED and "A" in book.guarded
    book.close("A")
    for revived in (BracketState.PLACED, BracketState.RESTING):
        try:
            book.move("A", revived)
        except IllegalBracketMove:
            continue
        raise AssertionError(f"a closed bracket moved to {revived.value}")
    assert book.open("A").state is BracketState.NEW


def test_guarded_is_only_read() -> None:
    book = BracketBook()
    book.hold("A")
    for write in (
        lambda g: g.add("B"),
        lambda g: g.discard("A"),
        lambda g: g.clear(),
        lambda g: g.update({"B"}),
        lambda g: g.__isub__({"A"}),
    ):
        try:
            write(book.guarded)
        except TypeError:
            continue
        raise AssertionError("guarded was written around the brackets' states")
    assert book.guarded == {"A"}


def test_a_refusal_backs_off_one_two_four_candles() -> None:
    book = BracketBook()
    waits = []
    for failure in range(1, 5):
        book.refuse("A", D(3), f"g{failure}")
        book.refuse("A", D(3), f"g{failure}")  # the other leg: the same refusal
        refusal = book.refusal("A")
        assert refusal is not None and refusal.failures == failure
        n = 0
        while not book.due("A"):
            n += 1
        waits.append(n)
    assert waits == [0, 1, 3, 7]
    assert book.refusal("A") == Refusal(D(3), 4, 0, "g4", True)


# -- the machine, driven by the engine ---------------------------------------------------------


class ChaosVenue(HeldVenue):
    def __init__(self) -> None:
        super().__init__()
        self.refuse_next = 0
        self.lose_next = 0
        self.sticky = False
        """A stop's cancel is not confirmed until the test settles it."""
        self.stuck: list[str] = []

    async def cancel(self, account_id: str, client_id: str) -> None:
        order = self.open.get(client_id)
        if self.sticky and order is not None and order.role is OrderRole.STOP_LOSS:
            self.stuck.append(client_id)
            raise OutcomeUnknown("the cancel is on its way")
        await super().cancel(account_id, client_id)

    def settle(self) -> None:
        for client_id in self.stuck:
            if client_id in self.open:
                self.finish(client_id, OrderStatus.CANCELED)
        self.stuck.clear()

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        if self.refuse_next:
            self.refuse_next -= 1
            raise VenueError("the venue refused the pair", code="rejected")
        if self.lose_next:
            self.lose_next -= 1
            raise TimeoutError
        await super().submit_oco(stop_loss, take_profit)


STEP = st.one_of(
    st.tuples(st.just("fill"), st.integers(1, 6)),
    st.tuples(st.sampled_from(["end", "candle", "restart", "move", "settle"]), st.just(0)),
    st.tuples(st.sampled_from(["refuse", "lose", "drop", "quiet", "sticky"]), st.integers(0, 2)),
    st.tuples(st.sampled_from(["reduce", "target", "stop"]), st.integers(1, 3)),
)


def _brackets(engine: Engine) -> dict[str, Any]:
    acct = engine.accounts["a1"]
    book = acct.bracket_book
    out = {}
    for symbol in book:
        b = book.get(symbol)
        assert b is not None
        if b.state.guarded or symbol in acct.ledger.positions:
            out[symbol] = {**b.to_dict(), "tries": None}
    return out


async def _step(engine: Engine, venue: ChaosVenue, t: int, kind: str, n: int) -> Engine:
    acct = engine.accounts["a1"]
    engine.executor.clock.set(t * MINUTE)  # type: ignore[attr-defined]  # a SimClock
    entries = venue.entries()
    if kind == "fill" and entries:
        venue.fill(entries[0], D(n))
    elif kind == "end" and entries:
        venue.finish(entries[0], OrderStatus.CANCELED)
    elif kind == "refuse":
        venue.refuse_next = n
    elif kind == "lose":
        venue.lose_next = n
    elif kind == "drop":
        venue.drop_pairs = n == 1
    elif kind == "quiet":
        venue.quiet_cancels = n == 1
    elif kind == "sticky":
        venue.sticky = n == 1
    elif kind == "settle":
        venue.settle()
    elif kind in ("target", "stop"):
        role, other = (OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS)[:: 1 if kind == "target" else -1]
        legs = [c for c in venue.working(role) if c not in venue.stuck]
        if legs:
            for partner in venue.working(other):  # one-cancels-the-other, as a venue's OCO
                venue.finish(partner, OrderStatus.CANCELED)
            venue.fill(legs[0], D(n))
    elif kind == "candle":
        await engine.on_candle(candle(t - 1, 100, 100, 100, 100))
    elif kind == "move" and SYMBOL in acct.ledger.positions:
        await move_bracket(engine.executor, acct, SYMBOL, D(97) - t % 2, D(106))
    elif kind == "reduce" and SYMBOL in acct.ledger.positions:
        await reduce_position(engine.executor, acct, SYMBOL, D(n), "the agent takes some")
    elif kind == "restart":
        before = _brackets(engine)
        engine = await _restart(engine, venue)
        assert _brackets(engine) == before
    await engine.executor.drain()
    return engine


def _check(engine: Engine, problems: list[str], where: str) -> None:
    acct = engine.accounts["a1"]
    book = acct.bracket_book
    assert set(acct.guarded) == {s for s in book if (b := book.get(s)) and b.state.guarded}
    pos = acct.ledger.positions.get(SYMBOL)
    if pos is None:
        return
    if not engine.executor.is_protected(acct, pos):
        problems.append(f"{where}: {pos.qty} held without a stop, bracket {book.get(SYMBOL)}")
    for order in acct.working(SYMBOL, PROTECTIVE):
        if order.remaining > pos.qty:
            problems.append(f"{where}: {order.client_id} covers {order.remaining} of {pos.qty}")


async def _run(steps: list[tuple[str, int]]) -> tuple[list[str], list[tuple[str, str]]]:
    moves: list[tuple[str, str]] = []
    original = BracketBook.move

    def recording(self: BracketBook, symbol: str, state: BracketState) -> None:
        before = self.state(symbol) or BracketState.NEW
        original(self, symbol, state)  # raises on an illegal move: the test fails
        moves.append((before.value, state.value))

    BracketBook.move = recording  # type: ignore[method-assign]
    try:
        venue = ChaosVenue()
        engine, _ = await held("1", venue)
        problems: list[str] = []
        _check(engine, problems, "start")
        for t, (kind, n) in enumerate(steps, start=1):
            engine = await _step(engine, venue, t, kind, n)
            _check(engine, problems, f"step {t} {kind} {n}")
    finally:
        BracketBook.move = original  # type: ignore[method-assign]
    return problems, moves


@settings(LOADED, max_examples=60)
@given(steps=st.lists(STEP, max_size=25))
def test_random_fills_cancels_refusals_and_restarts_keep_every_coin_under_a_stop(
    steps: list[tuple[str, int]],
) -> None:
    with structlog.testing.capture_logs() as logs:
        problems, moves = asyncio.run(_run(steps))
    assert problems == []
    failed = [e for e in logs if e.get("event") == "protection_failed"]
    assert failed == [], failed
    for before, after in moves:
        source, target = bracket_module._BY_VALUE[before], bracket_module._BY_VALUE[after]
        assert target is source or target in TRANSITIONS[source]
