"""Invariants under random sequences of orders, cancels and candles (hypothesis).

The test keeps its own books from the reports alone and recomputes, from the rules, what every
open order must hold; the venue's balances must agree after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.domain.candles import Candle
from rampart.domain.errors import VenueError
from rampart.domain.money import ceil_to_step
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, can_transition
from rampart.trading.ports import VenueReport
from rampart.venues.paper import FeeSchedule

from .helpers import INSTRUMENT, MINUTE, SYMBOL, Desk, sync

D = Decimal
MAKER, TAKER, SLIP_CAP = D("0.0005"), D("0.001"), D("0.0012")
TICK, LOT = INSTRUMENT.tick_size, INSTRUMENT.lot_size
START = {"USDT": D("10000"), "BTC": D("5")}


@dataclass
class Tracked:
    order: Order
    lock_price: Decimal
    lock_rate: Decimal
    group: str | None = None
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = Decimal(0)

    @property
    def remaining(self) -> Decimal:
        return self.order.qty - self.filled


def expected_terms(o: Order, last_close: Decimal | None) -> tuple[Decimal, Decimal]:
    """What a buy holds per the rules: worst price and fee rate (sells hold the coins)."""
    if o.side is Side.SELL:
        return D(0), D(0)
    if o.type is OrderType.LIMIT:
        return o.price, MAKER  # type: ignore[return-value]
    if o.type is OrderType.STOP_LIMIT:
        return o.price, max(MAKER, TAKER)  # type: ignore[return-value]
    ref = o.stop_price if o.type is OrderType.STOP_MARKET else last_close
    assert ref is not None
    return ceil_to_step(ref * (1 + SLIP_CAP), TICK), TAKER


def expected_locks(book: dict[str, Tracked]) -> dict[str, Decimal]:
    quote = D(0)
    base = D(0)
    groups: dict[str, Decimal] = {}
    for t in book.values():
        if t.status.terminal or t.status is OrderStatus.NEW:
            continue
        if t.order.side is Side.BUY:
            need = t.remaining * t.lock_price * (1 + t.lock_rate)
            quote += need.quantize(D("1e-12"), rounding=ROUND_UP)
        elif t.group:
            groups[t.group] = max(groups.get(t.group, D(0)), t.remaining)
        else:
            base += t.remaining
    return {"USDT": quote, "BTC": base + sum(groups.values(), D(0))}


prices = st.integers(min_value=-400, max_value=400)  # ticks around the last close
qtys = st.integers(min_value=1, max_value=4000)  # lots (0.001 BTC)
order_action = st.tuples(
    st.just("order"),
    st.sampled_from(list(Side)),
    st.sampled_from(list(OrderType)),
    qtys,
    prices,
    prices,
)
oco_action = st.tuples(st.just("oco"), qtys, st.integers(1, 400), st.integers(1, 400))
cancel_action = st.tuples(st.just("cancel"), st.integers(0, 50))
resubmit_action = st.tuples(st.just("resubmit"), st.integers(0, 50))
candle_action = st.tuples(
    st.just("candle"),
    st.integers(-300, 300),  # gap from the last close, in ticks
    st.integers(-300, 300),  # close from the open
    st.integers(0, 300),  # wick above
    st.integers(0, 300),  # wick below
    st.sampled_from([0.0, 0.5, 3.0, 20.0, 1000.0]),
)
actions = st.lists(
    st.one_of(candle_action, order_action, oco_action, cancel_action, resubmit_action),
    min_size=1,
    max_size=40,
)


class Checker:
    def __init__(self) -> None:
        self.desk = Desk(
            {k: str(v) for k, v in START.items()}, fees=FeeSchedule(maker=MAKER, taker=TAKER)
        )
        self.desk.venue.set_listener(self.on_report)
        self.book: dict[str, Tracked] = {}
        self.ids: list[str] = []
        self.totals = dict(START)
        self.close = D("100")
        self.seen_candle = False
        self.i = 0
        self.bars = 0
        self.problems: list[str] = []

    def on_report(self, r: VenueReport) -> None:
        t = self.book[r.client_id]
        if r.code == "duplicate" or (
            t.status is OrderStatus.REJECTED and r.status is OrderStatus.REJECTED
        ):
            if r.status is not t.status:
                self.problems.append(f"duplicate of {r.client_id} reported {r.status}")
            return
        if not can_transition(t.status, r.status):
            self.problems.append(f"{r.client_id}: {t.status} -> {r.status}")
        t.status = r.status
        if r.status is OrderStatus.SUBMITTED:
            last = self.close if self.seen_candle else None
            t.lock_price, t.lock_rate = expected_terms(t.order, last)
        fill = r.fill
        if fill is None:
            return
        if fill.fee < 0 or fill.qty <= 0 or fill.price <= 0:
            self.problems.append(f"bad fill {fill}")
        if fill.qty % LOT or fill.price % TICK:
            self.problems.append(f"fill off the lot or tick {fill}")
        t.filled += fill.qty
        sign = 1 if fill.side is Side.BUY else -1
        self.totals["BTC"] += sign * fill.qty
        self.totals["USDT"] -= sign * fill.qty * fill.price + fill.fee

    def new_id(self) -> str:
        self.i += 1
        cid = f"o{self.i}"
        self.ids.append(cid)
        return cid

    def make(self, side: Side, kind: OrderType, lots: int, p: int, s: int) -> Order:
        def px(ticks: int) -> Decimal:
            return max(self.close + ticks * TICK, TICK)

        return Order(
            self.new_id(),
            "a",
            SYMBOL,
            side,
            kind,
            lots * LOT,
            OrderRole.ENTRY,
            price=px(p),
            stop_price=px(s),
        )

    def apply(self, action: tuple) -> None:
        kind = action[0]
        venue = self.desk.venue
        if kind == "candle":
            _, gap, body, up, down, volume = action
            o = max(self.close + gap * TICK, D(1))
            c = max(o + body * TICK, D(1))
            h, low = max(o, c) + up * TICK, max(min(o, c) - down * TICK, D("0.5"))
            self.bars += 1
            candle = Candle(
                SYMBOL, self.bars * MINUTE, float(o), float(h), float(low), float(c), volume
            )
            venue.on_candle(candle)
            self.close, self.seen_candle = c, True
        elif kind == "order":
            o = self.make(*action[1:])
            self.book[o.client_id] = Tracked(o, D(0), D(0))
            sync(venue.submit(o))
        elif kind == "oco":
            _, lots, down, up = action
            stop = self.make(Side.SELL, OrderType.STOP_MARKET, lots, 0, -down)
            take = self.make(Side.SELL, OrderType.LIMIT, lots, up, 0)
            for leg in (stop, take):
                self.book[leg.client_id] = Tracked(leg, D(0), D(0), group=stop.client_id)
            sync(venue.submit_oco(stop, take))
        elif self.ids:
            cid = self.ids[action[1] % len(self.ids)]
            if kind == "resubmit":
                sync(venue.submit(self.book[cid].order))
                return
            try:
                sync(venue.cancel("a", cid))
            except VenueError as err:
                # Open orders are canceled; finished ones are answered by their final state.
                self.problems.append(f"cancel of {cid} refused ({err.code})")

    def check(self) -> None:
        balances = sync(self.desk.venue.fetch_balances("a"))
        locks = expected_locks(self.book)
        for asset in ("USDT", "BTC"):
            bal = balances[asset]
            if bal.free < 0 or bal.locked < 0:
                self.problems.append(f"negative balance {bal}")
            if bal.locked != locks[asset]:
                self.problems.append(f"{asset} locked {bal.locked} != required {locks[asset]}")
            if bal.total != self.totals[asset]:
                self.problems.append(f"{asset} total {bal.total} != {self.totals[asset]}")
        open_ids = [o.client_id for o in sync(self.desk.venue.fetch_open_orders("a"))]
        tracked_open = [
            c for c, t in self.book.items() if t.status.open and t.status.value != "new"
        ]
        if open_ids != tracked_open:
            self.problems.append(f"open orders {open_ids} != {tracked_open}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_random_trading_keeps_every_invariant(steps: list[tuple]) -> None:
    checker = Checker()
    for action in steps:
        checker.apply(action)
        checker.check()
        assert checker.problems == [], (action, checker.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_the_float_screen_changes_no_report(steps: list[tuple]) -> None:
    """A bar the float screen passes over (it can touch no resting order) must be one the
    Decimal matching would leave alone too: the same steps with the screen off give the same
    reports, in the same order, and the same venue state."""
    runs: list[tuple[list[VenueReport], dict]] = []
    for screened in (True, False):
        checker = Checker()
        reports: list[VenueReport] = []

        def record(r: VenueReport, checker: Checker = checker, reports=reports) -> None:
            reports.append(r)
            checker.on_report(r)

        venue = checker.desk.venue
        venue.set_listener(record)
        if not screened:
            venue.core.screen.untouched = lambda candle, book: False  # type: ignore[method-assign]
        for action in steps:
            checker.apply(action)
        runs.append((reports, venue.snapshot()))
    assert runs[0] == runs[1]
