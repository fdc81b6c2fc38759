"""docs/operations/rollback.md as a drill: every step, in the page's order, against a real
service (the API tests' TradingSession served by uvicorn) and the real ``rampart`` commands.

The release is promoted as docs/operations/staging.md says (kill switch engaged, stopped,
pre-upgrade backup, new release started, kill switch released); the new release then changes
the books and opens an incident, and the drill rolls back. The "previous release" here is the
same code (no schema changed between the two), so step 5 installs nothing.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.observability import incidents
from rampart.store import models as m
from tests.api.conftest import LiveApi

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "operations" / "rollback.md"
KILL, RELEASE = "/api/v1/admin/kill-switch", "/api/v1/admin/kill-switch/release"
BACKUP = re.compile(r"Backup (rampart-\S+\.rbk) written")
STEPS = [
    "Stop new entries: engage the kill switch",
    "Tell investors: give the incident an ETA",
    "Stop the new release",
    "Keep the failed release's database for the postmortem",
    "Install the previous release, without starting it",
    "Restore the pre-upgrade backup with it",
    "Start the previous release",
    "Check it before trading",
    "Release the kill switch",
    "Write the postmortem",
]


def _counts(db: sa.Engine) -> dict[str, int]:
    with db.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in (m.orders, m.fills, m.trades, m.incidents, m.account_events)
        }


class Drill:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.folder = tmp_path / "svc"
        self.folder.mkdir()
        self.url = f"sqlite:///{self.folder / 'rampart.db'}"
        self.env = {
            "RAMPART_STORE__URL": self.url,
            "RAMPART_BACKUP__DIR": str(tmp_path / "backups"),
            "RAMPART_BACKUP__KEY": secrets.token_hex(32),
            "COLUMNS": "200",
        }
        self.runner = CliRunner()
        self.api: LiveApi | None = None

    def rampart(self, *args: str, **env: str) -> str:
        done = self.runner.invoke(app, list(args), env={**self.env, **env})
        assert done.exit_code == 0, done.output
        return done.output

    def start(self, warm: int = 0) -> LiveApi:
        self.api = LiveApi(self.folder).start(warm=warm)
        return self.api

    def stop(self) -> None:
        assert self.api is not None
        self.api.stop()
        self.api = None

    def post(self, path: str, reason: str) -> Any:
        assert self.api is not None
        got = self.api.post(path, {"reason": reason})
        assert got.status_code == 200, got.text
        return got.json()

    def backup(self) -> str:
        found = BACKUP.search(self.rampart("backup", "create"))
        assert found is not None
        return found.group(1)


def test_the_rollback_page_lists_the_drilled_steps() -> None:
    headings = re.findall(r"^## Step (\d+) — (.+)$", DOC.read_text(), re.M)
    assert [int(n) for n, _ in headings] == list(range(1, len(STEPS) + 1))
    assert [title for _, title in headings] == STEPS


def test_rollback_drill(tmp_path: Path) -> None:
    d = Drill(tmp_path)
    try:
        # The previous release trades; the upgrade is promoted as staging.md says.
        old = d.start(warm=300)
        d.post(KILL, "upgrade to the new release")
        d.stop()  # the checkpoint holds the engaged kill switch
        pre_upgrade = d.backup()
        before = _counts(sa.create_engine(d.url))
        new = d.start()
        assert new.engine.controls.global_kill  # resumed with no new entries
        d.post(RELEASE, "new release checked")
        # The new release goes wrong: it trades on (from the candle after the checkpoint's), an
        # operator pauses an account, an alert opens.
        last = max(new.engine.data_ts.values())
        new.candles = itertools.dropwhile(lambda c: c.ts <= last, new.candles)
        new.trade(200)
        new.post("/api/v1/admin/accounts/bob/pause", {"reason": "odd fills after upgrade"})
        incident = incidents.open_incident(
            new.session.db, key="OrdersFailing", rule="OrdersFailing", severity="P0",
            summary="Rampart cannot place orders", value=0.0, threshold=0.0, labels={},
            now_ms=new.clock.now_ms(),
        )  # fmt: skip
        after = _counts(new.session.db)
        assert after != before

        steps: list[Callable[[], None]] = []

        def step_1() -> None:
            assert d.post(KILL, "rollback: orders failing")["engaged"] is True

        def step_2() -> None:
            said = d.rampart("incidents", "eta", str(incident.id), "+1h", "--by", "drill")
            assert "expected fixed" in said
            assert new.client.get("/status.json").json()["incidents"][0]["eta_at"] is not None

        def step_3() -> None:
            d.stop()

        failed: list[str] = []

        def step_4() -> None:
            failed.append(d.backup())

        def step_5() -> None:
            pass  # the same code plays the previous release (see the module's docstring)

        def step_6() -> None:
            said = d.rampart("backup", "restore", pre_upgrade, "--to", d.url, "--force")
            assert "row counts match the manifest" in said

        restarted: list[LiveApi] = []

        def step_7() -> None:
            restarted.append(d.start())

        def step_8() -> None:
            api = restarted[0]
            assert api.client.get("/health/ready").status_code == 200
            assert "intact" in d.rampart("audit", "verify")
            status = api.client.get("/status.json").json()
            assert (status["trading"], status["incidents"]) == ("paused", [])
            assert api.engine.controls.global_kill
            assert not api.engine.accounts["bob"].paused  # the new release's pause is gone
            assert _counts(api.session.db) == before

        def step_9() -> None:
            assert d.post(RELEASE, "rolled back, checks passed")["engaged"] is False
            assert restarted[0].client.get("/status.json").json()["trading"] == "active"

        def step_10() -> None:
            scratch = f"sqlite:///{tmp_path / 'failed-release.db'}"
            d.rampart("backup", "restore", failed[0], "--to", scratch)
            out = tmp_path / "postmortem.md"
            d.rampart(
                "incidents", "postmortem", str(incident.id), "--out", str(out),
                RAMPART_STORE__URL=scratch,
            )  # fmt: skip
            text = out.read_text()
            assert "OrdersFailing (P0)" in text and "operator.pause" in text

        steps = [step_1, step_2, step_3, step_4, step_5, step_6, step_7, step_8, step_9, step_10]
        assert len(steps) == len(STEPS)
        for step in steps:
            step()
        del old
    finally:
        if d.api is not None:
            d.api.stop()
