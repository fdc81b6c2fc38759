"""Retention, the scheduled job and the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr
from typer.testing import CliRunner

from rampart.backup.create import created_at_of, list_backups, prune
from rampart.backup.destinations import DirectoryDestination
from rampart.backup.retention import DAY_MS, Dated, to_keep
from rampart.backup.scheduled import JOB_NAME, backup_job
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.runtime.scheduler import HOUR_MS, Scheduler
from rampart.store import ops_records
from rampart.store.db import open_database
from rampart.store.ops_records import StoredJobRuns

from .conftest import replay

NOW = 1_700_000_000_000 // DAY_MS * DAY_MS + 20 * HOUR_MS


def test_retention_keeps_the_last_n_and_one_a_day() -> None:
    # Every 6 hours for 30 days.
    backups = [Dated(f"b{i:03}", NOW - i * 6 * HOUR_MS) for i in range(120)]
    keep = to_keep(backups, NOW, keep_last=4, keep_daily_days=7)
    newest = {f"b{i:03}" for i in range(4)}
    assert newest <= keep
    days = {b.created_at // DAY_MS for b in backups if b.name in keep}
    assert len(days) == 7 and NOW // DAY_MS - min(days) == 6
    # Of each day, the newest backup is the one kept.
    for day in days:
        of_day = [b for b in backups if b.created_at // DAY_MS == day]
        assert max(of_day, key=lambda b: b.created_at).name in keep
    assert len(keep) == 4 + 6  # today's newest is among the last four
    assert to_keep(backups[5:], NOW, keep_last=0, keep_daily_days=0) == {"b005"}


def _settings(tmp_path: Path, key: bytes):
    settings = load_settings(None)
    settings.store.url = f"sqlite:///{tmp_path / 'live.db'}"
    settings.backup.dir = tmp_path / "backups"
    settings.backup.key = SecretStr(key.hex())
    settings.backup.keep_last = 2
    settings.backup.keep_daily_days = 2
    return settings


def test_the_scheduled_job_backs_up_off_the_loop_records_it_and_prunes(
    tmp_path: Path, key: bytes
) -> None:
    settings = _settings(tmp_path, key)
    replay(settings.store.url, tmp_path / "out")
    engine = open_database(settings.store.url)
    clock = SimClock(NOW)
    scheduler = Scheduler(StoredJobRuns(engine), clock)
    try:
        job = backup_job(
            settings.backup,
            store_url=settings.store.url,
            master_key=settings.master_key,
            vault=settings.vault,
            db=engine,
            business=clock,
            wall=clock,  # the stamps' clock (the host's by default), stepped with the slots
        )
        assert job is not None and job.every_ms == 6 * HOUR_MS and job.catch_up_first
        assert job.name == JOB_NAME
        scheduler.add(job)
        for step in range(4):
            clock.set(NOW + step * 6 * HOUR_MS)
            outcomes = asyncio.run(scheduler.run_due())
            assert [o.ok for o in outcomes] == [True], outcomes
        created = ops_records.events_between(engine, ops_records.BACKUP_CREATED, NOW, NOW + DAY_MS)
    finally:
        engine.dispose()
    assert len(created) == 4 and {e.actor for e in created} == {"scheduler"}
    dest = DirectoryDestination(settings.backup.dir)
    names = dest.names()
    # keep_last 2, plus the newest of the previous day (the first run was on day one).
    assert len(names) == 3 and created[-1].detail["name"] in names
    assert [created_at_of(n) for n in names] == sorted(created_at_of(n) for n in names)
    assert all(item.manifest and item.problem is None for item in list_backups(dest))
    assert prune(dest, NOW + 3 * 6 * HOUR_MS, 2, 2) == []


def test_no_key_means_no_job(tmp_path: Path) -> None:
    settings = load_settings(None)
    settings.store.url = f"sqlite:///{tmp_path / 'live.db'}"
    settings.master_key = None
    engine = open_database(settings.store.url)
    try:
        job = backup_job(
            settings.backup,
            store_url=settings.store.url,
            master_key=settings.master_key,
            vault=settings.vault,
            db=engine,
            business=SimClock(NOW),
        )
        assert job is None
    finally:
        engine.dispose()


def test_the_command_line_speaks_in_sentences(tmp_path: Path, key: bytes, monkeypatch) -> None:
    from rampart.cli.main import app

    live = tmp_path / "live.db"
    replay(f"sqlite:///{live}", tmp_path / "out")
    monkeypatch.setenv("RAMPART_STORE__URL", f"sqlite:///{live}")
    monkeypatch.setenv("RAMPART_BACKUP__DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("RAMPART_MASTER_KEY", raising=False)
    monkeypatch.delenv("RAMPART_BACKUP__KEY", raising=False)
    runner = CliRunner()

    def said(result) -> str:
        return " ".join(result.output.split())  # rich wraps long lines

    no_key = runner.invoke(app, ["backup", "create"])
    assert no_key.exit_code == 2 and "No backup key is set" in said(no_key)
    monkeypatch.setenv("RAMPART_BACKUP__KEY", key.hex())
    made = runner.invoke(app, ["backup", "create"])
    assert made.exit_code == 0, made.output
    assert "written to" in said(made) and key.hex() not in said(made)
    listed = runner.invoke(app, ["backup", "list"])
    assert listed.exit_code == 0 and "sqlite" in said(listed)
    ok = runner.invoke(app, ["backup", "verify", "latest", "--restore-drill"])
    assert ok.exit_code == 0 and "is intact" in said(ok) and "drill passed" in said(ok)
    target = tmp_path / "restored.db"
    done = runner.invoke(app, ["backup", "restore", "latest", "--to", f"sqlite:///{target}"])
    assert done.exit_code == 0 and "reconciles" in said(done) and target.is_file()
    again = runner.invoke(app, ["backup", "restore", "latest", "--to", f"sqlite:///{target}"])
    assert again.exit_code == 2 and "already exists" in said(again)
    missing = runner.invoke(app, ["backup", "verify", "nope.rbk"])
    assert missing.exit_code == 2 and "There is no backup called nope.rbk" in said(missing)
    monkeypatch.setenv("RAMPART_BACKUP__KEY", "00" * 32)
    wrong = runner.invoke(app, ["backup", "verify"])
    assert wrong.exit_code == 2 and "another backup key" in said(wrong)
    assert "Traceback" not in said(wrong)


def _jobs(settings, engine, registry):  # type: ignore[no-untyped-def]
    from rampart.wiring.jobs import scheduled_jobs

    return scheduled_jobs(
        settings,
        engine,
        business=SimClock(NOW),
        rollout=None,
        messenger=lambda: None,
        save_now=lambda: asyncio.sleep(0),
        registry=registry,
    )


def test_a_written_backup_moves_the_missed_backup_due_time(tmp_path: Path, key: bytes) -> None:
    """BackupMissed reads rampart_backup_due_timestamp_seconds, on the wall clock: due one
    interval (and an hour) after the last backup written, kept across restarts (once each
    start reset it, so a service restarted more often than every 7 h never raised it)."""
    from prometheus_client import CollectorRegistry

    from rampart.clock import WallClock
    from rampart.observability.backup_metrics import DUE, GRACE_S, LAST_SUCCESS

    settings = _settings(tmp_path, key)
    settings.feed.kind = "ccxt"  # an exchange feed: business time is the wall clock
    replay(settings.store.url, tmp_path / "out")
    engine = open_database(settings.store.url)
    every_s = settings.backup.every_hours * 3600
    try:
        before = WallClock().now_ms()
        earlier = before - 5 * HOUR_MS  # the last backup, written before this start
        ops_records.record_event(engine, ops_records.BACKUP_CREATED, earlier, "scheduler")
        registry = CollectorRegistry()
        jobs = _jobs(settings, engine, registry)
        assert registry.get_sample_value(DUE) == earlier / 1000 + every_s + GRACE_S
        assert registry.get_sample_value(LAST_SUCCESS) == 0
        job = next(j for j in jobs if j.name == JOB_NAME)
        asyncio.run(job.run(NOW))
        last = registry.get_sample_value(LAST_SUCCESS)
        assert last is not None and last * 1000 >= before  # stamped on the wall clock
        assert registry.get_sample_value(DUE) == last + every_s + GRACE_S
        # A restart now: due from that backup, not from the start.
        again = CollectorRegistry()
        _jobs(settings, engine, again)
        newest = ops_records.last_event(engine, ops_records.BACKUP_CREATED)
        assert newest is not None and newest.ts >= before
        assert again.get_sample_value(DUE) == newest.ts / 1000 + every_s + GRACE_S
    finally:
        engine.dispose()


def test_a_simulated_run_exports_no_backup_due_time(tmp_path: Path, key: bytes) -> None:
    """Once, on the synthetic feed the due time sat on the 2024 clock, so the exported
    Prometheus rule paged at once, and the in-service rule at the start of every run."""
    from prometheus_client import CollectorRegistry

    from rampart.observability.backup_metrics import DUE

    settings = _settings(tmp_path, key)
    assert settings.feed.simulated
    engine = open_database(settings.store.url)
    registry = CollectorRegistry()
    try:
        jobs = _jobs(settings, engine, registry)
    finally:
        engine.dispose()
    assert any(j.name == JOB_NAME for j in jobs)  # backups still run
    assert registry.get_sample_value(DUE) is None
