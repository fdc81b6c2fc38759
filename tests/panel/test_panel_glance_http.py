"""The panel says one thing about an account: one status, not "State: active" beside
"Status: paused"; Resume on a halted account points to the Lift circuit breaker button instead
of "not paused; there is nothing to resume"; the Trades page lists every account's open trades
and realised profit by day, pair and agent, and the CSV export (panel and API) holds the very
trades the API returns."""

from __future__ import annotations

import csv
import html
import io
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from rampart.domain.money_format import pnl, price
from tests.api.conftest import LiveApi
from tests.api.test_halt_reasons import trip
from tests.panel.conftest import read_token
from tests.panel.panel_http import ADMIN, act, csrf_of, figures, sign_in, statuses

ACCOUNTS = ("alice", "bob", "carol")


def test_a_paused_account_shows_one_status(live: LiveApi) -> None:
    r = live.post(f"{ADMIN}/accounts/alice/pause", {"reason": "checking the exchange key"})
    assert r.status_code == 200, r.text
    client = sign_in(live)
    shown = figures(client.get("/panel/accounts/alice").text)
    assert shown["status"] == "paused"
    # The risk engine's own state ("active": no breaker) is not set beside it as a second truth.
    assert "state" not in shown, shown
    row = re.search(
        r'<tr data-account="alice">(.*?)</tr>', client.get("/panel/accounts").text, re.S
    )
    assert row is not None
    cells = figures(row.group(1))
    assert cells["status"] == "paused" and "state" not in cells, cells


def test_resume_on_a_halted_account_points_to_lifting_the_breaker(live: LiveApi) -> None:
    trip(live, "bob", Decimal("0.15"), below="peak")  # max drawdown: only an operator lifts it
    client = sign_in(live)
    page = client.get("/panel/accounts/bob").text
    assert ">Lift circuit breaker</button>" in page
    shown = figures(page)
    assert shown["status"] == "halted"

    confirm = client.get("/panel/act/account-resume", params={"target": "bob"}).text
    note = html.unescape(figures(confirm)["note"])
    assert "not paused" in note and "Lift circuit breaker" in note, note
    refused = client.post(
        "/panel/act/account-resume",
        data={"csrf": csrf_of(confirm), "target": "bob", "reason": "looked at it"},
    )
    assert refused.status_code == 409
    said = html.unescape(refused.text)
    assert "Lift circuit breaker" in said and "nothing to resume" not in said
    assert live.engine.accounts["bob"].state.value == "halted"  # nothing changed

    lifted = act(client, "account-lift", target="bob", reason="drawdown understood")
    assert lifted.status_code == 303, lifted.text
    assert live.engine.accounts["bob"].state.value == "active"
    back = client.get(lifted.headers["location"]).text
    assert any("bob" in s and "resumed" in s for s in statuses(back)), statuses(back)
    assert figures(back)["status"] == "active"


def _api_trades(api: LiveApi) -> dict[str, list[dict[str, str]]]:
    return {
        a: api.get(f"/api/v1/accounts/{a}/trades", params={"limit": 1000}).json()["trades"]
        for a in ACCOUNTS
    }


