"""One account's runtime state inside the engine: ledger, orders, brackets, breakers."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from rampart.domain.accounts import AccountSpec, TradingState
from rampart.domain.orders import Order, OrderRole, client_order_id
from rampart.domain.positions import Adjustment, Ledger
from rampart.risk.breakers import BreakerState
from rampart.risk.profiles import RiskProfile
from rampart.risk.restrictions import VENUE_REPORT, Restriction
from rampart.trading.bracket import BracketBook, GuardedView
from rampart.trading.snapshots import (
    ledger_from_dict,
    ledger_to_dict,
    order_from_dict,
    order_to_dict,
)

RECENT_ORDER_WINDOW_MS = 60_000
FILL_IDS_KEPT = 500
"""Trade ids remembered per account, so a fill reported twice (by a poll and by a
reconciliation) is booked once; far more than can be in flight between two checkpoints."""


@dataclass(frozen=True, slots=True)
class Bracket:
    """The protection an entry asked for; placed on the venue once the entry fills."""

    stop_loss: Decimal
    take_profit: Decimal
    entry: Decimal = field(default=Decimal(0), compare=False)
    """The price the entry was approved at (its stop's distance checked from it); 0 when
    unknown (an addition, an order adopted by reconciliation): the first fill is not
    re-anchored then."""


@dataclass(frozen=True, slots=True)
class Rejection:
    ts: int
    symbol: str
    code: str
    message: str
    agent: str


class AccountRuntime:
    def __init__(self, spec: AccountSpec, profile: RiskProfile, breakers: BreakerState) -> None:
        self.spec = spec
        self.account_id = spec.account_id
        """Never changes (a changed spec keeps it); read a dozen times per order."""
        self.profile = profile
        self.ledger = Ledger.open(spec.account_id, spec.quote, spec.capital)
        self.orders: dict[str, Order] = {}
        """Orders that are not yet terminal, by client id."""
        self.brackets: dict[str, Bracket] = {}
        """By entry client id, kept while the entry or its position lives."""
        self.pending_cancel: set[str] = set()
        self.seq = 0
        self.last_holder_ids = range(0)
        """Client-order numbers a shard's last holder may still have had on their way when it
        was taken over: adopted whenever they turn up (not saved: such an order
        lands within the exchange's receive window)."""
        self.recent_order_ts: deque[int] = deque()
        self.breakers = breakers
        self.paused = False
        self.pause_reason = ""
        self.pause_restriction: Restriction | None = None
        """The figures of a pause the system made (a position's loss), else None."""
        self.next_equity_snapshot_ts = 0
        self.rejections: deque[Rejection] = deque(maxlen=50)
        self.recent_orders: deque[Order] = deque(maxlen=50)
        self.blocked: dict[str, str] = {}
        """Per symbol, the account gate that refused the last intent (reported once)."""
        self.repeated_rejections = 0
        self.bracket_book = BracketBook()
        """Per symbol, the state of the position's bracket (:mod:`rampart.trading.bracket`)."""
        self.checked_fills = -1
        self.close_only = ""
        """Why the account may only close positions (an unexplained venue report), or ""."""
        self.unexplained_order = ""
        """The order that report named."""
        self.adjustments: dict[str, list[Adjustment]] = {}
        """Per symbol, quantities reconciliation took out at an assumed price, not yet
        explained by a fill."""
        self.held_apart: dict[str, Decimal] = {}
        """Per symbol, coins on the venue that Rampart did not buy (bought by hand): reported
        and left out of the position the risk engine sized."""
        self._fill_ids: deque[str] = deque(maxlen=FILL_IDS_KEPT)
        self._fill_set: set[str] = set()

    @property
    def guarded(self) -> GuardedView:
        """Symbols whose position the monitor holds: read from their brackets' states."""
        return self.bracket_book.guarded

    @property
    def state(self) -> TradingState:
        state = self.breakers.state
        if self.close_only and state is TradingState.ACTIVE:
            return TradingState.REDUCING
        return state

    @property
    def cause(self) -> str:
        """What puts the account in :attr:`state` (a restriction's cause); empty when ACTIVE."""
        if self.close_only and self.breakers.state is TradingState.ACTIVE:
            return VENUE_REPORT
        return self.breakers.halted_by

    # -- fills accounted for, adjustments ------------------------------------------------------

    def fill_seen(self, fill_id: str) -> bool:
        return fill_id in self._fill_set

    def note_fill(self, fill_id: str) -> None:
        if fill_id in self._fill_set:
            return
        if len(self._fill_ids) == self._fill_ids.maxlen:
            self._fill_set.discard(self._fill_ids[0])
        self._fill_ids.append(fill_id)
        self._fill_set.add(fill_id)

    def booked_fills(self, client_id: str) -> list[str]:
        """The ids of ``client_id``'s fills the books remember booking (``client_id:trade_id``,
        among the account's last ``FILL_IDS_KEPT``)."""
        prefix = f"{client_id}:"
        return [fill_id for fill_id in self._fill_ids if fill_id.startswith(prefix)]

    def add_adjustment(self, adjustment: Adjustment) -> None:
        self.adjustments.setdefault(adjustment.symbol, []).append(adjustment)

    def settle_adjustments(self, ts: int) -> None:
        """Cash was set to the venue's figure after the adjustments made at ``ts``."""
        for symbol, items in self.adjustments.items():
            self.adjustments[symbol] = [
                replace(a, cash_settled=True) if a.ts == ts else a for a in items
            ]

    def take_adjustment(self, symbol: str, qty: Decimal) -> Adjustment | None:
        """The part of the oldest adjustment on ``symbol`` that a fill of ``qty`` explains,
        removed from what is left to explain; None when no adjustment is that large."""
        pending = self.adjustments.get(symbol, [])
        for i, adj in enumerate(pending):
            if adj.qty >= qty:
                rest = adj.qty - qty
                if rest > 0:
                    pending[i] = replace(adj, qty=rest)
                else:
                    del pending[i]
                if not pending:
                    self.adjustments.pop(symbol, None)
                return replace(adj, qty=qty)
        return None

    def next_client_id(self, role: OrderRole) -> str:
        self.seq += 1
        return client_order_id(self.account_id, self.seq, role)

    def note_submit(self, ts: int) -> None:
        recent = self.recent_order_ts
        recent.append(ts)
        if recent[0] <= ts - RECENT_ORDER_WINDOW_MS:  # else nothing has aged out
            self.trim_recent(ts)

    def trim_recent(self, now_ms: int) -> None:
        cutoff = now_ms - RECENT_ORDER_WINDOW_MS
        while self.recent_order_ts and self.recent_order_ts[0] <= cutoff:
            self.recent_order_ts.popleft()

    def open_orders(
        self, symbol: str | None = None, roles: Collection[OrderRole] | None = None
    ) -> Iterator[Order]:
        # ``roles`` is a tuple of one or two roles on the hot paths: tested as it is.
        pending = self.pending_cancel
        for order in self.orders.values():
            if symbol is not None and order.symbol != symbol:
                continue
            if roles is not None and order.role not in roles:
                continue
            if order.client_id in pending:
                continue
            yield order

    def working(self, symbol: str, roles: Collection[OrderRole]) -> list[Order]:
        """``list(open_orders(symbol, roles))``, built without a generator: the executor and
        the brackets ask for it several times per order."""
        pending = self.pending_cancel
        found: list[Order] = []  # a loop, not a comprehension: no frame of its own per call
        for o in self.orders.values():
            if o.symbol == symbol and o.role in roles and o.client_id not in pending:
                found.append(o)
        return found

    def working_entries(self) -> int:
        pending = self.pending_cancel
        return sum(
            1
            for order in self.orders.values()
            if order.role is OrderRole.ENTRY and order.client_id not in pending
        )

    def to_snapshot(self) -> dict[str, Any]:
        snap = {
            "ledger": ledger_to_dict(self.ledger),
            "orders": [order_to_dict(o) for o in self.orders.values()],
            "brackets": {
                k: [str(b.stop_loss), str(b.take_profit), *([str(b.entry)] if b.entry else [])]
                for k, b in self.brackets.items()
            },
            "pending_cancel": sorted(self.pending_cancel),
            "seq": self.seq,
            "recent_order_ts": list(self.recent_order_ts),
            "breakers": self.breakers.to_dict(),
            "paused": self.paused,
            "pause_reason": self.pause_reason,
            "pause_restriction": (
                None if self.pause_restriction is None else self.pause_restriction.to_dict()
            ),
            "next_equity_snapshot_ts": self.next_equity_snapshot_ts,
            "blocked": dict(self.blocked),
            "guarded": sorted(self.guarded),
            "close_only": self.close_only,
            "unexplained_order": self.unexplained_order,
            "adjustments": [
                [a.symbol, str(a.qty), str(a.price), a.ts, a.cash_settled]
                for items in self.adjustments.values()
                for a in items
            ],
            "held_apart": {s: str(q) for s, q in self.held_apart.items()},
            "fill_ids": list(self._fill_ids),
        }
        # Only the brackets "guarded" and the positions do not already tell (none, mostly).
        if brackets := self.bracket_book.to_dict(self.ledger.positions):
            snap["bracket_book"] = brackets
        return snap

    def load_snapshot(self, data: dict[str, Any]) -> None:
        self.ledger = ledger_from_dict(data["ledger"])
        self.orders = {o.client_id: o for o in map(order_from_dict, data["orders"])}
        self.brackets = {
            k: Bracket(*(Decimal(x) for x in prices)) for k, prices in data["brackets"].items()
        }
        self.pending_cancel = set(data["pending_cancel"])
        self.seq = int(data["seq"])
        self.recent_order_ts = deque(int(t) for t in data["recent_order_ts"])
        self.breakers = BreakerState.from_dict(data["breakers"])
        self.paused = bool(data["paused"])
        self.pause_reason = str(data["pause_reason"])
        saved = data.get("pause_restriction")
        self.pause_restriction = Restriction.from_dict(saved) if saved else None
        self.next_equity_snapshot_ts = int(data["next_equity_snapshot_ts"])
        self.blocked = dict(data.get("blocked", {}))
        self.bracket_book.load(
            data.get("bracket_book", {}), data.get("guarded", []), self.ledger.positions
        )
        self.close_only = str(data.get("close_only", ""))
        self.unexplained_order = str(data.get("unexplained_order", ""))
        self.adjustments = {}
        for symbol, qty, price, ts, *settled in data.get("adjustments", []):
            self.add_adjustment(
                Adjustment(
                    symbol, Decimal(qty), Decimal(price), int(ts), bool(settled and settled[0])
                )
            )
        self.held_apart = {s: Decimal(q) for s, q in data.get("held_apart", {}).items()}
        self._fill_ids.clear()
        self._fill_set.clear()
        for fill_id in data.get("fill_ids", []):
            self.note_fill(fill_id)
