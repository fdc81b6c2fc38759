"""A backup is aged on the wall clock: minutes after ``rampart backup create`` on
the store of a simulated run, ``doctor`` called it 25,338.5 h old and ``review daily`` 57.5 h
(stamped on the run's business time, read on the wall's, or the other way round)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.common import recorded_now_ms
from rampart.cli.main import app
from rampart.cli.review import daily_checks
from rampart.clock import WallClock
from rampart.config import load_settings
from rampart.store.db import open_database
from rampart.store.service_clock import ServiceTimeRecorder
from rampart.wiring.doctor import check_backups

from .conftest import replay

SIMULATED_NOW = 1_704_067_200_000  # 2024-01-01


def test_a_fresh_backup_reads_fresh_in_doctor_and_the_daily_review(
    tmp_path: Path, key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live.db"
    replay(f"sqlite:///{live}", tmp_path / "out")
    db = open_database(f"sqlite:///{live}")
    try:  # a simulated service ran here: its business time is the feed's, in 2024
        ServiceTimeRecorder(db, simulated=True).beat(SIMULATED_NOW, WallClock().now_ms())
    finally:
        db.dispose()
    monkeypatch.setenv("RAMPART_STORE__URL", f"sqlite:///{live}")
    monkeypatch.setenv("RAMPART_BACKUP__DIR", str(tmp_path / "backups"))
    monkeypatch.setenv("RAMPART_BACKUP__KEY", key.hex())
    made = CliRunner().invoke(app, ["backup", "create"])
    assert made.exit_code == 0, made.output
    settings = load_settings(None)
    db = open_database(settings.store.url)
    try:
        doctor = check_backups(settings, db, WallClock().now_ms())
        review = {c.item: c for c in daily_checks(db, 6.0, recorded_now_ms(db))}
    finally:
        db.dispose()
    assert doctor.message == "the newest backup is 0.0 h old.", doctor
    assert review["Last backup"].ok and review["Last backup"].detail.startswith("newest 0.0 h")
