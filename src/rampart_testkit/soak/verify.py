"""Independent checks of the engine's books against the simulator's own state (not through
ccxt): exact balances, open orders and fills, stop-loss protection, lost and duplicated
orders and fills."""

from __future__ import annotations

from collections import deque
from collections.abc import Set
from dataclasses import dataclass, field
from decimal import Decimal

from rampart.domain.events import Event, FillBooked, OrderUpdated
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, OrderStatus, OrderType, Side
from rampart.domain.positions import Position
from rampart.trading.account import AccountRuntime
from rampart.trading.engine import Engine
from rampart.trading.reconcile.books import UNSETTLED, parse_client_id, seq_of
from rampart.venues.book import SubAccount
from rampart_testkit.simulator.exchange import SimExchange

STOPS = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)


def unsettled(engine: Engine) -> bool:
    """Whether an order of ``engine`` may still change on the exchange (checks wait for it)."""
    return any(o.status in UNSETTLED for a in engine.accounts.values() for o in a.orders.values())


def books_differences(engine: Engine, exchange: SimExchange, held: set[str]) -> list[str]:
    """Every difference between the engine's books and the exchange, exactly (Decimal)."""
    out: list[str] = []
    for account_id, acct in engine.accounts.items():
        sub = exchange.sub(account_id)
        totals = {a: b.total for a, b in sub.balances().items()}
        quote = acct.spec.quote
        if acct.ledger.cash != totals.get(quote, ZERO):
            out.append(
                f"{account_id}: cash {acct.ledger.cash} in the books, {totals.get(quote, ZERO)} "
                "on the exchange"
            )
        for symbol in acct.spec.symbols:
            base = engine.venue.instrument(symbol).base
            pos = acct.ledger.positions.get(symbol)
            # Coins bought by hand are held apart, and dust (less than a lot) is carried apart:
            # on the exchange, never in the position.
            have = (
                (pos.qty if pos else ZERO)
                + acct.held_apart.get(symbol, ZERO)
                + acct.ledger.dust.get(symbol, ZERO)
            )
            if have != totals.get(base, ZERO):
                out.append(
                    f"{account_id}: {symbol} position {have} in the books, "
                    f"{totals.get(base, ZERO)} on the exchange"
                )
        local = {c: o for c, o in acct.orders.items() if c not in held}
        remote = {c: o for c, o in sub.open.items() if parse_client_id(account_id, c)}
        for cid in sorted(set(local) ^ set(remote)):
            where = "the books" if cid in local else "the exchange"
            out.append(f"{account_id}: order {cid} open only in {where}")
        for cid in set(local) & set(remote):
            if local[cid].filled_qty != remote[cid].filled_qty:
                out.append(f"{account_id}: order {cid} filled quantities differ")
    return out


@dataclass
class Protection:
    """Every coin an account holds on the exchange must be covered by a stop-loss there, or
    be on its way to one. Judged from the exchange's holdings, not the books: the risk is
    what the exchange holds. Coins held apart (bought by hand) are the investor's to guard,
    not Rampart's."""

    checks: int = 0
    on_exchange: int = 0
    """Holdings covered by a live stop-loss order on the exchange."""
    pending: int = 0
    """Holdings whose stop-loss was sent but is not yet confirmed (an UNKNOWN order being
    resolved), whose entry is not yet confirmed, that a working exit order is closing, or
    that the exchange already sold while the books have yet to hear of it."""
    monitored: int = 0
    """Holdings the engine's position monitor guards (dust, or no bracket could rest)."""
    unprotected: int = 0
    doubled: int = 0
    """Holdings with more than one live stop-loss on the exchange (a duplicated order)."""
    samples: list[str] = field(default_factory=list)

    def check(self, engine: Engine, exchange: SimExchange) -> None:
        for account_id, acct in engine.accounts.items():
            sub = exchange.sub(account_id)
            for symbol in acct.spec.symbols:
                inst = engine.venue.instrument(symbol)
                apart = acct.held_apart.get(symbol, ZERO) + acct.ledger.dust.get(symbol, ZERO)
                held = sub.totals.get(inst.base, ZERO) - apart
                pos = acct.ledger.positions.get(symbol)
                if held <= ZERO and pos is None:
                    continue
                self.checks += 1
                self._judge(engine, acct, symbol, held, pos, sub)

    def _judge(
        self,
        engine: Engine,
        acct: AccountRuntime,
        symbol: str,
        held: Decimal,
        pos: Position | None,
        sub: SubAccount,
    ) -> None:
        stops = [
            o
            for o in sub.open.values()
            if o.symbol == symbol and o.side is Side.SELL and o.type in STOPS
        ]
        if len(stops) > 1:
            self.doubled += 1
        # A stop sells whole lots: what is left below one lot no order could sell.
        if any(o.remaining >= engine.venue.instrument(symbol).floor_qty(held) for o in stops):
            self.on_exchange += 1
            return
        booked = pos.qty if pos else ZERO
        working = [
            o
            for o in acct.orders.values()
            if o.symbol == symbol
            and (
                o.role is OrderRole.EXIT
                or (o.role in (OrderRole.STOP_LOSS, OrderRole.ENTRY) and o.status in UNSETTLED)
            )
        ]
        if held < booked or working:
            self.pending += 1
        elif (
            held < engine.venue.instrument(symbol).min_qty
            or symbol in acct.guarded
            or (pos is not None and engine.executor.is_dust(pos))
        ):
            self.monitored += 1
        else:
            self.unprotected += 1
            if len(self.samples) < 10:
                self.samples.append(f"{acct.account_id} {symbol} holds {held}, books {booked}")


