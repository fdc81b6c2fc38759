"""Incidents on the store (SQLite and PostgreSQL): open once per key, list, acknowledge,
resolve, timeline; and the ``rampart incidents`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import RampartError
from rampart.observability import incidents
from rampart.store.db import open_database

NOW = 1_700_000_000_000


@pytest.fixture
def db(db_url: str) -> sa.Engine:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def _open(db: sa.Engine, key: str = "EventLagHigh", at: int = NOW) -> incidents.IncidentRecord:
    return incidents.open_incident(
        db,
        key=key,
        rule=key.split("{")[0],
        severity="P1",
        summary="More than 1000 events are waiting to be handled.",
        value=1500.0,
        threshold=1000.0,
        labels={"symbol": "BTC/USDT"} if "{" in key else {},
        now_ms=at,
    )


def test_an_active_key_opens_one_incident_only(db: sa.Engine) -> None:
    first = _open(db)
    again = _open(db, at=NOW + 5000)
    assert again.id == first.id and again.opened_at == NOW
    other = _open(db, "FeedDisconnected{symbol=BTC/USDT}")
    assert other.id != first.id and other.labels == {"symbol": "BTC/USDT"}
    incidents.resolve(db, first.id, NOW + 9000, "the condition cleared")
    reopened = _open(db, at=NOW + 10_000)
    assert reopened.id not in (first.id, other.id)
    assert [r.id for r in incidents.active_incidents(db)] == [other.id, reopened.id]


def test_listing_filters_by_status_newest_first(db: sa.Engine) -> None:
    a = _open(db, "A", NOW)
    b = _open(db, "B", NOW + 1)
    c = _open(db, "C", NOW + 2)
    incidents.acknowledge(db, b.id, "alice", NOW + 3)
    incidents.resolve(db, c.id, NOW + 4, "cleared")
    assert [r.id for r in incidents.list_incidents(db)] == [c.id, b.id, a.id]
    assert [r.id for r in incidents.list_incidents(db, "open")] == [a.id]
    assert [r.id for r in incidents.list_incidents(db, "Acknowledged")] == [b.id]
    assert [r.id for r in incidents.list_incidents(db, "resolved")] == [c.id]
    assert [r.id for r in incidents.list_incidents(db, "active")] == [b.id, a.id]
    assert [r.id for r in incidents.list_incidents(db, limit=1)] == [c.id]
    with pytest.raises(RampartError, match="Unknown incident status"):
        incidents.list_incidents(db, "closed")
    with pytest.raises(RampartError, match="limit"):
        incidents.list_incidents(db, limit=0)


def test_acknowledge_records_who_and_when_once(db: sa.Engine) -> None:
    record = _open(db)
    acked = incidents.acknowledge(db, record.id, "alice", NOW + 60_000)
    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at) == (
        "acknowledged",
        "alice",
        NOW + 60_000,
    )
    again = incidents.acknowledge(db, record.id, "bob", NOW + 70_000)
    assert again.acknowledged_by == "alice"
    incidents.record_notification(db, record.id, NOW + 80_000, "repeated", "still", 1600.0)
    resolved = incidents.resolve(db, record.id, NOW + 90_000, "cleared")
    assert resolved is not None and resolved.status == "resolved" and resolved.value == 1600.0
    assert incidents.resolve(db, record.id, NOW + 99_000, "twice") is None
    timeline = incidents.incident_timeline(db, record.id)
    assert [(e.kind, e.actor) for e in timeline] == [
        ("opened", "rampart"),
        ("acknowledged", "alice"),
        ("repeated", "rampart"),
        ("resolved", "rampart"),
    ]
    data = json.loads(json.dumps(resolved.to_dict()))
    assert data["notifications"] == 1 and data["labels"] == {}


def test_acknowledge_explains_what_is_wrong(db: sa.Engine) -> None:
    record = _open(db)
    with pytest.raises(RampartError, match="There is no incident 999"):
        incidents.acknowledge(db, 999, "alice", NOW)
    with pytest.raises(RampartError, match="Say who"):
        incidents.acknowledge(db, record.id, "  ", NOW)
    incidents.resolve(db, record.id, NOW + 1, "cleared")
    with pytest.raises(RampartError, match="already resolved"):
        incidents.acknowledge(db, record.id, "alice", NOW + 2)
    assert incidents.get_incident(db, 999) is None


def test_the_incidents_command_lists_and_acknowledges(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = open_database(url)
    record = _open(db)
    db.dispose()
    runner = CliRunner()
    env = {"RAMPART_STORE__URL": url, "COLUMNS": "200"}

    listed = runner.invoke(app, ["incidents"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "EventLagHigh" in listed.output and "open" in listed.output

    acked = runner.invoke(app, ["incidents", "--ack", str(record.id), "--by", "carol"], env=env)
    assert acked.exit_code == 0, acked.output
    assert f"Incident {record.id} (EventLagHigh) acknowledged by carol." in acked.output

    as_json = runner.invoke(app, ["incidents", "--status", "acknowledged", "--json"], env=env)
    assert json.loads(as_json.output)[0]["acknowledged_by"] == "carol"
    none_open = runner.invoke(app, ["incidents", "--status", "open"], env=env)
    assert "No open incidents." in none_open.output

    missing = runner.invoke(app, ["incidents", "--ack", "42"], env=env)
    assert missing.exit_code == 2 and "There is no incident 42." in missing.output
    bad = runner.invoke(app, ["incidents", "--status", "closed"], env=env)
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_acknowledged_by_and_resolved_are_told_apart(tmp_path: Path) -> None:
    """Once, an incident carol only acknowledged was listed "resolved by carol"."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = open_database(url)
    record = _open(db)
    incidents.acknowledge(db, record.id, "carol", NOW + 60_000)
    incidents.resolve(db, record.id, NOW + 120_000, "cleared")
    db.dispose()
    listed = CliRunner().invoke(
        app, ["incidents"], env={"RAMPART_STORE__URL": url, "COLUMNS": "250"}
    )
    assert listed.exit_code == 0, listed.output
    text = " ".join(listed.output.split())
    assert "resolved by" not in text, listed.output
    assert "by carol" in text and "condition cleared" in text, listed.output
    header = next(line for line in listed.output.splitlines() if "acknowledged" in line)
    assert "resolved" in header, listed.output
