"""Every halt, pause and refusal says why, from one source: the API's account and portfolio, the
panel's "Why" (accounts table and account page) and the risk engine's refusal all carry the same
sentence — the breaker, the measured value, the threshold and whether it resumes by itself (and
when) or needs the operator — with the figures also as fields."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal

from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

ADMIN = "/api/v1/admin"
DAY_MS = 86_400_000


def trip(api: LiveApi, account_id: str, drop: Decimal, below: str = "day") -> None:
    """Show the account's real breakers an equity ``drop`` below where its day began (or its
    ``peak``), through the engine's own path: trips applied, events published, entries stood
    down."""

    async def run() -> None:
        async with api.ctx.lock:
            engine = api.engine
            acct = engine.accounts[account_id]
            now = engine.clock.now_ms()
            bs = acct.breakers
            equity = (bs.peak_equity if below == "peak" else bs.day_start_equity) * (1 - drop)
            trips = engine.breakers[account_id].on_equity(acct.breakers, equity, now)
            assert trips, "the breaker did not trip"
            await engine.apply_trips(acct, trips, now)

    api.call(run())


def _account(api: LiveApi, account_id: str) -> dict[str, object]:
    accounts = api.get(f"{ADMIN}/accounts").json()["accounts"]
    return next(a for a in accounts if a["account_id"] == account_id)


def _next_utc_day(ms: int) -> int:
    return (ms // DAY_MS + 1) * DAY_MS


def test_a_halt_says_which_breaker_what_it_measured_and_who_lifts_it(live: LiveApi) -> None:
    # bob (moderate: drawdown limit 10 %) falls 15 %: the drawdown breaker, the operator's.
    trip(live, "bob", Decimal("0.15"), below="peak")
    # alice (aggressive: daily loss 6 %, drawdown 20 %) falls 7 %: back by itself tomorrow.
    trip(live, "alice", Decimal("0.07"))
    now = live.call(lambda: live.engine.clock.now_ms())

    bob = _account(live, "bob")
    assert bob["status"] == "halted"
    why = str(bob["why"])
    assert "max drawdown" in why.lower()
    assert "15 %" in why and "limit 10 %" in why
    assert "needs the operator" in why
    (held,) = bob["restrictions"]  # type: ignore[misc]
    assert held["cause"] == "max_drawdown" and held["effect"] == "halted"
    assert Decimal(held["value"]) == Decimal("0.15")
    assert Decimal(held["threshold"]) == Decimal("0.1")
    assert held["needs_operator"] is True and held["resumes_at"] is None
    assert held["text"] == why

    alice = _account(live, "alice")
    why = str(alice["why"])
    tomorrow = _next_utc_day(now)
    when = f"{datetime.fromtimestamp(tomorrow / 1000, tz=UTC):%Y-%m-%d %H:%M} UTC"
    assert "daily loss" in why.lower() and "limit 6 %" in why
    assert f"resumes by itself at {when}" in why
    (held,) = alice["restrictions"]  # type: ignore[misc]
    assert held["cause"] == "daily_loss" and held["needs_operator"] is False
    assert held["resumes_at"] == tomorrow

    # The investor's own view says the same, with their token.
    mine = live.get("/api/v1/accounts/alice/portfolio", who="alice").json()
    assert mine["why"] == alice["why"] and mine["restrictions"] == alice["restrictions"]

    # carol was not tripped: no breaker of alice's or bob's holds her. Her own trading may have
    # put her in a losing-streak cooldown, which then is her whole why.
    carol = _account(live, "carol")
    causes = [r["cause"] for r in carol["restrictions"]]  # type: ignore[attr-defined]
    assert set(causes) <= {"cooldown"}, causes
    assert carol["why"] == " ".join(r["text"] for r in carol["restrictions"])  # type: ignore[attr-defined]


def test_the_panel_shows_the_same_why_in_the_table_and_on_the_account(live: LiveApi) -> None:
    trip(live, "bob", Decimal("0.15"), below="peak")
    client = sign_in(live)
    table = client.get("/panel/accounts").text
    row = re.search(r'<tr data-account="bob">(.*?)</tr>', table, re.S)
    assert row is not None
    cell = re.search(r'data-figure="why">(.*?)</td>', row.group(1), re.S)
    assert cell is not None, "the accounts table has no Why column"
    shown_in_table = html.unescape(cell.group(1)).strip()
    page = client.get("/panel/accounts/bob").text
    dd = re.search(r'<dt>Why</dt><dd data-figure="[a-z-]+">(.*?)</dd>', page, re.S)
    assert dd is not None
    shown_on_page = html.unescape(dd.group(1)).strip()
    for shown in (shown_in_table, shown_on_page):
        assert "max drawdown" in shown.lower() and "limit 10 %" in shown, shown
    assert shown_in_table == shown_on_page == _account(live, "bob")["why"]


def test_a_pause_and_the_kill_switch_say_who_and_why(live: LiveApi) -> None:
    r = live.post(f"{ADMIN}/accounts/carol/pause", {"reason": "checking the exchange key"})
    assert r.status_code == 200, r.text
    carol = _account(live, "carol")
    # Beside a losing-streak cooldown her own trading may have put her in.
    (held,) = [r for r in carol["restrictions"] if r["cause"] != "cooldown"]  # type: ignore[attr-defined]
    assert held["cause"] == "paused" and held["by"] == "api:ops"
    assert held["needs_operator"] is True
    assert "checking the exchange key" in str(carol["why"])
    assert r.json()["account"]["why"] == carol["why"]

    assert live.post(f"{ADMIN}/kill-switch", {"reason": "exchange outage"}).status_code == 200
    bob = _account(live, "bob")
    (held,) = bob["restrictions"]  # type: ignore[misc]
    assert held["cause"] == "kill_switch" and held["needs_operator"] is True
    assert "exchange outage" in str(bob["why"]) and "api:ops" in str(bob["why"])


def test_a_refusal_quotes_the_reason(live: LiveApi) -> None:
    trip(live, "bob", Decimal("0.15"), below="peak")
    why = str(_account(live, "bob")["why"])

    async def propose() -> None:
        async with live.ctx.lock:
            engine = live.engine
            price = engine.marks["BTC/USDT"]
            intent = Intent(
                account_id="bob",
                symbol="BTC/USDT",
                side=Side.BUY,
                action=IntentAction.OPEN,
                entry_price=price,
                stop_loss=price * Decimal("0.98"),
                take_profit=price * Decimal("1.04"),
                agent="test",
            )
            assert not await engine.handle_intent(engine.accounts["bob"], intent)

    live.call(propose())
    refused = live.get("/api/v1/accounts/bob/rejections").json()["rejections"]
    assert refused[0]["code"] == "account_halted"
    assert why in refused[0]["message"]
