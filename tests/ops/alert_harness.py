"""A harness for the alert engine on simulated time: the default rules as the tests tune them,
an engine notifying into a list, and the metric changes the rules' drivers
(:mod:`tests.ops.alert_drivers`) make."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    KillSwitchChanged,
    OrderUpdated,
    ReconciliationRepaired,
)
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rules import AlertRule, default_rules
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice, Notifier
from rampart.risk.restrictions import KILL_ON_POSITION_LOSS

START_MS = 1_700_000_000_000
STEP_S = 5
MEMORY_BASE = 100_000_000


def tuned_rules() -> list[AlertRule]:
    """The default rules, BagsShareLow on (at 80 %, as the launch plan asks) and watching a
    quarter of an hour rather than a day, so that its window passes in a test."""
    out = []
    for rule in default_rules(route_share=("bags", 0.8)):
        if rule.name == "BagsShareLow":
            rule = replace(rule, signal=rule.signal.tuned(900, None))
        out.append(rule)
    return out


class Harness:
    def __init__(
        self,
        db: sa.Engine | None,
        rules: list[AlertRule] | None = None,
        notifier: Notifier | None = None,
        repeat_every_s: float = 900,
        clock: SimClock | None = None,
        metrics: Metrics | None = None,
        stamp: SimClock | None = None,
        ready: Callable[[], bool] | None = None,
    ) -> None:
        self.clock = clock or SimClock(START_MS)
        self.metrics = metrics or Metrics()
        self.notices: list[Notice] = []
        self.db = db

        async def record(notice: Notice) -> None:
            self.notices.append(notice)

        self.engine = AlertEngine(
            rules if rules is not None else tuned_rules(),
            self.metrics,
            db,
            self.clock,
            notifier or CallbackNotifier(record),
            evaluate_every_s=STEP_S,
            repeat_every_s=repeat_every_s,
            stamp=stamp,
            ready=ready,
        )
        self.seq = 0

    @property
    def now_s(self) -> float:
        return self.clock.now_ms() / 1000

    def evaluate(self) -> list[Notice]:
        return asyncio.run(self.engine.evaluate(self.clock.now_ms()))

    def advance(self, seconds: float, act: Callable[[Harness], None] | None = None) -> list[Notice]:
        """Move time on, let ``act`` change metrics at the new time, then evaluate."""
        self.clock.advance(int(seconds * 1000))
        if act is not None:
            act(self)
        return self.evaluate()

    def of(self, rule: str, kind: str | None = None) -> list[Notice]:
        return [n for n in self.notices if n.rule == rule and (kind is None or n.kind == kind)]

    def answers(self, accepted: int, rejected: int) -> None:
        """Order submissions answered: ``accepted`` taken by the venue, ``rejected`` refused."""
        self.order_answer(OrderStatus.SUBMITTED, accepted)
        self.order_answer(OrderStatus.REJECTED, rejected)

    def order_answer(self, status: OrderStatus, count: int = 1) -> None:
        for _ in range(count):
            self.seq += 1
            order = Order(
                client_id=f"c{self.seq}",
                account_id="a1",
                symbol="BTC/USDT",
                side=Side.BUY,
                type=OrderType.MARKET,
                qty=Decimal(1),
                role=OrderRole.ENTRY,
                status=status,
            )
            self.metrics.on_event(OrderUpdated(self.clock.now_ms(), order, OrderStatus.NEW))

    def beat(self, component: str, age_s: float) -> None:
        self.metrics.heartbeat(component, self.now_s - age_s)

    def workers(self, engine_age_s: float) -> None:
        """The engine's last beat ``engine_age_s`` ago; the alert engine itself just beat."""
        self.beat("engine", engine_age_s)
        self.beat("alerts", 0)

    def errors_logged(self, count: int) -> None:
        for _ in range(count):
            self.metrics.log_error()

    def repairs(self, count: int) -> None:
        """``count`` fills reconciliation booked (the venue's truth applied to the books)."""
        for i in range(count):
            self.metrics.on_event(
                ReconciliationRepaired(i, "a1", "fill_booked", f"c{i}", "BTC/USDT", "booked")
            )

    def auth_failures(self, count: int) -> None:
        """API requests with a wrong token: most refused, the rest limited."""
        for i in range(count):
            self.metrics.api_auth_failure("refused" if i % 3 else "limited")

    def trips(self, count: int) -> None:
        """``count`` accounts halted by a breaker, each after a cooldown (which must not count)."""
        now = self.clock.now_ms()
        for _ in range(count):
            self.seq += 1
            account = f"a{self.seq}"
            self.cooldown(account)
            self.metrics.on_event(BreakerTripped(now, account, "daily_loss", "x"))
            self.metrics.on_event(
                AccountStateChanged(now, account, TradingState.REDUCING, TradingState.HALTED, "x")
            )

    def cooldown(self, account: str) -> None:
        """A losing-streak cooldown: entries pause for a while, the account is not halted."""
        now = self.clock.now_ms()
        self.metrics.on_event(BreakerTripped(now, account, "cooldown", "x"))
        self.metrics.on_event(
            AccountStateChanged(now, account, TradingState.ACTIVE, TradingState.REDUCING, "x")
        )

    def exchange(self, calls: int, errors: int) -> None:
        for _ in range(calls):
            self.metrics.exchange_call("paper", 0.01)
        for _ in range(errors):
            self.metrics.exchange_error("paper", "timeout")

    def latencies(self, fast: int, slow: int, quick: int = 0) -> None:
        """Order latencies: ``quick`` at 0.9 s, ``fast`` at 2 s, ``slow`` at 4.5 s."""
        for _ in range(quick):
            self.metrics.order_latency("paper", 0.9)
        for _ in range(fast):
            self.metrics.order_latency("paper", 2.0)
        for _ in range(slow):
            self.metrics.order_latency("paper", 4.5)

    def position_loss_kill(self) -> None:
        """A position past risk.kill_on_position_loss: its breaker trip (and a daily-loss trip,
        which must not count)."""
        now = self.clock.now_ms()
        self.metrics.on_event(BreakerTripped(now, "a1", KILL_ON_POSITION_LOSS, "lost 60 USDT"))
        self.metrics.on_event(BreakerTripped(now, "a2", "daily_loss", "x"))

    def statements(self, run: int, failed: int) -> None:
        """Database statements: ``run`` timed, ``failed`` of them failing."""
        for _ in range(run):
            self.metrics.db_query(0.001)
        for _ in range(failed):
            self.metrics.launch.db_error()

    def memory_grown(self, share: float) -> None:
        """Resident memory at the base an hour ago (recorded by an evaluation), and grown by
        ``share`` of it now."""
        self.metrics.launch.memory_bytes.set(MEMORY_BASE)
        self.evaluate()
        self.clock.advance(3_600_000)
        self.metrics.launch.memory_bytes.set(MEMORY_BASE * (1 + share))

    def rpc_nodes(self, *, primary: bool, backup: bool) -> None:
        """The Solana RPC pool's probe found each of its two nodes up or down."""
        self.metrics.solana.endpoint_health("rpc-a.example", primary, 0 if primary else 80)
        self.metrics.solana.endpoint_health("rpc-b.example", backup, 0 if backup else 80)

    def failovers(self, count: int) -> None:
        for i in range(count):
            nodes = ("rpc-a.example", "rpc-b.example")
            self.metrics.solana.failover(nodes[i % 2], nodes[1 - i % 2], "timeout")

    def swaps_filled(self, bags: int, jupiter: int) -> None:
        for route, count in (("bags", bags), ("jupiter", jupiter)):
            for _ in range(count):
                self.metrics.solana.swap(route, "filled", 0.5)

    def flip_kill_switch(self) -> None:
        self.kill_switch(True)
        self.kill_switch(False)

    def kill_switch(self, engaged: bool) -> None:
        self.metrics.on_event(KillSwitchChanged(self.clock.now_ms(), "global", engaged, "t", "op"))

    def account_state(self, new: TradingState, cause: str = "max_drawdown") -> None:
        old = TradingState.ACTIVE if new is not TradingState.ACTIVE else TradingState.HALTED
        why = "" if new is TradingState.ACTIVE else cause
        self.metrics.on_event(AccountStateChanged(self.clock.now_ms(), "a1", old, new, "t", why))
