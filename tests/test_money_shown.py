"""One amount reads the same wherever a person reads it: the operator panel, an investor's
notice, a report and the command line all show ``29,271.17 USDT`` for an equity (or a PnL) of
29271.166943693700 USDT: thousands separators, two decimals for a dollar-like quote, the
asset's symbol. Machines still get the exact value: the API's JSON keeps every decimal.

The panel and the notices used to print the raw twelve-decimal string, the reports said
"USD" for USDT, and the terminal view printed cash without its asset.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from rampart.config import load_settings
from rampart.domain.events import TradeClosed
from rampart.domain.positions import ClosedTrade
from rampart.loops.terminal_view import render
from rampart.notices.investor_notices import InvestorNotice, NoticeMaker
from rampart.reports.build import make_report
from rampart.reports.period import day_ms
from rampart.store import models as m
from rampart.store.db import open_database
from tests.api.conftest import LiveApi
from tests.panel.panel_http import ADMIN, figures, sign_in

VALUE = Decimal("29271.166943693700")
SHOWN = "29,271.17 USDT"
RAW = "29271.1669"
MONDAY = date(2024, 3, 4)


def _panel_and_cli(tmp_path: Path) -> tuple[str, str, str, dict[str, str]]:
    """Alice holds exactly VALUE in cash (the others nothing): her account page, the Overview,
    the terminal view of ``rampart run``, and the API's JSON for her portfolio."""
    api = LiveApi(tmp_path)
    try:
        api.start(warm=0)

        def hold() -> None:
            for account_id, acct in api.engine.accounts.items():
                acct.ledger.cash = VALUE if account_id == "alice" else Decimal(0)

        api.call(hold)
        client = sign_in(api)
        account = client.get("/panel/accounts/alice").text
        overview = client.get("/panel").text
        console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(render(api.engine, "rampart run"))
        terminal = console.export_text()
        portfolio = api.get("/api/v1/accounts/alice/portfolio").json()
        assert api.get(f"{ADMIN}/overview").json()["figures"]["equity-total"] == str(VALUE)
    finally:
        api.stop()
    return account, overview, terminal, portfolio


def _notice() -> str:
    told: list[InvestorNotice] = []
    maker = NoticeMaker(told.append, lambda: ["alice"])
    trade = ClosedTrade(
        account_id="alice",
        symbol="BTC/USDT",
        strategy="trend",
        entry_client_id="rp-a-1-e",
        opened_at=0,
        closed_at=60_000,
        qty=Decimal("0.5"),
        entry_price=Decimal("42000"),
        exit_price=Decimal("100542.333887387400"),
        gross_pnl=VALUE + Decimal("2.000244950000"),
        fees=Decimal("2.000244950000"),
        pnl=VALUE,
        exit_reason="take_profit",
        stop_loss=Decimal("41000"),
        take_profit=Decimal("100000"),
        risk=Decimal("500"),
    )
    maker(TradeClosed(60_000, trade))
    (notice,) = told
    return notice.text


def _report(tmp_path: Path) -> str:
    """A weekly report whose equity ends at VALUE."""
    engine = open_database(f"sqlite:///{tmp_path / 'report.db'}")
    start = day_ms(MONDAY)
    try:
        with engine.begin() as conn:
            conn.execute(
                m.accounts.insert().values(
                    account_id="alice",
                    owner="alice",
                    agent="trend",
                    profile="moderate",
                    capital=Decimal(10000),
                    quote="USDT",
                    symbols=["BTC/USDT"],
                    state="active",
                    paused=False,
                    created_at=start - 86_400_000,
                    updated_at=start,
                )
            )
            for ts, equity in ((start - 3_600_000, Decimal(10000)), (start + 3_600_000, VALUE)):
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
        report = make_report(
            engine, load_settings(), "weekly", MONDAY, now_ms=start + 30 * 86_400_000
        )
        return report.markdown
    finally:
        engine.dispose()


def test_one_amount_reads_the_same_everywhere(tmp_path: Path) -> None:
    account, overview, terminal, portfolio = _panel_and_cli(tmp_path)
    shown = {
        "panel: account": account,
        "panel: overview": overview,
        "notice": _notice(),
        "report": _report(tmp_path),
        "command line": terminal,
    }
    for where, text in shown.items():
        assert SHOWN in text, (where, text)
        assert RAW not in text, (where, text)
    assert figures(account)["equity"] == SHOWN
    assert figures(account)["cash"] == SHOWN
    assert figures(overview)["equity-total"] == SHOWN
    assert "+29,271.17 USDT" in shown["notice"]  # a PnL is signed
    assert "fees 2.00 USDT" in shown["notice"]
    row = next(line for line in terminal.splitlines() if line.lstrip("│ ").startswith("alice"))
    assert row.count(SHOWN) == 2, row  # equity and cash, each with its asset
    # Exact where machines read it.
    assert portfolio["equity"] == str(VALUE) and portfolio["cash"] == str(VALUE)
