"""The process a kill -9 test kills (tests/telegram/test_notice_kill.py): a trading session on
synthetic candles, its notices wired as the service wires them, each money notice "sent" by
appending its key to a file (flushed and synced before the send counts, as Telegram would
have it once the request left). Runs until killed.

    python -m tests.telegram.kill_child DB_PATH SENT_PATH
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.market.synthetic import SyntheticFeed
from rampart.notices.investor_notices import NoticeMaker, realised_of
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
ACCOUNT = "acct"


class FileTelegram:
    """Writes each notice's first line to ``path`` before answering that it was sent."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("a", encoding="utf-8")

    async def deliver(self, account_id: str, html: str) -> bool:
        self.handle.write(f"{account_id}\t{html.splitlines()[0]}\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())
        return True


async def main(db_path: Path, sent_path: Path) -> None:
    settings = load_settings(
        store={"url": f"sqlite:///{db_path}", "checkpoint_every": 10**6},
        feed={"symbols": SYMBOLS},
        accounts=[
            {
                "id": ACCOUNT,
                "agent": "trend",
                "profile": "aggressive",
                "capital": "5000",
                "symbols": SYMBOLS,
            }
        ],
    )
    clock = SimClock(0)
    session = TradingSession(
        settings,
        clock,
        instruments_for(SYMBOLS),
        db_url=settings.store.url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=settings.store.checkpoint_every,
    )
    await session.open()
    session.finish_resume()
    writer = session.writer
    assert writer is not None
    telegram = FileTelegram(sent_path)
    outbox = Outbox(
        session.db,
        SimClock(0),
        lambda: telegram,
        NotifyPrefs(session.db).load(),
        marks=writer.marks,
    )
    engine = session.engine
    session.bus.subscribe(
        NoticeMaker(outbox.put, lambda: list(engine.accounts), None, realised_of(engine))
    )
    stop = asyncio.Event()
    sending = asyncio.create_task(outbox.run(stop, lambda: None, 0.001))
    for candle in SyntheticFeed(SYMBOLS, seed=7, timeframe="1m").iter_candles():
        clock.set(candle.close_ts)
        await session.process(candle)
        await asyncio.sleep(0)  # the outbox's turn
        if sending.done():
            sending.result()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
