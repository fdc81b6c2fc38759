"""``rampart ops kill-drill`` asks the running service for the drill through its API: the
drill is done and recorded, and a missing token, a wrong token, a service that is not there or
a kill switch engaged for real each get one sentence."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.store import ops_records

from .conftest import LiveApi

runner = CliRunner()
ADMIN = "/api/v1/admin"


def drill(live: LiveApi | None, token: str | None, url: str | None = None) -> tuple[int, str]:
    args = ["ops", "kill-drill", "--url", url or (live.server.url if live else "")]
    env = {"RAMPART_ADMIN_TOKEN": token} if token else {"RAMPART_ADMIN_TOKEN": ""}
    result = runner.invoke(app, args, env=env)
    return result.exit_code, " ".join(result.output.split())


def test_the_drill_runs_on_the_service_and_is_recorded(live: LiveApi) -> None:
    code, out = drill(live, live.tokens["admin"])
    assert code == 0, out
    assert "Kill-switch drill: engaged on 3 account(s)" in out and "released again" in out
    recorded = ops_records.last_event(live.session.db, ops_records.KILL_DRILL)
    assert recorded is not None and recorded.detail["released"] is True
    assert not live.engine.controls.global_kill, "the drill leaves the switch released"


def test_refusals_are_sentences_and_change_nothing(live: LiveApi) -> None:
    code, out = drill(live, None)
    assert code == 2 and "needs an admin token: set RAMPART_ADMIN_TOKEN" in out
    code, out = drill(live, live.tokens["alice"])  # a user token is not enough
    assert code == 2 and "refused the token" in out
    code, out = drill(live, "rp_not-a-token")
    assert code == 2 and "refused the token" in out

    live.post(f"{ADMIN}/kill-switch", {"reason": "exchange outage"})
    code, out = drill(live, live.tokens["admin"])
    assert code == 2 and "The drill was not run: The kill switch is engaged for real" in out
    assert live.engine.controls.global_kill, "a real kill switch stays engaged"
    assert ops_records.last_event(live.session.db, ops_records.KILL_DRILL) is None


def test_no_service_is_a_sentence() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out = drill(None, "rp_whatever", f"http://127.0.0.1:{port}")
    assert code == 2 and f"No Rampart service answers at http://127.0.0.1:{port}" in out
