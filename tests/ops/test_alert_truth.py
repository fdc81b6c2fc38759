"""Alerts tell the truth: ordinary paper trading raises no exchange or breaker alert, while real
faults (a venue refusing or timing out calls, breakers halting many accounts) raise the right
ones, and every counted error is logged with its order.

Everything runs the real engine, paper venue, metrics wrapper, breakers and in-service alert
engine on a SimClock: one candle is one simulated minute, and the alert engine evaluates on
every candle.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from rampart.agents.base import AgentBase, AgentView
from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.candles import Candle
from rampart.domain.errors import VenueError
from rampart.domain.instruments import DEFAULT_INSTRUMENTS, Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rules import default_rules
from rampart.observability.instrumented import instrument_venue
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import Venue
from rampart.venues.paper import PaperVenue

MINUTE = 60_000
SYMBOLS = ("BTC/USDT", "ETH/USDT")
ERROR_RULES = (
    "ErrorRateCritical",
    "ExchangeApiErrors",
    "ExecutionErrorRate",
    "ErrorRateElevated",
    "MassBreakerTrips",
)


@contextmanager
def warnings_logged() -> Iterator[list[dict[str, Any]]]:
    """Every log entry at warning and above while inside (tests keep only errors otherwise)."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        with structlog.testing.capture_logs() as entries:
            yield entries
    finally:
        structlog.configure(wrapper_class=before)


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def _sum(metrics: Metrics, name: str, **match: str) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in match.items()):
                total += sample.value
    return total


class Desk:
    """An engine on an instrumented paper venue, its metrics, and the alert engine on both."""

    def __init__(self, venue: Venue | None = None) -> None:
        self.clock = SimClock(0)
        self.bus = EventBus()
        # A bare registry: the process collectors would read /proc at every evaluation.
        self.metrics = Metrics(CollectorRegistry())
        self.bus.subscribe(self.metrics.on_event)
        instruments: dict[str, Instrument] = {s: DEFAULT_INSTRUMENTS[s] for s in SYMBOLS}
        self.paper = PaperVenue(instruments, clock=self.clock)
        self.venue = instrument_venue(venue or self.paper, self.metrics, "paper")
        self.agents: dict[str, Any] = {}
        self.engine = Engine(
            venue=self.venue,
            clock=self.clock,
            bus=self.bus,
            make_agent=self._agent,
            profile_for=lambda name: get_profile(name),
            taker_fee=Decimal("0.001"),
        )
        self.notices: list[Notice] = []

        async def record(notice: Notice) -> None:
            self.notices.append(notice)

        self.alerts = AlertEngine(
            default_rules(), self.metrics, None, self.clock, CallbackNotifier(record)
        )

    def _agent(self, name: str, params: dict[str, Any] | None) -> Any:
        return self.agents.get(name) or make_agent(name, params)

    async def add(self, account: str, agent: str, profile: str, capital: str = "10000") -> None:
        spec = AccountSpec(account, agent, profile, Decimal(capital), SYMBOLS)
        await self.engine.add_account(spec)

    async def run(self, candles: Iterable[Candle]) -> None:
        for candle in candles:
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            await self.engine.on_candle(candle)
            if candle.symbol == SYMBOLS[-1]:  # once per minute, after every symbol's candle
                await self.alerts.evaluate(self.clock.now_ms())

    def fired(self, *rules: str) -> list[str]:
        return sorted({n.rule for n in self.notices if n.kind == "firing" and n.rule in rules})


# -- ordinary operation ----------------------------------------------------------------------


def test_ordinary_paper_trading_raises_no_exchange_or_breaker_alert() -> None:
    """Twelve investors on three strategies for a simulated day: agents close positions
    (both bracket legs canceled in turn), brackets fill, and losing streaks put accounts into
    cooldowns, several at once since accounts on one strategy trade alike. None of that is an
    exchange error or a mass halt."""
    desk = Desk()

    async def scenario() -> None:
        for i in range(4):
            await desk.add(f"trend-{i}", "trend", "moderate")
            await desk.add(f"meanrev-{i}", "mean_reversion", "conservative")
            await desk.add(f"breakout-{i}", "breakout", "aggressive")
        feed = SyntheticFeed(list(SYMBOLS), seed=7)
        await desk.run(itertools.islice(feed.iter_candles(), 1440 * len(SYMBOLS)))

    asyncio.run(scenario())
    m = desk.metrics
    calls = _sum(m, "rampart_exchange_requests_seconds_count")
    canceled = _value(m, "rampart_orders_total", status="canceled", venue="paper")
    cooldowns = _value(m, "rampart_breaker_trips_total", breaker="cooldown")
    # The run did what used to raise the alerts: many calls, bracket legs canceled (both legs
    # of a pair, the second already closed with the first), and cooldowns in bursts.
    assert calls > 500 and canceled > 100 and cooldowns >= 10, (calls, canceled, cooldowns)
    assert _sum(m, "rampart_exchange_errors_total") == 0
    assert _value(m, "rampart_exchange_errors_total", venue="paper", kind="unknown_order") == 0
    assert _value(m, "rampart_account_halts_total") == 0
    assert desk.fired(*ERROR_RULES) == []
    assert not [n.rule for n in desk.notices if n.severity in ("P0", "P1")]
    # A cooldown is shown, not paged (InvestorProblem once fired for them).
    assert desk.fired("InvestorProblem") == []