class Recent:
    """The last ``size`` numbers added, with fast membership: constant memory however long
    the soak runs. Enough to compare with what the exchange keeps (its latest orders and
    trades) and to catch a fill booked twice (a replay after a restart books again only
    what came after the checkpoint, a few candles back)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.order: deque[int] = deque()
        self.members: set[int] = set()

    def __contains__(self, item: int) -> bool:
        return item in self.members

    def add(self, item: int) -> None:
        if item in self.members:
            return
        self.order.append(item)
        self.members.add(item)
        if len(self.order) > self.size:
            self.members.discard(self.order.popleft())

    def copy(self) -> Recent:
        out = Recent(self.size)
        out.order, out.members = deque(self.order), set(self.members)
        return out


class Ledgerbook:
    """Bus subscriber remembering the orders the engine registered and the fills it booked
    (sequence numbers and exchange trade ids; the latest ones per account) with counts."""

    def __init__(self) -> None:
        self.orders: dict[str, Recent] = {}
        self.fills: dict[str, Recent] = {}
        self.orders_registered = 0
        self.fills_booked = 0
        self.duplicate_fills = 0

    def copy(self) -> Ledgerbook:
        """What the books held at a checkpoint (a restart goes back to it)."""
        saved = Ledgerbook()
        saved.orders = {a: r.copy() for a, r in self.orders.items()}
        saved.fills = {a: r.copy() for a, r in self.fills.items()}
        saved.orders_registered = self.orders_registered
        saved.fills_booked = self.fills_booked
        saved.duplicate_fills = self.duplicate_fills
        return saved

    def restore(self, saved: Ledgerbook) -> None:
        copy = saved.copy()
        self.orders, self.fills = copy.orders, copy.fills
        self.orders_registered = copy.orders_registered
        self.fills_booked, self.duplicate_fills = copy.fills_booked, copy.duplicate_fills

    def __call__(self, event: Event) -> None:
        if isinstance(event, OrderUpdated):
            order = event.order
            if event.previous is OrderStatus.NEW and order.status is OrderStatus.NEW:
                self.orders_registered += 1
                self.orders.setdefault(order.account_id, Recent()).add(seq_of(order.client_id))
        elif isinstance(event, FillBooked):
            fill = event.fill
            self.fills_booked += 1
            trade = _trade_id(fill.fill_id)
            seen = self.fills.setdefault(fill.account_id, Recent())
            if trade in seen:
                self.duplicate_fills += 1
            seen.add(trade)


def _trade_id(fill_id: str) -> int:
    tail = fill_id.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else -1


@dataclass
class Accounting:
    orders_on_exchange: int = 0
    fills_on_exchange: int = 0
    lost_orders: int = 0
    lost_fills: int = 0
    duplicated_orders: int = 0
    duplicated_fills: int = 0
    unresolved_orders: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.lost_orders + self.lost_fills + self.unresolved_orders

    @property
    def duplicated(self) -> int:
        return self.duplicated_orders + self.duplicated_fills


def account(
    engine: Engine, exchange: SimExchange, book: Ledgerbook, by_hand: Set[int] = frozenset()
) -> Accounting:
    """Lost and duplicated orders and fills: the exchange's records against the engine's.
    ``by_hand``: trades of coins bought by hand, which Rampart holds apart and never books."""
    out = Accounting()
    for account_id, acct in engine.accounts.items():
        sub = exchange.sub(account_id)
        ids = [o.client_id for o in (*sub.open.values(), *sub.done.values()) if o.seq > 0]
        ours = [c for c in ids if parse_client_id(account_id, c) is not None]
        out.duplicated_orders += len(ours) - len(set(ours))
        known = book.orders.get(account_id, Recent())
        lost = [c for c in ours if seq_of(c) not in known]
        out.lost_orders += len(lost)
        out.details.extend(
            f"{account_id}: order {c} is on the exchange, not in the books" for c in lost[:3]
        )
        # The exchange remembers its latest trades only: compare within what it still has.
        trades = {t.trade_id for t in exchange.trades[account_id]} - by_hand
        oldest = min(trades, default=0)
        booked = {t for t in book.fills.get(account_id, Recent()).members if t >= oldest}
        out.lost_fills += len(trades - booked)
        phantom = booked - trades
        out.duplicated_fills += len(phantom)
        out.unresolved_orders += sum(1 for o in acct.orders.values() if o.status in UNSETTLED)
    out.duplicated_fills += book.duplicate_fills
    out.orders_on_exchange = exchange.counters.orders
    out.fills_on_exchange = exchange.counters.fills
    return out
