"""The daily report's "Solana swaps" section, from rows written through StoreSwapJournal: shown
only on a day with swaps, with the routes, the bags.fm : Jupiter ratio and share, the
platform fees in the asset each was taken in, the network fees in SOL and the realised slippage."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.config import load_settings
from rampart.reports.build import make_report
from rampart.reports.period import day_ms
from rampart.store.db import open_database
from rampart.store.solana_swaps import StoreSwapJournal
from rampart.venues.solana.journal import SwapRecord

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SOL = "So11111111111111111111111111111111111111112"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
DAY = date(2024, 3, 5)
START = day_ms(DAY)
HOUR = 3_600_000
NOW = START + 3 * 86_400_000


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'report.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


def swap(
    client_id: str,
    route: str,
    *,
    side: str = "buy",
    status: str = "filled",
    attempt: int = 1,
    at: int = START + HOUR,
    base: tuple[str, str] = ("SOL/USDC", SOL),
    quoted_quote: str = "150",
    paid_quote: str = "150",
    fee_lamports: int = 15_000,
) -> SwapRecord:
    """1 base token against ``quoted_quote`` USDC; filled at ``paid_quote``; bags.fm takes 1 %
    in the mint its reference names: SOL when a leg is SOL, else the USDC leg."""
    symbol, mint = base
    buy = side == "buy"
    filled = status == "filled"
    quoted, paid = Decimal(quoted_quote), Decimal(paid_quote)
    bags_fill = route == "bags" and filled
    in_sol = symbol.startswith("SOL/")
    fee = (Decimal("0.01") if in_sol else paid / 100) if bags_fill else Decimal(0)
    fee_mint = (mint if in_sol else USDC) if bags_fill else ""
    return SwapRecord(
        client_id=client_id,
        attempt=attempt,
        account_id="alice",
        symbol=symbol,
        side=side,
        route=route,
        signature=f"sig{client_id}{attempt}",
        last_valid_height=500,
        in_mint=USDC if buy else mint,
        out_mint=mint if buy else USDC,
        quoted_in=quoted if buy else Decimal(1),
        quoted_out=Decimal(1) if buy else quoted,
        status=status,
        ts=at,
        filled_in=(paid if buy else Decimal(1)) if filled else Decimal(0),
        filled_out=(Decimal(1) if buy else paid) if filled else Decimal(0),
        platform_fee=fee,
        platform_fee_mint=fee_mint,
        best_route=route,
        fee_lamports=fee_lamports,
    )


def record(db: sa.Engine, *rows: SwapRecord) -> None:
    journal = StoreSwapJournal(db)

    async def write() -> None:
        for row in rows:
            await journal.record(row)

    asyncio.run(write())


def section(markdown: str) -> str:
    assert "## Solana swaps" in markdown
    return markdown.split("## Solana swaps", 1)[1].split("\n## ", 1)[0]


def test_a_day_without_swaps_has_no_solana_section(db: sa.Engine) -> None:
    record(db, swap("other-day", "bags", at=START - 1))  # the day before: not this report's
    report = make_report(db, load_settings(), "daily", DAY, now_ms=NOW)
    assert "Solana" not in report.markdown
    assert report.figures.solana is None and report.figures.as_dict()["swaps"] is None


def test_the_section_shows_the_days_swaps(db: sa.Engine) -> None:
    record(
        db,
        # bags.fm: three fills (one 10 bps worse than quoted, one sell, one BONK buy).
        swap("b1", "bags", paid_quote="150.15"),
        swap("b2", "bags", side="sell", at=START + 2 * HOUR),
        swap("b3", "bags", base=("BONK/USDC", BONK), quoted_quote="20", paid_quote="20"),
        # Jupiter: one fill 20 bps worse, one order that failed on slippage and then filled.
        swap("j1", "jupiter", paid_quote="150.30"),
        swap("j2", "jupiter", status="failed", at=START + 3 * HOUR),
        swap("j2", "jupiter", attempt=2, at=START + 3 * HOUR + 1_000),
        # An attempt refused at send time: it never landed, so no network fee.
        swap("j3", "jupiter", status="refused", fee_lamports=0, at=START + 4 * HOUR),
        swap("next", "bags", at=START + 86_400_000),  # tomorrow: not in today's report
    )
    report = make_report(db, load_settings(), "daily", DAY, now_ms=NOW)
    text = section(report.markdown)

    assert "| bags.fm | filled 3 | 60.0 % | 320.15 USDC |" in text
    assert "| Jupiter | filled 2, failed 1, refused 1 | 40.0 % | 300.3 USDC |" in text
    assert "| swaps (client orders) | 6 |" in text
    assert "| bags.fm : Jupiter (filled) | 3 : 2 (1.50) |" in text
    # bags.fm's 1 %: of the SOL leg of the two SOL/USDC swaps, of the USDC leg of the BONK buy.
    assert "| platform fees paid | 0.02 SOL (mint So11…1112), 0.2 USDC (mint EPjF…Dt1v) |" in text
    assert "| route preference | none: every swap took the best price |" in text
    assert "partner" not in text.lower()
    # Six attempts paid 15,000 lamports each; the refused one paid nothing.
    assert "| network fees | 0.00009 SOL (90,000 lamports) |" in text
    assert "| bags.fm | 3 | +3.3 bps | +10.0 bps |" in text
    assert "| Jupiter | 2 | +10.0 bps | +20.0 bps |" in text
    # Between the incidents and the service sections of the report.
    assert report.markdown.index("## Solana swaps") < report.markdown.index("## Service")

    figures = report.figures.as_dict()["swaps"]
    assert figures["platform_fees"] == {"SOL": "0.02", "USDC": "0.2"}
    assert "partner_fees" not in figures
    assert figures["fee_lamports"] == 90_000 and figures["filled"] == {"bags": 3, "jupiter": 2}
    assert figures["route_share"] == {"bags": 0.6, "jupiter": 0.4}


def test_an_investors_own_summary_leaves_the_swaps_out(db: sa.Engine) -> None:
    record(db, swap("b1", "bags"))
    with db.begin() as conn:
        from rampart.store import models as m

        conn.execute(
            m.accounts.insert().values(
                account_id="alice",
                owner="alice",
                agent="trend",
                profile="moderate",
                capital=Decimal(1000),
                quote="USDC",
                symbols=["SOL/USDC"],
                state="active",
                paused=False,
                created_at=START,
                updated_at=START,
            )
        )
    report = make_report(db, load_settings(), "weekly", DAY, now_ms=NOW, account="alice")
    assert report.figures.solana is None and "Solana" not in report.markdown
