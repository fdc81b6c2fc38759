"""When a session's checkpoints fall due: a replay's first after half its interval (it is
written in process, so a small batch blocks the loop for less), then every interval; a
service's every interval from the start."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rampart.clock import SimClock
from rampart.config import AccountConfig, load_settings
from rampart.store.settings import StoreConfig
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession

from .replay_helpers import candle_walk, gc_as_found  # noqa: F401 (an autouse fixture)

SYMBOL = "BTC/USDT"


def _checkpoints_at(db: Path, every: int, candles: int, *, replay: bool) -> list[int]:
    """The candle counts at which the session took its checkpoints (closing one included)."""
    account = AccountConfig(
        id="schedule",
        agent="trend",
        profile="aggressive",
        capital=Decimal("100000"),
        symbols=[SYMBOL],
        owner="test",
        params={"fast": 3, "slow": 6},
    )
    clock = SimClock(0)
    session = TradingSession(
        load_settings(),
        clock,
        instruments_for([SYMBOL], {SYMBOL: 40_000.0}),
        db_url=f"sqlite:///{db}",
        checkpoint_name="replay",
        accounts=[account],
        checkpoint_every=every,
        ride_out_outages=not replay,
    )
    taken: list[int] = []
    state = session._checkpoint_state

    def record() -> tuple[str, int, dict[str, object]]:
        taken.append(session.engine.candles_seen)
        return state()

    session._checkpoint_state = record  # type: ignore[method-assign]

    async def run() -> None:
        await session.open()
        try:
            for candle in candle_walk(candles, SYMBOL, seed=11):
                clock.set(candle.close_ts)
                await session.process(candle)
        finally:
            session.close()

    asyncio.run(run())
    return taken


def test_a_replay_takes_its_first_checkpoint_after_half_the_interval(tmp_path: Path) -> None:
    assert _checkpoints_at(tmp_path / "r.db", 10, 36, replay=True) == [5, 15, 25, 35, 36]


def test_a_service_session_takes_every_checkpoint_after_the_full_interval(
    tmp_path: Path,
) -> None:
    assert _checkpoints_at(tmp_path / "s.db", 10, 36, replay=False) == [10, 20, 30, 36]


def test_the_replay_interval_default_keeps_the_first_checkpoint_at_5000_candles() -> None:
    # The first write stamps the accounts row's created_at: at half of 10,000 a replay's
    # database holds the same rows as when every checkpoint came after 5,000 candles.
    assert StoreConfig().replay_checkpoint_every // 2 == 5_000
