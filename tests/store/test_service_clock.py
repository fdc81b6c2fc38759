"""The service's business time as commands in another process read it, on both stores."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.store.db import open_database
from rampart.store.service_clock import RecordedClock, load_service_time, save_service_time

SIMULATED = 1_704_153_900_000  # 2024-01-02 00:05, the demo's candles
WALL = 1_795_338_000_000  # 2026-11-22


def test_a_simulated_service_time_is_what_commands_read(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        assert RecordedClock(engine, SimClock(WALL)).now_ms() == WALL  # no service yet
        save_service_time(engine, True, SIMULATED - 60_000, WALL - 1_000)
        save_service_time(engine, True, SIMULATED, WALL)  # one row, updated
        recorded = load_service_time(engine)
        assert recorded is not None
        assert (recorded.simulated, recorded.now_ms, recorded.wall_ms) == (True, SIMULATED, WALL)
        clock = RecordedClock(engine, SimClock(WALL + 3_600_000))
        assert clock.simulated and clock.now_ms() == SIMULATED  # stopped service: time stands
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM service_clock")).scalar_one()
        assert rows == 1
    finally:
        engine.dispose()


def test_an_exchange_service_time_is_the_wall_clock(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        save_service_time(engine, False, WALL - 5_000, WALL - 5_000)
        clock = RecordedClock(engine, SimClock(WALL))
        assert not clock.simulated and clock.now_ms() == WALL
    finally:
        engine.dispose()
