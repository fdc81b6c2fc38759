"""What the price guard says of a held symbol (the ``market`` mutation area): the held candles in
order (``state_held``), why they are held (``why_held``, ``unsettled``), which symbols are held
(``held_symbols``), the suspect set and the held gauge's callback, and the bound on how many
candles one symbol may hold (``max_held``: the oldest listed as never confirmed)."""

from __future__ import annotations

from tests.market.test_price_guard import MIN, SYM, bar, warmed

from rampart.domain.candles import Candle
from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.price_guard import PriceGuard

OTHER = "ETH/USDT"


def test_the_held_candles_in_order_each_with_why() -> None:
    guard, close = warmed(config=PriceGuardConfig(confirm_candles=3))
    assert guard.state_held(SYM) == [] and guard.state_held(OTHER) == []
    assert guard.why_held(SYM) == "" and guard.why_held(OTHER) == ""
    assert guard.admit(bar(0, 50.0, symbol=OTHER)) != ()  # counted: held nowhere
    crash, after = bar(60, close * 0.5), bar(61, close * 0.5)
    assert guard.admit(crash) == () and guard.admit(after) == ()
    [(first, item), (second, waiting)] = guard.state_held(SYM)
    assert (first, second, waiting) == (crash, after, None)
    assert item is not None and item == guard.listed[0] and item.outcome == "held"
    guard.state_held(SYM).clear()  # a copy: the guard's own list is not the caller's
    assert guard.held(SYM) == 2 and guard.held(OTHER) == 0 and guard.held("XRP/USDT") == 0
    assert guard.held_symbols() == {SYM: 2} and guard.suspect == {SYM}
    assert guard.why_held(SYM) == "no independent price here: the next candle settles it"
    guard.checked = True
    assert guard.why_held(SYM) == "waiting for the exchange's own price"
    assert guard.why_held(OTHER) == ""


def test_a_failed_reading_says_why_once_and_a_release_forgets_it() -> None:
    guard, close = warmed()
    told: list[str] = []
    guard.on_held = told.append
    guard.checked = True
    guard.unsettled(OTHER, "never seen")  # an unknown symbol: nothing to say, no one told
    guard.unsettled(SYM, "nothing held")  # nothing held: not kept for a later hold
    assert told == [] and guard.why_held(SYM) == ""
    crash = bar(60, close * 0.5)
    assert guard.admit(crash) == ()
    assert told == [SYM] and guard.why_held(SYM) == "waiting for the exchange's own price"
    guard.unsettled(SYM, "the ticker failed")
    guard.unsettled(SYM, "the ticker failed")  # the same words: the gauge is not told again
    assert guard.why_held(SYM) == "the ticker failed" and told == [SYM, SYM]
    guard.unsettled(SYM, "the order book failed")
    assert guard.why_held(SYM) == "the order book failed" and told == [SYM, SYM, SYM]
    assert guard.second_reading(SYM, close * 0.5) == (crash,)
    assert guard.suspect == set() and guard.why_held(SYM) == "" and len(told) == 4
    assert guard.admit(bar(61, close * 0.25)) == ()  # held again: the old words are gone
    assert guard.why_held(SYM) == "waiting for the exchange's own price"


def test_past_max_held_the_oldest_print_is_listed_as_never_confirmed() -> None:
    guard, close = warmed(config=PriceGuardConfig(max_held=2))
    prints = [bar(60 + k, close * 0.5 ** (k + 1)) for k in range(3)]  # each agrees with none
    assert [guard.admit(c) for c in prints[:2]] == [(), ()]
    assert guard.held(SYM) == 2 and [q.outcome for q in guard.listed] == ["held", "held"]
    assert guard.admit(prints[2]) == ()
    assert [c for c, _ in guard.state_held(SYM)] == prints[1:]
    first = guard.listed[0]
    assert [(q.ts, q.outcome) for q in guard.listed] == [
        (60 * MIN, "held"), (61 * MIN, "held"), (60 * MIN, "rejected"), (62 * MIN, "held")
    ]  # fmt: skip
    assert guard.listed[2].reason == f"{first.reason}; never confirmed"
    assert guard.counts == {"held": 3, "rejected": 1} and guard.suspect == {SYM}


def test_past_max_held_a_waiting_candle_goes_unlisted() -> None:
    guard, close = warmed(config=PriceGuardConfig(max_held=2))
    guard.checked = True  # candles agreeing with the held one wait for a reading
    crash = bar(60, close * 0.5)
    alike = [bar(61 + k, close * 0.5) for k in range(3)]
    assert guard.admit(crash) == ()
    assert guard.admit(alike[0]) == () and guard.held(SYM) == 2 and len(guard.listed) == 1
    assert guard.admit(alike[1]) == ()  # the crash goes, listed
    assert [c for c, _ in guard.state_held(SYM)] == alike[:2]
    assert [q.outcome for q in guard.listed] == ["held", "rejected"]
    assert guard.admit(alike[2]) == ()  # a waiting one goes: nothing to list
    assert [c for c, _ in guard.state_held(SYM)] == alike[1:]
    assert len(guard.listed) == 2 and guard.suspect == {SYM}
    # Only waiting candles left: one back at the last good price drops them, naming nothing.
    back = bar(64, close)
    assert guard.admit(back) == (back,)
    assert guard.held(SYM) == 0 and guard.suspect == set() and len(guard.listed) == 2


def test_a_held_candle_is_listed_once_told_to_the_listener() -> None:
    heard: list[str] = []
    guard, close = warmed()
    guard.listener = lambda item: heard.append(item.outcome)
    assert guard.admit(bar(60, close * 0.5)) == ()
    assert guard.admit(bar(61, close)) != ()
    assert heard == ["held", "rejected"] and guard.counts == {"held": 1, "rejected": 1}
    quiet = Candle(SYM, 62 * MIN, close, close, close, close, 0.0)  # no trade, at the last close
    assert guard.admit(quiet) == (quiet,) and heard == ["held", "rejected"]


def test_a_no_trade_candle_is_held_naming_its_close_and_a_repeat_of_it_dropped() -> None:
    heard: list[str] = []
    guard = PriceGuard(PriceGuardConfig(), "test", listener=lambda item: heard.append(item.field))
    guard.admit(bar(0, 100.0))
    frozen = Candle(SYM, MIN, 101.0, 101.0, 101.0, 101.0, 0.0)
    assert guard.admit(frozen) == () and guard.admit(frozen) == ()
    held, repeat = guard.listed
    assert (held.field, held.value, held.low, held.high) == ("close", 101.0, 100.0, 100.0)
    assert held.reason == "it has no volume, yet its price is not the last close"
    assert repeat.outcome == "dropped"
    assert repeat.reason == "it is a duplicate of the last candle seen"
    assert heard == ["close", "ts"]
