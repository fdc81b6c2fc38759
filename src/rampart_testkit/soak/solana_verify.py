"""Checks of the Solana soak against the stand-in's own chain (not through the venue):

- every swap that landed cleanly is exactly one booked fill (fill id ``client:signature``), no
  failed or never-landed swap is booked, and no client order id has two clean swaps;
- every position has its stop-loss and take-profit levels held by the position monitor, and
  the monitor sends an exit when a price crosses one; coins on chain no position accounts
  for are unprotected;
- the books equal the chain's token balances (to the token's base unit).

Swaps are verified and then forgotten (by the chain, the journal and these checks) once no
restart can need them again, so the run's memory stays flat however long it lasts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.domain.events import Event, FillBooked, OrderUpdated, TradeClosed
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, OrderStatus, OrderType
from rampart.trading.engine import Engine
from rampart_testkit.soak.solana_build import SoakJournal
from rampart_testkit.solana_sim import SolanaSimHandle

SETTLED_SLOTS = 40
"""Slots after landing past which a swap's outcome is final (finalized at 32)."""
EXTERNAL = "external"


class FillLedger:
    """Bus subscriber: booked fills by signature, orders registered, external closes and exit
    orders registered (a copy is taken at each checkpoint; a restart goes back to it)."""

    def __init__(self) -> None:
        self.booked: Counter[str] = Counter()
        self.fills_booked = 0
        self.orders_registered = 0
        self.adjustments = 0
        """Fills reconciliation made up for tokens no swap moved (a manual transfer)."""
        self.external: list[tuple[str, str]] = []
        self.exits: set[tuple[str, str]] = set()

    def copy(self) -> FillLedger:
        out = FillLedger()
        out.booked = Counter(self.booked)
        out.fills_booked, out.orders_registered = self.fills_booked, self.orders_registered
        out.adjustments = self.adjustments
        return out

    def restore(self, saved: FillLedger) -> None:
        copy = saved.copy()
        self.booked, self.fills_booked = copy.booked, copy.fills_booked
        self.orders_registered, self.adjustments = copy.orders_registered, copy.adjustments

    def __call__(self, event: Event) -> None:
        if isinstance(event, FillBooked):
            fill = event.fill
            self.fills_booked += 1
            if not fill.client_id and fill.fill_id.startswith("adj-"):
                self.adjustments += 1
            else:
                self.booked[fill.fill_id.rsplit(":", 1)[-1]] += 1
        elif isinstance(event, OrderUpdated):
            order = event.order
            if event.previous is OrderStatus.NEW and order.status is OrderStatus.NEW:
                self.orders_registered += 1
                if order.role is OrderRole.EXIT:
                    self.exits.add((order.account_id, order.symbol))
        elif isinstance(event, TradeClosed) and event.trade.exit_reason == EXTERNAL:
            self.external.append((event.trade.account_id, event.trade.symbol))


@dataclass
class SwapAccounting:
    swaps_landed: int = 0
    swaps_failed: int = 0
    swaps_never_landed: int = 0
    clients: int = 0
    lost_fills: int = 0
    duplicated_fills: int = 0
    duplicated_orders: int = 0
    phantom_fills: int = 0
    unresolved_orders: int = 0
    details: list[str] = field(default_factory=list)
    landing_slots: Counter[int] = field(default_factory=Counter)
    """Slots from a swap's first send to its landing → how many landed after that many (a
    dropped one lands from a rebroadcast, later than one sent once)."""

    def landing(self, slot_ms: int) -> dict[str, Any]:
        """Percentiles of the slots to land, and the same in ms at ``slot_ms`` a slot."""
        ordered = sorted(self.landing_slots.elements())
        if not ordered:
            return {"n": 0}

        def at(q: float) -> int:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        slots = {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1]}
        return {
            "n": len(ordered),
            "slots": slots,
            f"ms_at_{slot_ms}ms_slots": {k: v * slot_ms for k, v in slots.items()},
        }

    @property
    def lost(self) -> int:
        return self.lost_fills + self.unresolved_orders

    @property
    def duplicated(self) -> int:
        return self.duplicated_fills + self.duplicated_orders + self.phantom_fills

    def note(self, text: str) -> None:
        if len(self.details) < 20:
            self.details.append(text)


def harvest(
    sim: SolanaSimHandle,
    journal: SoakJournal,
    book: FillLedger,
    engine: Engine | None,
    acc: SwapAccounting,
    final: bool = False,
) -> int:
    """Verify every client order whose swaps are all final, then forget it; returns how many.
    ``engine``: its open orders are not final yet (None at the very end)."""
    chain = sim.chain
    open_ids = set()
    if engine is not None:
        open_ids = {c for a in engine.accounts.values() for c in a.orders}
    done = 0
    for client_id, recs in journal.clients().items():
        if client_id in open_ids or (any(r.status == "sent" for r in recs) and not final):
            continue
        txs = [chain.txs.get(r.signature) for r in recs]
        if not final and any(
            tx is not None
            and not tx.gone
            and (tx.landed_slot is None or chain.slot - tx.landed_slot < SETTLED_SLOTS)
            for tx in txs
        ):
            continue
        _judge(client_id, recs, txs, book, acc)
        for rec, tx in zip(recs, txs, strict=True):
            book.booked.pop(rec.signature, None)
            if tx is not None:
                chain.txs.pop(rec.signature, None)
                chain.tickets.pop(tx.ticket.id, None)
        journal.forget(client_id)
        done += 1
    return done


