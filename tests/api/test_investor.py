"""The investor endpoints return the account's own figures, as the engine and the store hold
them, with money as exact decimal strings; bad parameters are a 422 in words."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from rampart.domain.orders import OrderRole
from rampart.operator.views import DAY_MS, InvestorViews
from rampart.risk.codes import RejectCode
from rampart.store import queries
from tests.api.conftest import LiveApi

BASE = "/api/v1/accounts"


def _dec(text: str) -> Decimal:
    assert isinstance(text, str) and "E" not in text.upper(), text
    return Decimal(text)


def test_portfolio_is_the_engines_live_book(shared: LiveApi) -> None:
    r = shared.get(f"{BASE}/bob/portfolio", who="bob")
    assert r.status_code == 200
    body = r.json()
    acct = shared.engine.accounts["bob"]
    marks = shared.engine.marks
    assert body["account_id"] == "bob"
    assert body["quote"] == "USDT"
    assert _dec(body["capital"]) == Decimal(10000)
    assert _dec(body["equity"]) == acct.ledger.equity(marks)
    assert _dec(body["cash"]) == acct.ledger.cash
    assert _dec(body["equity"]) == _dec(body["cash"]) + _dec(body["positions_value"])
    assert _dec(body["realized_pnl"]) == acct.ledger.realized_pnl
    unrealized = sum(p.unrealized(marks[s]) for s, p in acct.ledger.positions.items())
    assert _dec(body["unrealized_pnl"]) == unrealized
    assert body["open_positions"] == len(acct.ledger.positions) == 1
    assert body["working_orders"] == 2
    assert body["state"] == "active" and body["paused"] is False
    assert body["kill_switch"] is False
    assert body["as_of"] == shared.clock.now_ms()


def test_pnl_today_counts_from_the_equity_when_the_day_began(live: LiveApi) -> None:
    start_day = live.clock.now_ms() // DAY_MS
    while live.clock.now_ms() // DAY_MS == start_day:
        live.trade(240)
    body = live.get(f"{BASE}/alice/portfolio", who="alice").json()
    day = live.clock.now_ms() // DAY_MS * DAY_MS
    curve = queries.equity_history(live.session.db, "alice")
    opening = [p.equity for p in curve if p.ts <= day][-1]
    assert _dec(body["pnl_today"]) == _dec(body["equity"]) - opening
    assert _dec(body["pnl_today"]) != _dec(body["equity"]) - Decimal(10000)
    # After a restart the views learn the day's opening from the store instead of the bus.
    fresh = live.call(lambda: InvestorViews(live.session))
    again = live.call(fresh.portfolio("alice"))
    assert again.pnl_today == _dec(body["pnl_today"])


def test_positions_carry_their_stop_loss_and_take_profit(shared: LiveApi) -> None:
    body = shared.get(f"{BASE}/bob/positions", who="bob").json()
    pos = shared.engine.accounts["bob"].ledger.positions["ETH/USDT"]
    mark = shared.engine.marks["ETH/USDT"]
    assert body["account_id"] == "bob"
    [shown] = body["positions"]
    assert shown["symbol"] == "ETH/USDT"
    assert _dec(shown["qty"]) == pos.qty
    assert _dec(shown["avg_price"]) == pos.avg_price
    assert _dec(shown["stop_loss"]) == pos.stop_loss < pos.avg_price
    assert _dec(shown["take_profit"]) == pos.take_profit > pos.avg_price
    assert _dec(shown["mark"]) == mark
    assert _dec(shown["market_value"]) == pos.qty * mark
    assert _dec(shown["unrealized_pnl"]) == pos.unrealized(mark)
    # Its stop rests on the exchange: said in words, with the resting stop's own price.
    assert (shown["protection"], shown["protection_text"]) == (
        "exchange",
        "protected by the exchange",
    )
    assert _dec(shown["resting_stop"]) == pos.stop_loss and shown["unprotected_since"] is None
    assert shared.get(f"{BASE}/alice/positions", who="alice").json()["positions"] == []


def test_a_position_whose_stop_rests_nowhere_is_shown_unprotected(
    make_live: Callable[..., LiveApi],
) -> None:
    live = make_live()
    acct = live.engine.accounts["bob"]

    def lose_the_stop() -> None:
        # Reconciliation holds protection back, and the exchange dropped the stop.
        live.engine.executor.hold_protection.add("bob")
        for o in acct.working("ETH/USDT", (OrderRole.STOP_LOSS,)):
            del acct.orders[o.client_id]

    live.call(lose_the_stop)
    [shown] = live.get(f"{BASE}/bob/positions", who="bob").json()["positions"]
    assert shown["protection"] == "unprotected" and shown["resting_stop"] is None
    assert shown["protection_text"].startswith("UNPROTECTED (since ")
    assert shown["unprotected_since"] == live.engine.clock.now_ms()


def test_orders_newest_first_and_the_working_ones_alone(shared: LiveApi) -> None:
    working = shared.get(f"{BASE}/bob/orders", who="bob", params={"open_only": True}).json()
    roles = sorted(o["role"] for o in working["orders"])
    assert roles == ["stop_loss", "take_profit"]
    assert {o["status"] for o in working["orders"]} == {"submitted"}
    stop = next(o for o in working["orders"] if o["role"] == "stop_loss")
    assert (
        _dec(stop["stop_price"])
        == shared.engine.accounts["bob"].ledger.positions["ETH/USDT"].stop_loss
    )

    every = shared.get(f"{BASE}/alice/orders", who="alice", params={"limit": 7}).json()["orders"]
    assert len(every) == 7
    stamps = [(o["updated_at"], o["client_id"]) for o in every]
    assert stamps == sorted(stamps, reverse=True)
    stored = queries.recent_orders(shared.session.db, "alice", 7)
    assert [o["client_id"] for o in every] == [o.client_id for o in stored]
    assert {"entry", "exit", "stop_loss", "take_profit"} >= {o["role"] for o in every}


def test_trades_newest_first_with_since(shared: LiveApi) -> None:
    body = shared.get(f"{BASE}/alice/trades", who="alice").json()
    stored = queries.trades(shared.session.db, "alice")
    assert len(body["trades"]) == len(stored) == 11  # the synthetic feed's trades for alice
    first = body["trades"][0]
    assert first["closed_at"] == stored[0].closed_at
    assert _dec(first["pnl"]) == stored[0].pnl
    assert _dec(first["stop_loss"]) == stored[0].stop_loss
    assert first["exit_reason"]
    closed = [t["closed_at"] for t in body["trades"]]
    assert closed == sorted(closed, reverse=True)
    since = closed[4]
    later = shared.get(f"{BASE}/alice/trades", who="alice", params={"since": since}).json()
    assert [t["closed_at"] for t in later["trades"]] == [c for c in closed if c >= since]
    two = shared.get(f"{BASE}/alice/trades", who="alice", params={"limit": 2}).json()
    assert len(two["trades"]) == 2


def test_equity_is_oldest_first_and_ends_with_the_live_equity(shared: LiveApi) -> None:
    points = shared.get(f"{BASE}/carol/equity", who="carol").json()["points"]
    stamps = [p["ts"] for p in points]
    assert stamps == sorted(stamps) and len(points) >= 3
    assert points[-1]["ts"] == shared.clock.now_ms()
    assert _dec(points[-1]["equity"]) == shared.engine.equity("carol")
    last2 = shared.get(f"{BASE}/carol/equity", who="carol", params={"limit": 2}).json()
    assert last2["points"] == points[-2:]


def test_rejections_say_why_in_words(shared: LiveApi) -> None:
    body = shared.get(f"{BASE}/alice/rejections", who="alice").json()
    rejections = body["rejections"]
    live = shared.engine.accounts["alice"].rejections
    assert len(rejections) == len(live) > 0
    codes = {c.value for c in RejectCode}
    for item in rejections:
        assert item["code"] in codes
        assert item["message"].endswith(".") and len(item["message"]) > 20
    stamps = [r["ts"] for r in rejections]
    assert stamps == sorted(stamps, reverse=True)


def test_rejections_not_yet_saved_are_shown_from_the_engine(live: LiveApi) -> None:
    before = len(live.get(f"{BASE}/alice/rejections", who="alice").json()["rejections"])
    live.post("/api/v1/admin/accounts/alice/pause", {"reason": "checking rejections"})
    # Agents keep proposing; the paused account refuses them; nothing is flushed yet.
    live.trade(600, checkpoint=False)
    after = live.get(f"{BASE}/alice/rejections", who="alice").json()["rejections"]
    assert len(after) > before
    assert after[0]["code"] == "account_paused"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"limit": 0}, "Query parameter 'limit': Input should be greater than or equal to 1."),
        ({"limit": 1001}, "Query parameter 'limit': Input should be less than or equal to 1000."),
        (
            {"limit": "ten"},
            "Query parameter 'limit': Input should be a valid integer, "
            "unable to parse string as an integer.",
        ),
        ({"since": -5}, "Query parameter 'since': Input should be greater than or equal to 0."),
    ],
)
def test_bad_parameters_are_422_in_words(shared: LiveApi, query: dict, says: str) -> None:
    r = shared.get(f"{BASE}/alice/trades", who="alice", params=query)
    assert r.status_code == 422
    assert r.json() == {"error": says}


def test_open_only_must_be_a_boolean(shared: LiveApi) -> None:
    r = shared.get(f"{BASE}/alice/orders", who="alice", params={"open_only": "maybe"})
    assert r.status_code == 422
    assert r.json()["error"].startswith("Query parameter 'open_only':")
