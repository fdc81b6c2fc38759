"""``rampart run``: the embedded default trades, stops cleanly and resumes from its database
with the same positions and protective orders."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.trading.engine import Engine
from rampart.wiring.instruments import instruments_for
from rampart.wiring.service import run_service
from rampart.wiring.session import TradingSession


def _settings(tmp_path: Path) -> Settings:
    return load_settings(
        store={"url": f"sqlite:///{tmp_path / 'var' / 'rampart.db'}", "checkpoint_every": 50},
        feed={"speed": 1e9},
        api={"port": 0},
    )


def _book(engine: Engine) -> dict[str, object]:
    return {
        a.account_id: (
            a.ledger.cash,
            sorted(
                (s, p.qty, p.avg_price, p.stop_loss, p.take_profit)
                for s, p in a.ledger.positions.items()
            ),
            sorted(
                (o.client_id, o.role.value, o.status.value, o.qty, o.price, o.stop_price)
                for o in a.orders.values()
            ),
        )
        for a in engine.accounts.values()
    }


def test_run_trades_stops_and_resumes_with_the_same_book(tmp_path: Path) -> None:
    with (tmp_path / "screen.txt").open("w") as screen:
        console = Console(file=screen, width=200)
        first = asyncio.run(run_service(_settings(tmp_path), console, max_candles=1000, view=False))
    engine = first.engine
    assert engine.violations == 0
    assert sum(a.ledger.trades_closed for a in engine.accounts.values()) > 0
    book = _book(engine)
    assert any(orders for _, _, orders in book.values()), "expected protective orders to compare"

    settings = _settings(tmp_path)
    session = TradingSession(
        settings,
        SimClock(0),
        instruments_for(settings.feed.symbols),
        db_url=settings.store.url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=50,
    )
    cursor = asyncio.run(session.open())
    assert cursor == 1000
    session.finish_resume()
    assert _book(session.engine) == book
    session.db.dispose()
    assert "Stopped cleanly" in (tmp_path / "screen.txt").read_text()
