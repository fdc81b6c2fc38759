"""Performance is measured net of deposits and withdrawals (a time-weighted return): money an
investor puts in is not growth, money taken out is not a drawdown. The reports (daily, weekly,
an investor's week) and the bot's ``/profit`` say so, and name the quote asset.

The reports used to count a deposit as a day's return (+99 % on the day capital doubled) and a
withdrawal as a drawdown; ``/profit`` showed no return at all.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.config import load_settings
from rampart.reports.build import make_report
from rampart.reports.store import get_report, save_report
from rampart.store import models as m
from rampart.store.db import open_database
from tests.reports.helpers import DAY, HOUR, MON, WEEK_MONDAY
from tests.telegram.conftest import ALICE, TgService

GROWTH = Decimal("1.01")
"""Each of the first three days the account grows 1 % on what it holds."""


def _snapshot(conn: sa.Connection, ts: int, equity: Decimal) -> None:
    conn.execute(
        m.equity_snapshots.insert().values(
            account_id="alice",
            ts=ts,
            cash=equity,
            positions_value=Decimal(0),
            equity=equity,
            realized_pnl=Decimal(0),
        )
    )


def _capital(conn: sa.Connection, ts: int, old: Decimal, new: Decimal) -> None:
    conn.execute(
        m.account_events.insert().values(
            scope="alice",
            kind="capital",
            old=str(old),
            new=str(new),
            reason=f"capital {old} → {new}",
            actor="telegram:101",
            flatten=False,
            ts=ts,
        )
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """Alice's week: +1 % on Monday; 10,000 USDT put in on Tuesday at noon, then +1 %; 5,000
    taken out on Wednesday at noon, then +1 %; flat to Sunday. Equity is valued when the
    capital moves (the bot takes a snapshot before it changes the books), as at every 6 h."""
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    with db.begin() as conn:
        conn.execute(
            m.accounts.insert().values(
                account_id="alice",
                owner="alice",
                agent="trend",
                profile="moderate",
                capital=Decimal(15000),
                quote="USDT",
                symbols=["BTC/USDT"],
                state="active",
                paused=False,
                created_at=MON - 7 * DAY,
                updated_at=MON,
            )
        )
        equity = Decimal(10000)
        _snapshot(conn, MON - HOUR, equity)
        for day in range(7):
            start = MON + day * DAY
            if day == 1:
                _snapshot(conn, start + 12 * HOUR, equity)
                _capital(conn, start + 12 * HOUR, Decimal(10000), Decimal(20000))
                equity += 10000
            if day == 2:
                _snapshot(conn, start + 12 * HOUR, equity)
                _capital(conn, start + 12 * HOUR, Decimal(20000), Decimal(15000))
                equity -= 5000
            if day < 3:
                equity *= GROWTH
            _snapshot(conn, start + 23 * HOUR, equity)
    try:
        yield db
    finally:
        db.dispose()


def _settings() -> object:
    return load_settings(feed={"speed": 1.0})


def _row(markdown: str, label: str) -> str:
    found = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", markdown, re.M)
    assert found is not None, (label, markdown)
    return found.group(1)


@pytest.mark.parametrize("account", [None, "alice"], ids=["operator", "investor"])
def test_a_deposit_is_not_growth_nor_a_withdrawal_a_drawdown(
    engine: sa.Engine, account: str | None
) -> None:
    report = make_report(
        engine, _settings(), "weekly", WEEK_MONDAY, now_ms=MON + 30 * DAY, account=account
    )
    f = report.figures
    # Three days of +1 %, whatever came in or went out.
    assert [round(r, 9) for r in f.daily_returns] == [0.01, 0.01, 0.01, 0, 0, 0, 0]
    assert f.max_drawdown == 0
    assert f.time_weighted_return == pytest.approx(float(GROWTH**3 - 1), rel=1e-9)
    assert f.net_flows == {"USDT": Decimal(5000)}
    text = report.markdown
    assert _row(text, "return, net of deposits and withdrawals") == "+3.03 %"
    assert _row(text, "deposits and withdrawals") == "+5,000.00 USDT"
    assert _row(text, "equity, start → end") == "10,000.00 USDT → 15,454.01 USDT"
    assert not re.search(r"\d USD\b", text.split("---")[0])  # the quote asset is named
    stored = get_report(engine, report.id)
    assert stored is not None and stored.figures["time_weighted_return"] is not None


def test_the_daily_report_of_the_deposit_day_shows_one_percent(engine: sa.Engine) -> None:
    report = make_report(
        engine, _settings(), "daily", WEEK_MONDAY.replace(day=5), now_ms=MON + 30 * DAY
    )
    assert [round(r, 9) for r in report.figures.daily_returns] == [0.01]
    assert _row(report.markdown, "return, net of deposits and withdrawals") == "+1.00 %"
    assert report.figures.time_weighted_return == pytest.approx(0.01, rel=1e-9)
    assert _row(report.markdown, "deposits and withdrawals") == "+10,000.00 USDT"


def _percent(text: str, label: str) -> float:
    found = re.search(rf"{label} ([+-]?\d+(?:\.\d+)?) ?%", text)
    assert found is not None, (label, text)
    return float(found.group(1))


def test_profit_does_not_count_a_deposit_as_growth(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.trade(90)
            await svc.send(ALICE, "/invest 10000")  # doubles the capital: 5,000 put in
            await svc.trade(90)
            (answer,) = await svc.send(ALICE, "/profit")
            line = next((s for s in answer.splitlines() if "net of deposits" in s), None)
            assert line is not None, answer
            # The market moved the account by a few per cent at most: the 5,000 put in (a
            # doubling) is not in the return.
            for label in ("today", "this week", "all time"):
                assert abs(_percent(line, label)) < 5, line
            views = svc.operator.views
            account = f"tg-{ALICE}"
            profit = await views.profit(account)
            portfolio = await views.portfolio(account)
            assert portfolio.equity > Decimal(9000)  # the deposit is in the equity
            assert profit.return_all is not None and abs(profit.return_all) < Decimal("0.05")

    asyncio.run(scenario())


def test_a_report_stored_before_is_served_as_it_was(engine: sa.Engine) -> None:
    """Reports already stored keep their figures and words (nothing recomputes them)."""
    old = save_report(
        engine,
        kind="weekly",
        scope="operator",
        period_start=MON - 7 * DAY,
        period_end=MON,
        created_at=MON,
        markdown="| net PnL | +12.00 USD |",
        figures={"net_pnl": "12", "volume_usd": "100"},
        charts={},
    )
    make_report(engine, _settings(), "weekly", WEEK_MONDAY, now_ms=MON + 30 * DAY)
    stored = get_report(engine, old)
    assert stored is not None and stored.markdown == "| net PnL | +12.00 USD |"
    assert stored.figures == {"net_pnl": "12", "volume_usd": "100"}
