"""The guard's breakers and kills as an operator reads them: the lines it logs, the breaker a
gap trips while the monitor acts, entries stopped only when the account may not buy, one kill
when the global switch is already on, and the yield to the event loop every hundred accounts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.accounts import TradingState
from rampart.domain.events import BreakerTripped, Event
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.risk.restrictions import KILL_ON_POSITION_LOSS
from rampart.trading import guard as guard_module
from rampart.trading.account import AccountRuntime
from rampart.trading.engine import Engine
from rampart.trading.guard import IDLE
from tests.log_lines import every_log_line

from .helpers import SYMBOL, guard_at, open_long
from .test_executor_reports import _logged

D = Decimal


async def _resting_entry(engine: Engine) -> Order:
    """A buy far below the market, working on the venue."""
    acct = engine.accounts["a1"]
    entry = Order(
        acct.next_client_id(OrderRole.ENTRY),
        "a1",
        SYMBOL,
        Side.BUY,
        OrderType.LIMIT,
        D("0.1"),
        OrderRole.ENTRY,
        price=D(50),
    )
    await engine.executor.submit(acct, entry)
    await engine.executor.drain()
    assert entry.is_open and entry.client_id in acct.orders
    return entry


def test_a_position_loss_kill_is_logged_with_its_figures_and_scope() -> None:
    async def go() -> tuple[Decimal, list[dict[str, Any]]]:
        engine, _events = await open_long("conservative")
        with every_log_line() as logs:
            lost = await guard_at(engine, "94")
        return lost, logs

    lost, logs = asyncio.run(go())
    assert _logged(logs, "position_loss_kill") == [
        {"account_id": "a1", "symbol": SYMBOL, "loss": str(lost), "limit": "50", "scope": "account"}
    ]


def test_with_the_global_kill_switch_already_on_a_service_kill_is_not_tripped_again() -> None:
    async def go() -> list[Event]:
        engine, events = await open_long("conservative")
        engine.guard.kill_scope = "service"
        await engine.controls.engage_kill_switch("ops", "drill")  # positions kept
        lost = await guard_at(engine, "94")
        assert lost > 50
        return events

    events = asyncio.run(go())
    trips = [e for e in events if isinstance(e, BreakerTripped)]
    assert [t.breaker for t in trips if t.breaker == KILL_ON_POSITION_LOSS] == []


def test_a_gap_the_monitor_acts_on_also_trips_the_daily_loss_breaker_then_and_logs_it() -> None:
    async def go() -> tuple[Engine, list[Event], list[dict[str, Any]], int]:
        engine, events = await open_long("moderate")
        now = engine.clock.now_ms() + 60_000
        engine.clock.set(now)  # type: ignore[attr-defined]
        with every_log_line() as logs:
            await guard_at(engine, "60")
        return engine, events, logs, now

    engine, events, logs, now = asyncio.run(go())
    trips = [(e.ts, e.account_id, e.breaker) for e in events if isinstance(e, BreakerTripped)]
    assert trips == [(now, "a1", "daily_loss")]
    assert engine.accounts["a1"].state is TradingState.HALTED
    assert _logged(logs, "breaker_tripped") == [{"account_id": "a1", "breaker": "daily_loss"}]


def test_a_close_only_accounts_working_entry_is_stopped_on_the_next_pass() -> None:
    async def go() -> tuple[AccountRuntime, Order]:
        engine, _events = await open_long("moderate")
        acct = engine.accounts["a1"]
        entry = await _resting_entry(engine)
        acct.close_only = "a report the books could not take"
        await guard_at(engine, "100")
        return acct, entry

    acct, entry = asyncio.run(go())
    assert not entry.is_open or entry.client_id in acct.pending_cancel


def test_an_active_accounts_entry_survives_the_monitors_pass() -> None:
    async def go() -> tuple[AccountRuntime, Order]:
        engine, _events = await open_long("moderate")
        acct = engine.accounts["a1"]
        entry = await _resting_entry(engine)
        acct.bracket_book.hold(SYMBOL)
        await guard_at(engine, "100")
        return acct, entry

    acct, entry = asyncio.run(go())
    assert acct.state is TradingState.ACTIVE
    assert entry.is_open and entry.client_id not in acct.pending_cancel


@dataclass
class _Sub:
    account: object


def test_the_guard_yields_to_the_event_loop_after_every_hundredth_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def go() -> list[tuple[int, object]]:
        engine, _events = await open_long("moderate")
        guarded: list[object] = []
        yields: list[tuple[int, object]] = []

        def check(acct: object, symbol: str, now: int) -> object:
            guarded.append(acct)
            return IDLE

        async def sleep(delay: object) -> None:
            yields.append((len(guarded), delay))

        monkeypatch.setattr(engine.guard, "check", check)
        monkeypatch.setattr(guard_module.asyncio, "sleep", sleep)
        await engine.guard.accounts([_Sub(i) for i in range(250)], SYMBOL, 0)
        return yields

    assert asyncio.run(go()) == [(100, 0), (200, 0)]