def _judge(client_id: str, recs: list, txs: list, book: FillLedger, acc: SwapAccounting) -> None:
    acc.clients += 1
    clean = 0
    for rec, tx in zip(recs, txs, strict=True):
        sig = rec.signature
        booked = book.booked.get(sig, 0)
        landed = tx is not None and tx.landed_slot is not None
        if landed and tx.err is None:
            clean += 1
            acc.swaps_landed += 1
            acc.landing_slots[tx.landed_slot - tx.sent_slot] += 1
            if booked == 0:
                acc.lost_fills += 1
                acc.note(f"{rec.account_id}: swap {sig[:12]}… of {client_id} landed, not booked")
            elif booked > 1:
                acc.duplicated_fills += booked - 1
                acc.note(f"{rec.account_id}: swap {sig[:12]}… of {client_id} booked {booked}×")
            continue
        if landed:
            acc.swaps_failed += 1
        else:
            acc.swaps_never_landed += 1
        if booked:
            acc.phantom_fills += booked
            acc.note(f"{rec.account_id}: swap {sig[:12]}… of {client_id} booked, not landed")
    if clean > 1:
        acc.duplicated_orders += clean - 1
        acc.note(f"{client_id}: {clean} clean swaps for one client order id")


def leftover(book: FillLedger, acc: SwapAccounting) -> None:
    """At the end: fills booked for signatures no swap of the journal had."""
    for sig, n in book.booked.items():
        acc.phantom_fills += n
        acc.note(f"a fill booked for signature {sig[:12]}… that no journaled swap has")


def _units(sim: SolanaSimHandle, wallet: str, symbol: str, decimals: int) -> Decimal:
    return Decimal(sim.balance(wallet, sim.mint(symbol))).scaleb(-decimals)


def _decimals(step: Decimal) -> int:
    return -int(step.as_tuple().exponent)


def books_differences(engine: Engine, sim: SolanaSimHandle, wallets: dict[str, str]) -> list[str]:
    """The books against the chain's balances, to each token's base unit; plus swaps the
    books still hold open (a quiet spell settles them all)."""
    out: list[str] = []
    for account_id, acct in engine.accounts.items():
        wallet = wallets[account_id]
        for symbol in acct.spec.symbols:
            inst = engine.venue.instrument(symbol)
            qd = _decimals(inst.tick_size)
            cash = _units(sim, wallet, acct.spec.quote, qd)
            if abs(acct.ledger.cash - cash) >= Decimal(1).scaleb(-qd):
                out.append(f"{account_id}: cash {acct.ledger.cash} in the books, {cash} on chain")
            bd = _decimals(inst.lot_size)
            held = _units(sim, wallet, inst.base, bd)
            pos = acct.ledger.positions.get(symbol)
            have = (pos.qty if pos else ZERO) + acct.held_apart.get(symbol, ZERO)
            if have != held:
                out.append(f"{account_id}: {symbol} {have} in the books, {held} on chain")
        for order in acct.orders.values():
            if order.type is OrderType.MARKET and order.is_open:
                out.append(f"{account_id}: swap {order.client_id} still open in the books")
    return list(dict.fromkeys(out))


@dataclass
class MonitorCheck:
    """Every position: stop-loss and take-profit levels the monitor holds (and, when no market
    exit is working, the held pair); coins the chain holds that no position accounts for are
    unprotected, as is a crossed level with no exit sent."""

    checks: int = 0
    held_pair: int = 0
    exiting: int = 0
    pending: int = 0
    dust: int = 0
    unprotected: int = 0
    crossed: int = 0
    """Prices that crossed a level of a position: each must send an exit."""
    samples: list[str] = field(default_factory=list)

    def _bad(self, text: str) -> None:
        self.unprotected += 1
        if len(self.samples) < 10:
            self.samples.append(text)

    def check(self, engine: Engine, sim: SolanaSimHandle, wallets: dict[str, str]) -> None:
        for account_id, acct in engine.accounts.items():
            for symbol in acct.spec.symbols:
                inst = engine.venue.instrument(symbol)
                held = _units(sim, wallets[account_id], inst.base, _decimals(inst.lot_size))
                held -= acct.held_apart.get(symbol, ZERO)
                pos = acct.ledger.positions.get(symbol)
                if held <= ZERO and pos is None:
                    continue
                self.checks += 1
                swaps = [
                    o
                    for o in acct.orders.values()
                    if o.symbol == symbol and o.type is OrderType.MARKET and o.is_open
                ]
                booked = pos.qty if pos else ZERO
                if pos is not None and not ZERO < pos.stop_loss < pos.take_profit:
                    self._bad(f"{account_id} {symbol}: levels {pos.stop_loss}/{pos.take_profit}")
                elif swaps:
                    self.exiting += 1  # an entry or exit in flight: settled on a later step
                elif held > booked:
                    if held - booked < inst.min_qty:
                        self.dust += 1
                    else:
                        self._bad(f"{account_id} {symbol}: chain {held}, books {booked}")
                elif pos is not None and engine.executor.is_protected(acct, pos):
                    self.held_pair += 1
                elif pos is not None and engine.executor.is_dust(pos):
                    self.dust += 1
                else:
                    self.pending += 1  # the monitor holds the levels; the pair is re-placed

    def crossing(self, engine: Engine, symbol: str, price: Decimal, book: FillLedger) -> None:
        """After a price update: every position whose level it crossed had an exit sent
        during it (``book.exits`` is emptied before each update) or has one working."""
        for account_id, acct in engine.accounts.items():
            pos = acct.ledger.positions.get(symbol)
            if pos is None or not (price <= pos.stop_loss or price >= pos.take_profit):
                continue
            if engine.executor.is_dust(pos):
                continue
            self.crossed += 1
            key = (account_id, symbol)
            sent = key in book.exits
            working = any(
                o.symbol == symbol and o.role is OrderRole.EXIT and o.is_open
                for o in acct.orders.values()
            )
            if not sent and not working:
                self._bad(f"{account_id} {symbol}: {price} crossed a level, no exit sent")
