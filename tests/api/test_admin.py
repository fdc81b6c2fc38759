"""The operator's endpoints over a real server: each command's effect on the running engine,
what it answers, and the sentence it refuses bad input with (changing nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from rampart.clock import SimClock
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.observability import incidents
from rampart.operator.control import restore_operator_accounts
from rampart.trading.account import Bracket
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession
from tests.api.conftest import SYMBOLS, LiveApi

ADMIN = "/api/v1/admin"


def _working_entries(api: LiveApi) -> int:
    return sum(a.working_entries() for a in api.engine.accounts.values())


def _rest_an_entry(api: LiveApi, account_id: str) -> None:
    """Leave a limit buy far below the market working (paper market entries fill at once)."""

    async def rest() -> None:
        async with api.ctx.lock:
            acct = api.engine.accounts[account_id]
            venue = api.engine.venue
            price = venue.instrument("BTC/USDT").round_price(api.engine.marks["BTC/USDT"] / 2)
            order = Order(
                client_id=acct.next_client_id(OrderRole.ENTRY),
                account_id=account_id,
                symbol="BTC/USDT",
                side=Side.BUY,
                type=OrderType.LIMIT,
                qty=Decimal("0.001"),
                role=OrderRole.ENTRY,
                price=price,
                strategy="test",
            )
            acct.brackets[order.client_id] = Bracket(price * Decimal("0.9"), price * 2)
            await api.engine.executor.submit(acct, order)
            await api.engine.executor.drain()

    api.call(rest())


# -- kill switch ------------------------------------------------------------------------------


def test_kill_switch_stops_entries_cancels_them_and_flattens(live: LiveApi) -> None:
    _rest_an_entry(live, "alice")
    _rest_an_entry(live, "carol")
    entries = live.call(lambda: _working_entries(live))
    assert entries == 2
    positions = live.call(
        lambda: sum(len(a.ledger.positions) for a in live.engine.accounts.values())
    )
    assert positions > 0
    r = live.post(f"{ADMIN}/kill-switch", {"reason": "exchange outage", "flatten": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["engaged"] is True and body["changed"] is True
    assert body["entries_canceled"] == entries
    assert body["positions_flattened"] == positions
    assert body["accounts"] == 3 and body["actor"] == "api:ops"
    assert "2 working entry orders canceled" in body["message"]
    assert live.engine.controls.global_kill is True
    assert live.call(lambda: _working_entries(live)) == 0

    seq_before = live.seqs()
    live.trade(400)
    for acct in live.engine.accounts.values():
        assert not acct.ledger.positions, "flatten closes every position"
    assert live.entries_after(seq_before) == [], "no entry after the kill switch"
    codes = {
        r["code"]
        for a in ("alice", "bob", "carol")
        for r in live.get(f"/api/v1/accounts/{a}/rejections").json()["rejections"]
    }
    assert "kill_switch" in codes
    portfolio = live.get("/api/v1/accounts/alice/portfolio", who="alice").json()
    assert portfolio["kill_switch"] is True


def test_kill_switch_twice_then_release_then_release_again(live: LiveApi) -> None:
    assert live.post(f"{ADMIN}/kill-switch", {"reason": "drill"}).json()["changed"] is True
    again = live.post(f"{ADMIN}/kill-switch", {"reason": "drill"}).json()
    assert again["changed"] is False and again["engaged"] is True
    r = live.post(f"{ADMIN}/kill-switch/release", {"reason": "drill over"})
    assert r.status_code == 200
    assert r.json()["engaged"] is False
    assert live.engine.controls.global_kill is False
    state = live.get(f"{ADMIN}/accounts").json()["kill_switch"]
    assert state == {"engaged": False, "reason": ""}
    r = live.post(f"{ADMIN}/kill-switch/release", {"reason": "again"})
    assert r.status_code == 409
    assert r.json() == {"error": "The kill switch is not engaged; there is nothing to release."}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"reason": "   "}, "Field 'reason': String should have at least 1 character."),
        ({}, "Field 'reason' is required."),
        ({"reason": "x", "flaten": True}, "Field 'flaten' is not a known field."),
        ({"reason": "x", "flatten": "perhaps"}, "Field 'flatten': Input should be a valid boolean"),
        (None, "The request needs a JSON body."),
        ({"reason": "x" * 501}, "Field 'reason': String should have at most 500 characters."),
    ],
)
def test_kill_switch_refuses_bad_input_and_changes_nothing(
    shared: LiveApi, body: object, says: str
) -> None:
    r = shared.post(f"{ADMIN}/kill-switch", body)
    assert r.status_code == 422
    assert r.json()["error"].startswith(says)
    assert shared.engine.controls.global_kill is False


def test_a_body_that_is_not_json_is_422(shared: LiveApi) -> None:
    r = shared.client.post(
        f"{ADMIN}/kill-switch",
        content=b"{reason: oops",
        headers={**shared.headers("admin"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json() == {"error": "The request body is not valid JSON."}


# -- pause and resume -------------------------------------------------------------------------


def test_pause_with_flatten_then_resume(live: LiveApi) -> None:
    assert live.engine.accounts["bob"].ledger.positions
    r = live.post(f"{ADMIN}/accounts/bob/pause", {"reason": "investor asked", "flatten": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["account"]["status"] == "paused"
    assert body["account"]["pause_reason"] == "investor asked"
    assert body["positions_flattened"] == 1
    live.trade(2)
    assert not live.engine.accounts["bob"].ledger.positions
    assert live.get("/api/v1/accounts/bob/portfolio", who="bob").json()["paused"] is True
    # Others trade on.
    assert live.engine.accounts["alice"].paused is False

    r = live.post(f"{ADMIN}/accounts/bob/resume", {"reason": "all clear"})
    assert r.status_code == 200
    assert r.json()["account"]["status"] == "active"
    assert live.engine.accounts["bob"].paused is False
    r = live.post(f"{ADMIN}/accounts/bob/resume", {"reason": "again"})
    assert r.status_code == 409
    assert r.json() == {"error": "Account bob is not paused; there is nothing to resume."}


def test_pause_or_resume_an_unknown_account_is_404(shared: LiveApi) -> None:
    for action in ("pause", "resume"):
        r = shared.post(f"{ADMIN}/accounts/zed/{action}", {"reason": "x"})
        assert r.status_code == 404
        assert r.json() == {"error": "There is no account called 'zed'."}


def test_accounts_lists_every_running_account(shared: LiveApi) -> None:
    body = shared.get(f"{ADMIN}/accounts").json()
    assert [a["account_id"] for a in body["accounts"]] == ["alice", "bob", "carol"]
    bob = body["accounts"][1]
    assert bob["agent"] == "mean_reversion" and bob["symbols"] == SYMBOLS
    assert bob["open_positions"] == 1 and bob["status"] == "active"
    assert body["kill_switch"]["engaged"] is False


# -- engines ----------------------------------------------------------------------------------


def test_start_an_engine_trades_on_the_running_engine_then_stop_it(live: LiveApi) -> None:
    r = live.post(
        f"{ADMIN}/engines/start",
        {"symbol": "eth/usdt", "mode": "paper", "capital": "2500", "agent": "mean_reversion"},
    )
    assert r.status_code == 201, r.text
    account = r.json()["account"]
    new_id = account["account_id"]
    assert new_id == "engine-ethusdt-1"
    assert account["owner"] == "operator" and account["symbols"] == ["ETH/USDT"]
    assert account["capital"] == "2500" and account["status"] == "active"
    assert new_id in live.engine.accounts
    live.trade(1500)
    acct = live.engine.accounts[new_id]
    assert acct.ledger.trades_closed > 0, "the new engine trades"
    portfolio = live.get(f"/api/v1/accounts/{new_id}/portfolio").json()
    assert portfolio["capital"] == "2500"

    second = live.post(
        f"{ADMIN}/engines/start", {"symbol": "ETH/USDT", "mode": "paper", "capital": 100}
    )
    assert second.json()["account"]["account_id"] == "engine-ethusdt-2"

    r = live.post(f"{ADMIN}/engines/{new_id}/stop", {"reason": "done testing"})
    assert r.status_code == 200, r.text
    stopped = r.json()
    assert stopped["account"]["status"] == "stopped"
    assert stopped["account"]["pause_reason"] == "engine stopped: done testing"
    live.trade(2)
    assert not live.engine.accounts[new_id].ledger.positions
    r = live.post(f"{ADMIN}/engines/{new_id}/stop")
    assert r.status_code == 409
    assert r.json() == {"error": f"Engine {new_id} is already stopped."}
    assert live.post(f"{ADMIN}/engines/zed/stop").status_code == 404


def test_an_engine_started_by_the_operator_survives_a_restart(live: LiveApi) -> None:
    r = live.post(f"{ADMIN}/engines/start", {"symbol": "BTC/USDT", "mode": "paper", "capital": 900})
    new_id = r.json()["account"]["account_id"]
    live.trade(50)
    equity = live.engine.equity(new_id)

    async def reopen() -> TradingSession:
        session = TradingSession(
            live.settings,
            SimClock(0),
            instruments_for(SYMBOLS),
            db_url=live.settings.store.url,
            checkpoint_name="run",
            accounts=list(live.settings.accounts),
            checkpoint_every=10**6,
        )
        await session.open()
        assert await restore_operator_accounts(session) == [new_id]
        session.finish_resume()
        return session

    again = asyncio.run(reopen())
    try:
        assert again.engine.accounts[new_id].spec.capital == 900
        assert again.engine.equity(new_id) == equity
    finally:
        again.db.dispose()


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (
            {"symbol": "BTC/USDT", "mode": "live", "capital": "1000"},
            400,
            "This service runs in paper mode; it cannot start a live engine.",
        ),
        (
            {"symbol": "DOGE/USDT", "mode": "paper", "capital": "1000"},
            400,
            "The feed does not carry 'DOGE/USDT'; it carries BTC/USDT, ETH/USDT.",
        ),
        (
            {"symbol": "BTC/USDT", "mode": "paper", "capital": "5"},
            400,
            "Capital of 5 is too small to trade; use at least 10.",
        ),
        (
            {"symbol": "BTC/USDT", "mode": "paper", "capital": "0"},
            422,
            "Field 'capital': Input should be greater than 0.",
        ),
        (
            {"symbol": "BTC/USDT", "mode": "paper", "capital": "1e13"},
            422,
            "Field 'capital': Input should be less than or equal to 1000000000000.",
        ),
        (
            {"symbol": "BTC/USDT", "mode": "paper", "capital": "lots"},
            422,
            "Field 'capital': Input should be a valid decimal.",
        ),
        (
            {"symbol": "BTC/USDT", "mode": "paper", "capital": "100", "agent": "oracle"},
            400,
            "Unknown agent 'oracle': choose one of trend, mean_reversion, breakout, or name "
            "your own as path/to/file.py:ClassName or package.module:ClassName.",
        ),
        (
            {"symbol": "BTC/USDT", "mode": "paper", "capital": "100", "profile": "yolo"},
            400,
            "Unknown risk profile 'yolo'",
        ),
        ({"mode": "paper", "capital": "100"}, 422, "Field 'symbol' is required."),
        (
            {"symbol": "BTC/USDT", "mode": "demo", "capital": "100"},
            422,
            "Field 'mode': Input should be 'paper', 'testnet' or 'live'.",
        ),
    ],
)
def test_start_engine_refuses_in_a_sentence(
    shared: LiveApi, body: dict, status: int, says: str
) -> None:
    before = set(shared.engine.accounts)
    r = shared.post(f"{ADMIN}/engines/start", body)
    assert r.status_code == status, r.text
    assert r.json()["error"].startswith(says)
    assert set(shared.engine.accounts) == before


# -- incidents, alert rules, config -----------------------------------------------------------


def _open(api: LiveApi, rule: str, severity: str) -> int:
    record = incidents.open_incident(
        api.session.db,
        key=rule,
        rule=rule,
        severity=severity,
        summary=f"{rule} fired",
        value=1.0,
        threshold=0.5,
        labels={"component": "engine"},
        now_ms=api.ops.now_ms(),
    )
    return record.id


def test_incidents_list_filter_and_acknowledge(live: LiveApi) -> None:
    first = _open(live, "DatabaseDown", "P0")
    second = _open(live, "WorkerDown", "P1")
    listed = live.get(f"{ADMIN}/incidents").json()["incidents"]
    assert [i["id"] for i in listed] == [second, first]
    assert listed[0]["labels"] == {"component": "engine"} and listed[0]["status"] == "open"

    r = live.post(f"{ADMIN}/incidents/{first}/ack")
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "api:ops"
    assert live.post(f"{ADMIN}/incidents/{first}/ack").json()["status"] == "acknowledged"
    only_open = live.get(f"{ADMIN}/incidents", params={"status": "open"}).json()["incidents"]
    assert [i["id"] for i in only_open] == [second]
    active = live.get(f"{ADMIN}/incidents", params={"status": "active"}).json()["incidents"]
    assert len(active) == 2

    incidents.resolve(live.session.db, second, live.ops.now_ms(), "cleared")
    r = live.post(f"{ADMIN}/incidents/{second}/ack")
    assert r.status_code == 409
    assert r.json() == {"error": f"Incident {second} is already resolved."}
    r = live.post(f"{ADMIN}/incidents/999/ack")
    assert r.status_code == 404
    assert r.json() == {"error": "There is no incident 999."}


def test_incident_parameters_are_checked(shared: LiveApi) -> None:
    r = shared.get(f"{ADMIN}/incidents", params={"status": "bogus"})
    assert r.status_code == 422
    assert r.json()["error"].startswith("Query parameter 'status': Input should be 'open'")
    assert shared.post(f"{ADMIN}/incidents/abc/ack").status_code == 422
    assert shared.post(f"{ADMIN}/incidents/0/ack").status_code == 422


def test_alert_rules_without_an_alert_engine(shared: LiveApi) -> None:
    assert shared.get(f"{ADMIN}/alerts/rules").json() == {"enabled": False, "rules": []}


def test_alert_rules_are_the_alert_engines(make_live: Callable[..., LiveApi]) -> None:
    api = make_live(warm=0, with_alerts=True)
    body = api.get(f"{ADMIN}/alerts/rules").json()
    assert body["enabled"] is True
    rules = {r["name"]: r for r in body["rules"]}
    for name in ("DatabaseDown", "OrdersFailing", "AllWorkersDown", "MassBreakerTrips"):
        assert rules[name]["severity"] == "P0"
    for name in ("WorkerDown", "ExecutionErrorRate", "FeedDisconnected", "KillSwitchEngaged"):
        assert rules[name]["severity"] == "P1"
    assert rules["InvestorProblem"]["severity"] == "P2"
    assert [r["name"] for r in body["rules"]] == [r.name for r in api.ctx.alerts.rules]


def test_config_is_the_effective_settings_with_secrets_masked(
    make_live: Callable[..., LiveApi],
) -> None:
    api = make_live(warm=0, telegram_token="123456:very-secret-bot-token")
    r = api.get(f"{ADMIN}/config")
    assert r.status_code == 200
    settings = r.json()["settings"]
    assert settings["telegram_token"] == "********"
    assert settings["master_key"] is None
    assert settings["mode"] == "paper"
    assert [a["id"] for a in settings["accounts"]] == ["alice", "bob", "carol"]
    assert "very-secret" not in r.text
