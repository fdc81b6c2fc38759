"""``/profit``, ``/balance``, ``/trades [N]``, ``/daily [N]``, ``/weekly [N]`` and ``/report``
through the real python-telegram-bot client: figures equal the HTTP API's, current to the last
candle (before the store's checkpoint), on the account's own business days, each investor only
their own account, bad arguments refused with the usage line."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from rampart.api.app import create_app
from rampart.api.context import ApiContext
from rampart.domain.events import TradeClosed
from rampart.observability.metrics import Metrics
from rampart.operator.control import Operator
from rampart.runtime.health import Health
from rampart.security.tokens import create_token
from rampart.store import queries
from rampart.telegram.text import money, signed
from tests.telegram.conftest import ALICE, BOB, OPERATOR, SYMBOLS, TgService

ACCOUNT = f"tg-{ALICE}"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


class Api:
    """The HTTP API over the bot's own session, in process (ASGI), with Alice's token."""

    def __init__(self, svc: TgService) -> None:
        operator = Operator(svc.session, asyncio.Lock(), feed_symbols=SYMBOLS)
        ctx = ApiContext.build(svc.settings, operator, svc.ops, Health(), Metrics())
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(ctx)), base_url="http://api"
        )
        self.tokens = {
            uid: create_token(svc.session.db, "user", f"tg-{uid}", str(uid), svc.ops.now_ms())
            for uid in (ALICE, BOB)
        }

    async def get(self, uid: int, what: str, **params: Any) -> Any:
        response = await self.client.get(
            f"/api/v1/accounts/tg-{uid}/{what}",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[uid]}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


async def _until_a_trade_closes(svc: TgService, account: str, limit: int = 4000) -> TradeClosed:
    """Process candles without a checkpoint until ``account`` closes a trade."""
    mark = len(svc.events)
    for candle in itertools.islice(svc.candles, limit):
        svc.clock.set(candle.close_ts)
        async with svc.lock:
            await svc.session.process(candle)
        found = [
            e
            for e in svc.events[mark:]
            if isinstance(e, TradeClosed) and e.trade.account_id == account
        ]
        if found:
            return found[-1]
    raise AssertionError(f"{account} closed no trade in {limit} candles")


def test_trades_and_profit_are_current_before_the_checkpoint(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            event = await _until_a_trade_closes(svc, ACCOUNT)
            trade = event.trade
            # The store has not saved it (its checkpoint is a million candles away).
            assert not queries.trades(svc.session.db, ACCOUNT)
            text = (await svc.send(ALICE, "/trades"))[0]
            assert "No closed trades" not in text
            assert trade.entry_client_id in text and trade.symbol in text
            assert signed(trade.pnl, "USDT") in text
            api = Api(svc)
            listed = (await api.get(ALICE, "trades"))["trades"]
            assert [t["trade_id"] for t in listed] == [trade.entry_client_id]
            assert listed[0]["exit_cause"] in text
            profit = (await svc.send(ALICE, "/profit"))[0]
            figures = await api.get(ALICE, "profit")
            assert figures["trades"] == 1
            assert f"all time {signed(trade.pnl, 'USDT')}" in profit
            assert "Trades closed 1:" in profit

    asyncio.run(scenario())


def test_figures_equal_the_api_and_days_are_business_days(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB, "aggressive", "3000")
            await svc.trade(2500)
            await _until_a_trade_closes(svc, ACCOUNT)
            api = Api(svc)
            figures = await api.get(ALICE, "profit", days=7, weeks=4)
            assert figures["trades"] >= 2, "enough trading for a win rate"

            profit = (await svc.send(ALICE, "/profit"))[0]
            q = "USDT"
            for key in ("realized_today", "realized_week", "realized_all", "unrealized_pnl"):
                assert signed(Decimal(figures[key]), q) in profit, key
            share = f"{float(figures['win_rate']) * 100:.1f}%"
            assert f"win rate {share}" in profit
            assert figures["best"]["trade_id"] in profit
            assert figures["worst"]["trade_id"] in profit

            balance = (await svc.send(ALICE, "/balance"))[0]
            portfolio = await api.get(ALICE, "portfolio")
            for key in ("cash", "positions_value", "equity"):
                assert money(Decimal(portfolio[key]), q) in balance, key
            for pos in (await api.get(ALICE, "positions"))["positions"]:
                assert pos["symbol"] in balance
                assert money(Decimal(pos["market_value"]), q) in balance

            trades = (await svc.send(ALICE, "/trades 3"))[0]
            listed = (await api.get(ALICE, "trades", limit=3))["trades"]
            assert trades.startswith("<b>Last 3 closed trades</b>")
            for t in listed:
                assert t["trade_id"] in trades
                assert signed(Decimal(t["pnl"]), q) in trades

            # Days are the orders' (2024) days, not the wall clock's, from the account's start.
            daily = (await svc.send(ALICE, "/daily 3"))[0]
            for day in figures["days"][:3]:
                line = f"{_day(day['start'])}  {signed(Decimal(day['realized_pnl']), q)}"
                assert line in daily
            assert _day(figures["as_of"]).startswith("2024-")
            assert sum(d["trades"] for d in figures["days"]) > 0
            weekly = (await svc.send(ALICE, "/weekly"))[0]
            for week in figures["weeks"]:
                line = f"week of {_day(week['start'])}  {signed(Decimal(week['realized_pnl']), q)}"
                assert line in weekly
            assert f"Your account began on {_day(figures['since'])}" in weekly

            # Each investor sees only their own account.
            bob_ids = [t["trade_id"] for t in (await api.get(BOB, "trades", limit=20))["trades"]]
            alice_ids = {t["trade_id"] for t in (await api.get(ALICE, "trades"))["trades"]}
            assert bob_ids and alice_ids
            bob_text = (await svc.send(BOB, "/trades 20"))[0]
            assert not any(i in bob_text for i in alice_ids)
            assert all(i in bob_text for i in bob_ids)

    asyncio.run(scenario())


def test_bad_arguments_are_refused_with_the_usage_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            cases = {
                "/daily abc": "Usage: /daily [N]",
                "/trades -3": "Usage: /trades [N]",
                "/trades 2.5": "Usage: /trades [N]",
                "/weekly 0": "Usage: /weekly [N]",
                "/trades 5 7": "Usage: /trades [N]",
                "/profit all": "Usage: /profit",
                "/balance BTC": "Usage: /balance",
            }
            for command, usage in cases.items():
                reply = await svc.send(ALICE, command)
                assert len(reply) == 1 and usage in reply[0], (command, reply)
            capped = (await svc.send(ALICE, "/daily 1000"))[0]
            assert capped.startswith("<b>Daily profit</b>")
            nobody = await svc.send(BOB, "/profit")
            assert "/start" in nobody[0]

    asyncio.run(scenario())


def test_report_and_daily_for_a_new_investor(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            # In the service the bot's clock is the business clock (the candles' time).
            svc.bot.clock = svc.clock
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            early = "\n".join(await svc.send(ALICE, "/report"))
            assert "no account trading yet" in early
            await svc.send(ALICE, "/connect paper")
            await svc.send(ALICE, "/invest 300")
            began = svc.clock.now_ms()
            text = "\n".join(await svc.send(ALICE, "/report"))
            assert "in this database" not in text
            # 2024-01-01 was a Monday: the first week ends on Sunday the 7th.
            assert _day(began) == "2024-01-01"
            assert "Your first weekly report will be on 2024-01-08" in text, text
            assert "2024-01-01 to 2024-01-07" in text
            before = "\n".join(await svc.send(ALICE, "/report 2023-12-20"))
            assert "Your account began on 2024-01-01" in before
            daily = (await svc.send(ALICE, "/daily"))[0]
            assert "2024-01-01" in daily and "Your account began on 2024-01-01" in daily
            # A date is the investor's own day; the operator's /daily stays the service's report.
            own = (await svc.send(ALICE, "/daily 2024-01-01"))[0]
            assert own.startswith("<b>Today</b>, 2024-01-01 (today so far)"), own
            assert "for operators only" not in own
            before = (await svc.send(ALICE, "/daily 2023-12-31"))[0]
            assert "Your account began on 2024-01-01, after 2023-12-31" in before
            report = "\n".join(await svc.send(OPERATOR, "/daily today"))
            assert "Rampart daily report, 2024-01-01" in report

    asyncio.run(scenario())


GROUP = -100_500


async def _in_group(svc: TgService, uid: int, text: str) -> list[str]:
    before = len(svc.api.texts(GROUP))
    update = svc.api.push_text(uid, text, chat=GROUP)
    await svc.until(lambda: svc.bot.processed >= update)
    return svc.api.texts(GROUP)[before:]


def test_account_figures_never_go_to_a_group(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(OPERATOR, "aggressive", "4000")
            await svc.trade(600)
            for command in ("/profit", "/balance", "/trades", "/daily", "/weekly 2"):
                said = await _in_group(svc, ALICE, command)
                assert len(said) == 1 and "private chat" in said[0], (command, said)
            # /daily may reach a group for the operator's report, never for an account's days.
            own = await _in_group(svc, OPERATOR, "/daily 7")
            assert len(own) == 1 and "private chat" in own[0] and "USDT" not in own[0]
            report = "\n".join(await _in_group(svc, OPERATOR, "/daily today"))
            assert "Rampart daily report" in report

    asyncio.run(scenario())


async def _candles_until(svc: TgService, done: Any, limit: int = 4000) -> None:
    """Process candles without a checkpoint until ``done()`` holds."""
    for candle in itertools.islice(svc.candles, limit):
        if done():
            return
        svc.clock.set(candle.close_ts)
        async with svc.lock:
            await svc.session.process(candle)
    raise AssertionError(f"not reached in {limit} candles")


def _closed(svc: TgService, account: str, mark: int) -> list[TradeClosed]:
    return [
        e for e in svc.events[mark:] if isinstance(e, TradeClosed) and e.trade.account_id == account
    ]


def test_exit_causes_name_the_investor_and_the_operator(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB, "aggressive", "5000")
            engine = svc.session.engine
            alice, bob = engine.accounts[ACCOUNT], engine.accounts[f"tg-{BOB}"]
            await _candles_until(svc, lambda: bool(alice.ledger.positions))
            mark = len(svc.events)
            await svc.send(ALICE, "/close all")
            await svc.press(ALICE, "Confirm")
            await _candles_until(svc, lambda: bool(_closed(svc, ACCOUNT, mark)))
            mine = _closed(svc, ACCOUNT, mark)[0].trade
            text = (await svc.send(ALICE, "/trades"))[0]
            shown = next(s for s in text.split("\n") if f"{mine.entry_client_id}</code>" in s)
            assert shown.endswith("· investor"), shown

            await _candles_until(svc, lambda: bool(bob.ledger.positions))
            mark = len(svc.events)
            await svc.send(OPERATOR, f"/pause_user tg-{BOB} review flatten")
            await _candles_until(svc, lambda: bool(_closed(svc, f"tg-{BOB}", mark)))
            flattened = _closed(svc, f"tg-{BOB}", mark)[0].trade
            # Not saved yet: the cause comes from the writer's buffer and the engine.
            saved = queries.trades(svc.session.db, f"tg-{BOB}")
            assert all(t.entry_client_id != flattened.entry_client_id for t in saved)
            text = (await svc.send(BOB, "/trades"))[0]
            shown = next(s for s in text.split("\n") if f"{flattened.entry_client_id}</code>" in s)
            assert shown.endswith("· flatten"), shown
            # After the checkpoint (and with the engine's recent list empty, as after a
            # restart) the cause is read from the stored closing order.
            svc.session.checkpoint()
            alice.recent_orders.clear()
            bob.recent_orders.clear()
            api = Api(svc)
            stored = {
                t["trade_id"]: t["exit_cause"] for t in (await api.get(BOB, "trades"))["trades"]
            }
            assert stored[flattened.entry_client_id] == "flatten"
            again = {
                t["trade_id"]: t["exit_cause"] for t in (await api.get(ALICE, "trades"))["trades"]
            }
            assert again[mine.entry_client_id] == "investor"

    asyncio.run(scenario())


def test_an_investors_daily_today_is_their_own_day(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB, "aggressive", "3000")
            await svc.trade(2500)
            # Into the next business day (the orders' day, not the wall clock's), then a trade.
            first_day = _day(svc.clock.now_ms())
            while _day(svc.clock.now_ms()) == first_day:
                await svc.trade(60)
            await _until_a_trade_closes(svc, ACCOUNT)
            api = Api(svc)
            figures = await api.get(ALICE, "profit", days=7)
            today, q = figures["days"][0], "USDT"
            assert today["trades"] >= 1, "a trade closed today (business time)"

            mine = (await svc.send(ALICE, "/daily today"))[0]
            assert "for operators only" not in mine and "Rampart daily report" not in mine
            assert mine.startswith(f"<b>Today</b>, {_day(today['start'])} (today so far)")
            assert f"Realised {signed(Decimal(today['realized_pnl']), q)}" in mine
            assert f"{today['trades']} trade" in mine
            assert (
                f"Unrealised (open positions) {signed(Decimal(figures['unrealized_pnl']), q)}"
                in (mine)
            )
            assert mine.count(signed(Decimal(figures["realized_today"]), q)) >= 1
            # With no arguments: the last days, today's line marked.
            days = (await svc.send(ALICE, "/daily"))[0]
            assert f"{_day(today['start'])}  {signed(Decimal(today['realized_pnl']), q)}" in days
            assert "(today so far)" in days
            # An earlier day, by date, is that day's figure from the API.
            yesterday = figures["days"][1]
            assert _day(yesterday["start"]) == first_day
            past = (await svc.send(ALICE, f"/daily {_day(yesterday['start'])}"))[0]
            assert f"Realised {signed(Decimal(yesterday['realized_pnl']), q)}" in past
            assert "today so far" not in past and "Unrealised" not in past
            # Bob's today is his own.
            bob = await api.get(BOB, "profit", days=1)
            bobs = (await svc.send(BOB, "/daily today"))[0]
            assert f"Realised {signed(Decimal(bob['days'][0]['realized_pnl']), q)}" in bobs
            # A day to come, a day too old and a wrong date are plain sentences.
            assert "has not come yet" in (await svc.send(ALICE, "/daily 2099-01-01"))[0]
            assert "older" in (await svc.send(ALICE, "/daily 2023-01-01"))[0]
            assert "is not a date" in (await svc.send(ALICE, "/daily 2024-13-45"))[0]
            # The operator's plain /daily and /daily today are still the service's report.
            report = "\n".join(await svc.send(OPERATOR, "/daily today"))
            assert "Rampart daily report" in report

    asyncio.run(scenario())