# -- faults ----------------------------------------------------------------------------------


class FlakyVenue:
    """The paper venue, refusing or timing out calls while ``failing`` is set, as an exchange
    does when it is overloaded (the engine sees the same exceptions as from ccxt)."""

    def __init__(self, paper: PaperVenue) -> None:
        self.paper = paper
        self.failing = False
        self.calls = 0

    def __getattr__(self, item: str) -> Any:
        return getattr(self.paper, item)

    def _fault(self) -> None:
        if not self.failing:
            return
        self.calls += 1
        if self.calls % 2:
            raise TimeoutError("the exchange did not answer in time")
        raise VenueError("The exchange is overloaded; try later.", code="unavailable")

    async def submit(self, order: Order) -> None:
        self._fault()
        await self.paper.submit(order)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self._fault()
        await self.paper.submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        self._fault()
        await self.paper.cancel(account_id, client_id)


class EagerAgent(AgentBase):
    """Wants a long whenever it holds none (stop 5 % below, take-profit 10 % above); with
    ``churn`` it closes a position on the next candle, so every minute sends orders."""

    name = "eager"
    warmup = 0

    def __init__(self, churn: bool = False) -> None:
        self.churn = churn

    def update(self, candle: Candle) -> None:
        del candle

    def decide(self, view: AgentView) -> list[Intent]:
        if view.position is not None and not self.churn:
            return []
        entry = dec(view.candle.close)
        inst = view.instrument
        return [
            Intent(
                view.account_id,
                view.symbol,
                Side.BUY if view.position is None else Side.SELL,
                IntentAction.OPEN if view.position is None else IntentAction.CLOSE,
                entry,
                inst.round_price(entry * Decimal("0.95")),
                inst.round_price(entry * Decimal("1.10")),
                agent="eager",
                ts=view.ts,
            )
        ]


def _flat(start_min: int, minutes: int, price: float, drift: float = 0.0) -> list[Candle]:
    """Quiet bars around ``price``, rising by ``drift`` per minute (so a churning agent's
    trades win and no losing streak pauses it)."""
    out = []
    for i in range(start_min, start_min + minutes):
        p = price * (1 + drift) ** (i - start_min)
        out += [Candle(s, i * MINUTE, p, p * 1.001, p * 0.999, p, 1e9, MINUTE) for s in SYMBOLS]
    return out


