"""``rampart review daily``: each item fails on its own cause, and the command's
exit code follows."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.cli.review import HOUR_MS, daily_checks
from rampart.observability import incidents
from rampart.store import ops_records
from rampart.store.db import open_database

NOW = 1_700_000_000_000


def _failed(db, now_ms: int = NOW) -> set[str]:
    return {c.item for c in daily_checks(db, 6.0, now_ms, now_ms) if not c.ok}


def test_each_item_fails_on_its_own_cause(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert _failed(db) == {"Last backup"}  # none recorded
        ops_records.record_event(db, ops_records.BACKUP_CREATED, NOW - 2 * HOUR_MS, "scheduler")
        assert _failed(db) == set()
        # every_hours 6 + the hour BackupMissed allows: 7 h is on time, 7.1 h is missed.
        assert _failed(db, NOW + 5 * HOUR_MS) == set()
        assert _failed(db, NOW + 5 * HOUR_MS + HOUR_MS // 10) == {"Last backup"}
        incidents.open_incident(
            db,
            key="k",
            rule="DatabaseDown",
            severity="P0",
            summary="down",
            value=1,
            threshold=0,
            labels={},
            now_ms=NOW - HOUR_MS,
        )
        assert _failed(db) == {"Open P0/P1 incidents", "Alerts fired in the last day"}
    finally:
        db.dispose()


def test_the_command_prints_the_table_and_exits_1_on_a_failed_item(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'r.db'}\n")
    result = CliRunner().invoke(app, ["review", "daily", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "Daily review" in result.output and "no backup recorded" in result.output


def test_paper_fills_count_only_after_an_inputs_span_and_an_unstated_one_is_unverified(
    tmp_path: Path,
) -> None:
    from rampart.agents.spans import InputSpan
    from rampart.store import models as m

    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        three = NOW - 3 * HOUR_MS
        fills = [("carol", three), ("carol", NOW - HOUR_MS), ("dave", three)]
        with db.begin() as conn:
            for n, (account, ts) in enumerate(fills):
                conn.execute(
                    m.fills.insert().values(
                        fill_id=f"f{n}", client_id=f"c{n}", account_id=account, symbol="BTC/USDT",
                        side="buy", qty=1, price=100, fee=0, liquidity="taker", role="entry",
                        strategy="a", ts=ts,
                    )
                )  # fmt: skip
        made = InputSpan("bars.csv", None, NOW - 2 * HOUR_MS)  # made up to two hours ago
        inputs = {"carol": (made,), "dave": (InputSpan("weights.npy", None, None),)}
        review = {c.item: c for c in daily_checks(db, 6.0, NOW, NOW, inputs)}
        # carol's fill three hours ago traded a market bars.csv was made from: not counted.
        counted = review["Paper fills in the last day"]
        assert counted.detail == "2 fill(s) (1 more inside an input's span, not counted)"
        said = review["Agents' inputs"].detail
        assert said.startswith("carol: bars.csv was made up to "), said
        assert said.endswith("; dave: weights.npy unverified (no stated span)"), said
        plain = {c.item: c for c in daily_checks(db, 6.0, NOW, NOW)}
        assert plain["Paper fills in the last day"].detail == "3 fill(s)"
        assert plain["Agents' inputs"].detail == "none declared"
    finally:
        db.dispose()
