"""Settings → the request budget: one per exchange and address in a process, paid by the
venue's clients and the feed alike, counted in the store when shared; its gauges."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.observability.metrics import Metrics
from rampart.store.request_budget import SqlLedger
from rampart.venues.budget_chunks import ChunkedLedger
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.request_budget import (
    Lane,
    MemoryLedger,
    RequestBudget,
    SharedLedger,
    Window,
)
from rampart.wiring.budget import request_budget
from rampart.wiring.venue_kinds import make_venue
from rampart.wiring.venues import make_ccxt_feed

ACCOUNT = {"id": "a1", "agent": "trend", "symbols": ["BTC/USDT"], "capital": "1000"}


def settings(url: str = "http://127.0.0.1:1", store: str = "sqlite:///x.db", **budget: object):
    return load_settings(
        venue={
            "kind": "ccxt",
            "api_url": url,
            "credentials": {"a1": {"api_key": "k" * 64, "secret": "s" * 64}},
            "budget": budget,
        },
        feed={"symbols": ["BTC/USDT"]},
        store={"url": store},
        accounts=[ACCOUNT],
    )


def test_the_venue_and_the_feed_pay_from_one_budget_per_address() -> None:
    s = settings("http://127.0.0.1:9", address="egress-a")
    venue = make_venue(s, {}, SimClock(0))
    assert isinstance(venue, CcxtVenue)
    feed = make_ccxt_feed(s, SimClock(0))
    budget = venue.caller.budget
    assert budget is not None and feed.caller.budget is budget
    assert (budget.exchange, budget.address) == ("binance", "egress-a")
    assert isinstance(budget.ledger, MemoryLedger)  # SQLite: counted in process
    other = request_budget(settings("http://127.0.0.1:9", address="egress-b"))
    assert other is not None and other is not budget
    assert request_budget(settings(enabled=False)) is None


def test_on_postgresql_workers_share_the_windows_in_the_store() -> None:
    s = settings("http://127.0.0.1:10", store="postgresql+psycopg://u@127.0.0.1:1/db")
    budget = request_budget(s)
    assert budget is not None and isinstance(budget.ledger, ChunkedLedger)
    assert isinstance(budget.ledger.shared, SharedLedger)
    assert isinstance(budget.ledger.shared.shared, SqlLedger)
    assert isinstance(
        request_budget(settings("http://127.0.0.1:10", shared="process")).ledger, MemoryLedger
    )  # type: ignore[union-attr]


def test_the_lanes_come_from_the_settings_and_may_not_pass_the_limit() -> None:
    s = settings("http://127.0.0.1:11", lanes={"market": 0.3, "protect": 0.2})
    budget = request_budget(s)
    assert budget is not None
    assert (budget.policy.market, budget.policy.protect, budget.policy.reconcile) == (
        0.3,
        0.2,
        0.25,
    )
    assert budget.policy.spare == pytest.approx(0.10)
    with pytest.raises(ConfigError, match=r"reserve 110 % of the request limit"):
        settings(lanes={"market": 0.5, "protect": 0.2})
    with pytest.raises(ConfigError, match=r"replaced by venue\.budget\.lanes"):
        settings(protect_reserve=0.3, read_reserve=0.2)


def test_the_gauges_carry_the_exchange_and_address_never_an_account() -> None:
    metrics = Metrics()
    budget = RequestBudget(
        "binance", "egress-a", SimClock(0), windows=[Window("REQUEST_WEIGHT", 60_000, 100)]
    )
    for lane, n in ((Lane.ENTRY, 45), (Lane.MARKET, 15), (Lane.RECONCILE, 25)):
        for _ in range(n):
            budget.try_spend(1, lane)  # entries borrow the spare pool's 30
    for _ in range(10):
        budget.try_spend(1, Lane.PROTECT)
    budget.try_spend(10, Lane.MARKET)  # held back
    metrics.budget.watch(budget)
    text = generate_latest(metrics.registry).decode()
    labels = 'address="egress-a",exchange="binance"'
    assert f"rampart_request_budget_headroom_ratio{{{labels}}} 0.05" in text
    assert f"rampart_request_budget_used_ratio{{{labels}}} 0.95" in text
    assert f"rampart_request_budget_limit{{{labels}}} 100.0" in text
    assert f'rampart_request_budget_lane_used_ratio{{{labels},lane="market"}} 1.0' in text
    assert f'rampart_request_budget_lane_used_ratio{{{labels},lane="spare"}} 1.0' in text
    protect = f'rampart_request_budget_lane_used_ratio{{{labels},lane="protect"}} 0.666'
    assert protect in text
    spent = 'rampart_request_budget_lane_spent_total{address="egress-a",borrowed="%s",'
    assert spent % "yes" + 'exchange="binance",lane="entry"} 30.0' in text
    assert spent % "no" + 'exchange="binance",lane="entry"} 15.0' in text
    assert "account" not in "".join(
        line for line in text.splitlines() if line.startswith("rampart_request_budget")
    )