def test_a_venue_refusing_and_timing_out_calls_raises_the_exchange_alerts() -> None:
    paper_desk = Desk()
    flaky = FlakyVenue(paper_desk.paper)
    desk = Desk(flaky)  # type: ignore[arg-type]
    desk.paper = paper_desk.paper
    desk.agents["eager"] = EagerAgent(churn=True)

    async def scenario() -> None:
        # Six accounts: an entry whose submit timed out may be working on the exchange, so it
        # holds its symbol's exposure until it is settled and each account
        # sends fewer orders while the venue fails; six keep the calls above the rate's minimum.
        for i in range(6):
            await desk.add(f"eager-{i}", "eager", "moderate")
        await desk.run(_flat(0, 10, 100.0, drift=0.01))
        assert desk.fired(*ERROR_RULES) == []
        assert _sum(desk.metrics, "rampart_exchange_requests_seconds_count") >= 50
        flaky.failing = True
        await desk.run(_flat(10, 10, 110.0, drift=0.01))

    with warnings_logged() as logs:
        asyncio.run(scenario())
    m = desk.metrics
    errors = _sum(m, "rampart_exchange_errors_total")
    assert errors >= 10 and flaky.calls == errors
    assert _value(m, "rampart_exchange_errors_total", venue="paper", kind="timeout") > 0
    assert _value(m, "rampart_exchange_errors_total", venue="paper", kind="unavailable") > 0
    # Every call failing pages (ErrorRateCritical: > 5 % of at least 20 calls); the 1 % and
    # 0.5 % levels need 100 and 200 calls in their windows, more than these accounts make.
    assert desk.fired(*ERROR_RULES) == ["ErrorRateCritical", "ExchangeApiErrors"]
    # Each counted failure is logged once, naming the order, its symbol and its account.
    logged = [e for e in logs if e["event"] == "exchange_error"]
    assert len(logged) == errors
    assert all(e["account_id"] and e["order"] and e["symbol"] in SYMBOLS for e in logged)
    assert len({e["order"] for e in logged if e["call"] == "submit"}) == len(
        [e for e in logged if e["call"] == "submit"]
    )
    # The refused submissions are order rejections: logged once each, with their order.
    rejected = [e for e in logs if e["event"] == "order_rejected"]
    assert len(rejected) == _value(m, "rampart_orders_total", status="rejected", venue="paper")
    assert rejected and all(e["order"] and e["symbol"] in SYMBOLS for e in rejected)


def test_breakers_halting_many_accounts_raise_mass_breaker_trips() -> None:
    """Six aggressive accounts long BTC and ETH; the market falls 30 % in one bar: the daily
    loss breaker halts every account, which is a P0. The same accounts merely cooling down
    after losing streaks (the ordinary-trading test) raise none."""
    desk = Desk()
    desk.agents["eager"] = EagerAgent()

    async def scenario() -> None:
        for i in range(6):
            await desk.add(f"eager-{i}", "eager", "aggressive")
        await desk.run(_flat(0, 10, 100.0))
        assert desk.fired("MassBreakerTrips") == []
        await desk.run(_flat(10, 5, 70.0))

    asyncio.run(scenario())
    halted = [a for a in desk.engine.accounts.values() if a.state is TradingState.HALTED]
    assert len(halted) == 6
    assert _value(desk.metrics, "rampart_account_halts_total") == 6
    assert _value(desk.metrics, "rampart_halted_accounts") == 6
    assert desk.fired("MassBreakerTrips") == ["MassBreakerTrips"]
    notice = next(n for n in desk.notices if n.rule == "MassBreakerTrips")
    assert notice.severity == "P0" and notice.value == 6


def test_cancelling_both_legs_of_a_bracket_counts_no_error() -> None:
    """The cause of the false ExchangeApiErrors: the engine cancels a bracket's stop, the venue
    closes its take-profit with it, then the engine cancels the take-profit too. That second
    cancel is answered by the leg's final state; only an order the venue never had is an
    error."""
    desk = Desk()

    async def scenario() -> None:
        await desk.venue.open_account("a1", {"BTC": Decimal(1)})
        desk.paper.on_candle(_flat(0, 1, 100.0)[0])
        await desk.venue.submit_oco(_leg("s", take=False), _leg("t", take=True))
        await desk.venue.cancel("a1", "s")
        await desk.venue.cancel("a1", "t")
        found = await desk.venue.fetch_order("a1", "t")
        assert found is not None and found.status is OrderStatus.CANCELED
        assert _sum(desk.metrics, "rampart_exchange_errors_total") == 0
        try:
            await desk.venue.cancel("a1", "never-sent")
        except VenueError as exc:
            assert exc.code == "unknown_order"
        else:
            raise AssertionError("a cancel of an order the venue never had must be refused")

    with warnings_logged() as logs:
        asyncio.run(scenario())
    assert (
        _value(desk.metrics, "rampart_exchange_errors_total", venue="paper", kind="unknown_order")
        == 1
    )
    [logged] = [e for e in logs if e["event"] == "exchange_error"]
    assert (logged["account_id"], logged["order"], logged["call"]) == ("a1", "never-sent", "cancel")


def _leg(client_id: str, *, take: bool) -> Order:
    return Order(
        client_id=client_id,
        account_id="a1",
        symbol="BTC/USDT",
        side=Side.SELL,
        type=OrderType.LIMIT if take else OrderType.STOP_MARKET,
        qty=Decimal("0.1"),
        role=OrderRole.TAKE_PROFIT if take else OrderRole.STOP_LOSS,
        price=Decimal("110") if take else None,
        stop_price=None if take else Decimal("95"),
        oco_group="s",
    )
