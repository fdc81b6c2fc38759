"""The guard's quiet path: on a price update ``Guard.check`` answers IDLE for an account with
nothing to send (the engine asks it for every account on every candle, a thousand accounts
included), and something to send for every case that needs it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.trading.engine import Engine
from rampart.trading.guard import IDLE

from .held import held
from .helpers import SYMBOL, open_long

D = Decimal


def _asks(engine: Engine, price: str) -> bool:
    engine.marks[SYMBOL] = D(price)
    acct = engine.accounts["a1"]
    return engine.guard.check(acct, SYMBOL, engine.clock.now_ms()) is not IDLE


@pytest.mark.parametrize(
    ("price", "sends"),
    [
        ("100", False),  # between stop and target
        ("95", False),  # past the stop: the venue holds the stop itself
        ("110", False),  # past the target: the same
        ("85", True),  # a gap past the per-position limit (2 % of equity)
    ],
)
def test_on_a_venue_holding_the_bracket_only_a_loss_past_the_limit_asks(
    price: str, sends: bool
) -> None:
    engine, _events = asyncio.run(open_long("moderate"))
    assert _asks(engine, price) is sends


def test_a_guarded_position_always_asks() -> None:
    engine, _events = asyncio.run(open_long("moderate"))
    engine.accounts["a1"].bracket_book.hold(SYMBOL)
    assert _asks(engine, "100")


def test_a_loss_past_the_kill_amount_asks_until_the_account_is_stopped() -> None:
    async def scenario() -> tuple[bool, bool]:
        engine, _events = await open_long("conservative")
        # 94: about 60 USDT lost, inside the 1 % per-position limit, past the 50 USDT kill.
        first = _asks(engine, "94")
        await engine.controls.pause_account("a1", "operator", "looking")  # not flattened
        assert SYMBOL in engine.accounts["a1"].ledger.positions
        return first, _asks(engine, "94")

    first, after = asyncio.run(scenario())
    assert first and not after


def test_no_position_and_nothing_working_asks_nothing() -> None:
    engine, _events = asyncio.run(open_long("moderate"))
    acct = engine.accounts["a1"]
    asyncio.run(engine.controls.flatten_all("test"))
    assert SYMBOL not in acct.ledger.positions
    assert _asks(engine, "100") is False


@pytest.mark.parametrize(
    ("price", "sends"),
    [
        ("100", False),
        ("98.01", False),
        ("98", True),
        ("97", True),
        ("104.99", False),
        ("105", True),
    ],
)
def test_where_the_monitor_holds_the_bracket_the_stop_and_the_target_ask(
    price: str, sends: bool
) -> None:
    engine, _venue = asyncio.run(held("10"))
    assert _asks(engine, price) is sends


def test_an_entry_still_working_on_an_account_that_may_only_reduce_asks() -> None:
    engine, venue = asyncio.run(held("10"))
    acct = engine.accounts["a1"]
    assert venue.entries() and acct.working_entries() == 1
    assert _asks(engine, "100") is False  # active: the entry may go on buying
    acct.close_only = "an order the venue reported that Rampart did not send"
    assert _asks(engine, "100") is True  # reducing: the entry is to be canceled
    acct.pending_cancel.update(o.client_id for o in acct.orders.values())
    assert _asks(engine, "100") is False  # its cancel is on its way already