def test_the_trades_page_and_csv_are_the_apis_trades(shared: LiveApi) -> None:
    client = sign_in(shared)
    page = client.get("/panel/trades")
    assert page.status_code == 200
    text = page.text
    trades = _api_trades(shared)
    assert sum(map(len, trades.values())) > 0, "the warm-up closes trades"

    # Open trades: every account's positions, each with its levels as every front prints them.
    held = {a: shared.get(f"/api/v1/accounts/{a}/positions").json()["positions"] for a in ACCOUNTS}
    assert figures(text)["open-trades"] == str(sum(map(len, held.values())))
    for account, positions in held.items():
        for p in positions:
            row = re.search(rf'<tr data-open="{account} {p["symbol"]}">(.*?)</tr>', text, re.S)
            assert row is not None, (account, p["symbol"])
            tick = shared.engine.venue.instrument(p["symbol"]).tick_size
            cells = figures(row.group(1))
            assert cells["stop-loss"] == price(Decimal(p["stop_loss"]), "", tick)
            assert cells["take-profit"] == price(Decimal(p["take_profit"]), "", tick)

    # Profit by pair and by agent: the API's trades summed (after fees), per quote asset.
    agents = {
        a["account_id"]: a["agent"] for a in shared.get(f"{ADMIN}/accounts").json()["accounts"]
    }
    by_pair: dict[str, Decimal] = defaultdict(Decimal)
    by_agent: dict[str, Decimal] = defaultdict(Decimal)
    by_day: dict[str, Decimal] = defaultdict(Decimal)
    for account, rows in trades.items():
        for t in rows:
            by_pair[t["symbol"]] += Decimal(t["pnl"])
            by_agent[agents[account]] += Decimal(t["pnl"])
            day = f"{datetime.fromtimestamp(t['closed_at'] / 1000, tz=UTC):%Y-%m-%d}"
            by_day[day] += Decimal(t["pnl"])
    for by, want in (("pair", by_pair), ("agent", by_agent), ("day", by_day)):
        table = re.search(rf'<table data-profit-by="{by}"(.*?)</table>', text, re.S)
        assert table is not None, by
        for key, total in want.items():
            row = re.search(
                rf'<tr data-group="{re.escape(key)} USDT">(.*?)</tr>', table.group(1), re.S
            )
            assert row is not None, (by, key)
            assert html.unescape(figures(row.group(1))["pnl"]) == pnl(total, "USDT"), (by, key)

    # The CSV: the panel's download and the API's route hold the API's trades, exact.
    assert 'href="/panel/trades.csv"' in text
    for body in (
        client.get("/panel/trades.csv"),
        shared.get(f"{ADMIN}/trades.csv"),
        shared.get(f"{ADMIN}/trades.csv", who=read_token(shared)),  # a viewing token too
    ):
        assert body.status_code == 200, body.text
        assert body.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(body.text)))
        got = sorted((r["account_id"], r["trade_id"], r["pnl"], r["fees"], r["qty"]) for r in rows)
        want_rows = sorted(
            (a, t["trade_id"], t["pnl"], t["fees"], t["qty"])
            for a, ts in trades.items()
            for t in ts
        )
        assert got == want_rows


def test_an_investor_exports_only_their_own_trades(shared: LiveApi) -> None:
    own = shared.get("/api/v1/accounts/alice/trades.csv", who="alice")
    assert own.status_code == 200
    rows = list(csv.DictReader(io.StringIO(own.text)))
    api = shared.get("/api/v1/accounts/alice/trades", params={"limit": 1000}).json()["trades"]
    assert sorted(r["trade_id"] for r in rows) == sorted(t["trade_id"] for t in api)
    assert {r["account_id"] for r in rows} <= {"alice"}
    other = shared.get("/api/v1/accounts/bob/trades.csv", who="alice")
    assert other.status_code == 403 and "alice" in other.json()["error"]
    assert shared.get(f"{ADMIN}/trades.csv", who="alice").status_code == 403
    empty = shared.get(f"{ADMIN}/trades.csv", params={"since": 10, "until": 5})
    assert empty.status_code == 400 and "until must be after since" in empty.json()["error"]
    missing = shared.get(f"{ADMIN}/trades.csv", params={"account": "zed"})
    assert missing.status_code == 404 and "zed" in missing.json()["error"]
    # An investor's panel session reads no one else's trades either.
    client = sign_in(shared, "alice")
    assert client.get("/panel/trades").status_code == 403
    mine = list(csv.DictReader(io.StringIO(client.get("/panel/trades.csv").text)))
    assert {r["account_id"] for r in mine} <= {"alice"}
