"""The harness's own faults, and what each must leave behind.

- **reconcile race**: during an interval reconciliation, a protective fill lands on the
  exchange between the run's poll of the venue and its comparison of an account's balances
  (the venue's balance read is wrapped and the exchange's market advanced inside it until the
  bracket executed, before or after the real read). It must be booked as the fill it is: no
  ``position_adjusted``, ``balance_adjusted`` or ``holdings_apart`` repair.
- **hand close**: while the engine is stopped, a person cancels a position's stop-loss and
  take-profit on the exchange and sells the coins with a market order through a plain ccxt
  client and the account's key, sometimes buying a few coins too. On restart the trade must
  close with exit reason ``external``, the bought coins be held apart, and no protective order
  be placed for a position the exchange no longer holds.
- **database outage**: another connection holds SQLite's write lock, so every write of the
  store is refused. Entries must halt while the store is down, and once a write lands every
  event published meanwhile must be in the store.
"""

from __future__ import annotations

import contextlib
import math
import random
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rampart.domain.events import Event, FillBooked, IntentRejected, OrderUpdated, TradeClosed
from rampart.domain.fills import Balance
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.store import models as m
from rampart.trading.engine import Engine
from rampart.trading.reconcile.books import UNSETTLED, parse_client_id
from rampart.trading.reconcile.context import ReconcileReport
from rampart_testkit.simulator import ccxt_client
from rampart_testkit.simulator.exchange import SimExchange
from rampart_testkit.simulator.runner import SimulatorHandle

EXTERNAL = "external"
STORE_UNAVAILABLE = "store_unavailable"
RACE_ACCOUNTS = 2
"""Accounts raced per reconciliation."""
RACE_MAX_CANDLES = 240
"""Market candles released inside one balance read before the race gives up on a bracket."""
RACE_FORBIDDEN = ("position_adjusted", "balance_adjusted", "holdings_apart", "report_unexplained")
"""Repairs a raced reconciliation must not make: each would mean the fill was taken for
something it is not."""
LOCK_WAIT_MS = 20
"""SQLite's busy wait in the soak (the service waits 5 s): a refused write costs little wall
time, and every refusal is still SQLite's own busy handler giving up."""
STORED = {OrderUpdated: m.order_transitions, FillBooked: m.fills, TradeClosed: m.trades}


@dataclass
class FaultChecks:
    """What the harness's own faults did and what they left behind."""

    race_runs: int = 0
    race_fills: int = 0
    """Brackets that executed on the exchange inside a reconciliation's balance read."""
    race_missed: int = 0
    """Accounts chosen for a race whose bracket did not execute in time or whose balances
    were not read in that run (an unconfirmed order defers the comparison)."""
    race_candles: int = 0
    """Market candles released inside balance reads (simulated time beyond the steps)."""
    race_repairs: Counter[str] = field(default_factory=Counter)
    race_failures: list[str] = field(default_factory=list)
    hand_closes: int = 0
    hand_external_trades: int = 0
    """Hand closes that the restart closed with a trade whose exit reason is external."""
    hand_buys: int = 0
    hand_buy_trades: int = 0
    """Exchange trades of coins bought by hand: on the exchange, never booked by Rampart."""
    hand_held_apart: int = 0
    """Hand buys found held apart, to the coin, after the restart."""
    hand_skipped: int = 0
    hand_failures: list[str] = field(default_factory=list)
    outages: int = 0
    outage_candles: int = 0
    """Candles during which entries were halted because the store was down."""
    refused_writes: int = 0
    entries_refused: int = 0
    entries_while_down: int = 0
    store_checks: int = 0
    store_checks_passed: int = 0
    store_failures: list[str] = field(default_factory=list)
    external_trades: int = 0

    @property
    def failures(self) -> list[str]:
        return [*self.race_failures, *self.hand_failures, *self.store_failures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reconcile_race": {
                "runs": self.race_runs,
                "fills_inside_balance_read": self.race_fills,
                "missed": self.race_missed,
                "extra_candles": self.race_candles,
                "repairs": dict(self.race_repairs),
                "failures": self.race_failures[:10],
            },
            "hand_close": {
                "closes": self.hand_closes,
                "external_trades": self.hand_external_trades,
                "buys": self.hand_buys,
                "buy_trades": self.hand_buy_trades,
                "held_apart": self.hand_held_apart,
                "skipped_no_position": self.hand_skipped,
                "failures": self.hand_failures[:10],
            },
            "db_outage": {
                "outages": self.outages,
                "candles_store_down": self.outage_candles,
                "writes_refused": self.refused_writes,
                "entries_refused": self.entries_refused,
                "entries_sent_while_down": self.entries_while_down,
                "store_checks": self.store_checks,
                "store_checks_passed": self.store_checks_passed,
                "failures": self.store_failures[:10],
            },
            "external_trades": self.external_trades,
        }


def _protective_open(exchange: SimExchange, account_id: str, symbol: str) -> bool:
    for order in exchange.sub(account_id).open.values():
        parsed = parse_client_id(account_id, order.client_id)
        if order.symbol == symbol and parsed is not None and parsed[1].protective:
            return True
    return False


# -- reconcile race ------------------------------------------------------------------------


class ReconcileRace:
    """Wraps ``venue.fetch_balances`` for one reconciliation: for each chosen account, the
    first balance read releases market candles until its bracket on ``symbol`` executed,
    before the real read or after it."""

    def __init__(self, exchange: SimExchange, targets: dict[str, tuple[str, bool]]) -> None:
        self.exchange = exchange
        self.targets = targets
        """account → (symbol, execute after the read)."""
        self.read: set[str] = set()
        self.fills = 0
        self.candles = 0

    @classmethod
    def pick(
        cls, engine: Engine, exchange: SimExchange, rng: random.Random
    ) -> ReconcileRace | None:
        """Accounts with a position whose bracket rests on the exchange and nothing
        unconfirmed (an unconfirmed order defers the balance comparison, so no race)."""
        found: list[tuple[str, str]] = []
        for account_id, acct in engine.accounts.items():
            if any(o.status in UNSETTLED for o in acct.orders.values()):
                continue
            found.extend(
                (account_id, symbol)
                for symbol in acct.ledger.positions
                if _protective_open(exchange, account_id, symbol)
            )
        if not found:
            return None
        rng.shuffle(found)
        targets: dict[str, tuple[str, bool]] = {}
        for account_id, symbol in found:
            if account_id not in targets and len(targets) < RACE_ACCOUNTS:
                targets[account_id] = (symbol, rng.random() < 0.5)
        return cls(exchange, targets)

    def arm(self, venue: Any) -> None:
        real: Callable[[str], Awaitable[dict[str, Balance]]] = venue.fetch_balances

        async def fetch_balances(account_id: str) -> dict[str, Balance]:
            target = self.targets.get(account_id)
            if target is None or account_id in self.read:
                return await real(account_id)
            self.read.add(account_id)
            symbol, after = target
            if not after:
                self._execute(account_id, symbol)
            balances = await real(account_id)
            if after:
                self._execute(account_id, symbol)
            return balances

        venue.fetch_balances = fetch_balances

    @staticmethod
    def disarm(venue: Any) -> None:
        with contextlib.suppress(AttributeError):
            del venue.fetch_balances  # the class's method again

    def _execute(self, account_id: str, symbol: str) -> None:
        for _ in range(RACE_MAX_CANDLES):
            if not _protective_open(self.exchange, account_id, symbol):
                self.fills += 1
                return
            self.candles += self.exchange.advance(1)

    def judge(self, report: ReconcileReport | None, checks: FaultChecks) -> None:
        checks.race_runs += 1
        checks.race_fills += self.fills
        checks.race_missed += len(self.targets) - self.fills
        checks.race_candles += self.candles
        if report is None:
            checks.race_failures.append("a raced reconciliation failed")
            return
        checks.race_repairs.update(report.repairs)
        bad = {k: report.repairs[k] for k in RACE_FORBIDDEN if report.repairs[k]}
        if bad and self.fills:
            checks.race_failures.append(
                f"a protective fill inside a balance read ({', '.join(self.targets)}) was "
                f"repaired as {bad}"
            )


# -- hand close ----------------------------------------------------------------------------


@dataclass
class HandClose:
    account_id: str
    symbol: str
    sold: Decimal
    bought: Decimal = ZERO
    bought_trades: set[int] = field(default_factory=set)


def _hand_candidates(engine: Engine, exchange: SimExchange) -> list[tuple[str, str]]:
    """What a person sees on the exchange: coins held under a resting bracket of Rampart's,
    with no other order of Rampart's working on that market (an entry or exit in flight would
    reopen or move the position under the person's hands)."""
    out: list[tuple[str, str]] = []
    for account_id, acct in engine.accounts.items():
        sub = exchange.sub(account_id)
        for symbol in acct.spec.symbols:
            roles = [
                parsed[1]
                for o in sub.open.values()
                if o.symbol == symbol and (parsed := parse_client_id(account_id, o.client_id))
            ]
            base = engine.venue.instrument(symbol).base
            protective = roles and all(r.protective for r in roles)
            if protective and sub.totals.get(base, ZERO) > ZERO:
                out.append((account_id, symbol))
    return out


async def close_by_hand(
    sim: SimulatorHandle, engine: Engine, rng: random.Random, serial: int
) -> HandClose | None:
    """A person closes one position on the exchange: cancels its protective orders, sells
    every coin of it with a market order (what "sell all" in an exchange's app does), and
    sometimes buys a few coins back. Through ccxt with the account's own key."""
    found = _hand_candidates(engine, sim.exchange)
    if not found:
        return None
    account_id, symbol = rng.choice(found)
    api = next(a for a in sim.exchange.keys.values() if a.account_id == account_id)
    inst = engine.venue.instrument(symbol)
    client = ccxt_client(sim.url, api.key, api.secret, enableRateLimit=False, timeout=5000)
    try:
        await client.load_markets()
        for _ in range(4):
            sells = [o for o in await client.fetch_open_orders(symbol) if o["side"] == "sell"]
            if not sells:
                break
            await client.cancel_order(sells[0]["id"], symbol)  # an OCO leg takes its partner
        balance = await client.fetch_balance()
        sold = inst.floor_qty(Decimal(str(balance.get(inst.base, {}).get("free") or 0)))
        if sold < inst.min_qty:
            return None
        await client.create_order(
            symbol, "market", "sell", float(sold), None, {"clientOrderId": f"hand-s-{serial}"}
        )
        close = HandClose(account_id, symbol, sold)
        if rng.random() < 0.5:
            price = sim.exchange.last_price(symbol)
            lot = inst.lot_size
            least = max(inst.min_qty, lot * math.ceil(inst.min_notional * 2 / price / lot))
            qty = least * rng.randint(1, 3)
            before = {t.trade_id for t in sim.exchange.trades[account_id]}
            await client.create_order(
                symbol, "market", "buy", float(qty), None, {"clientOrderId": f"hand-b-{serial}"}
            )
            new = [t for t in sim.exchange.trades[account_id] if t.trade_id not in before]
            # What the account got: a buy's commission may come out of the coins received.
            close.bought = sum(
                (t.qty - (t.commission if t.commission_asset == inst.base else ZERO) for t in new),
                ZERO,
            )
            close.bought_trades = {t.trade_id for t in new}
        return close
    finally:
        await client.close()


def judge_hand_close(
    close: HandClose, engine: Engine, exchange: SimExchange, watch: FaultWatch, checks: FaultChecks
) -> None:
    """After the restart's reconciliation: an external trade, nothing left in the books, the
    bought coins held apart, no protective order for coins the exchange no longer holds."""
    checks.hand_closes += 1
    where = f"{close.account_id} {close.symbol}"
    key = (close.account_id, close.symbol)
    if any((t.account_id, t.symbol) == key for t in watch.external):
        checks.hand_external_trades += 1
    else:
        checks.hand_failures.append(f"{where}: sold by hand, no external trade closed")
    acct = engine.accounts[close.account_id]
    if close.symbol in acct.ledger.positions:
        checks.hand_failures.append(f"{where}: sold by hand, still a position in the books")
    held = acct.held_apart.get(close.symbol, ZERO)
    if close.bought:
        checks.hand_buys += 1
        if held == close.bought:
            checks.hand_held_apart += 1
        else:
            checks.hand_failures.append(
                f"{where}: {close.bought} bought by hand, {held} held apart"
            )
    elif held:
        checks.hand_failures.append(f"{where}: nothing bought by hand, {held} held apart")
    if key in watch.protected or _protective_open(exchange, *key):
        checks.hand_failures.append(f"{where}: a protective order for coins sold by hand")


# -- database outage -----------------------------------------------------------------------


class StoreOutage:
    """Another connection holds SQLite's write lock (``BEGIN EXCLUSIVE``): every write of the
    store is refused with "database is locked" until it lets go; reads still work (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def start(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        self._conn = conn

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


def shorten_lock_wait(db: sa.Engine) -> None:
    def short(dbapi: Any, _record: Any) -> None:
        dbapi.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")

    sa.event.listen(db, "connect", short)
    db.dispose()  # connections opened before (migrations) wait the service's 5 s


def stored_counts(db: sa.Engine) -> Counter[str]:
    counts: Counter[str] = Counter()
    with db.connect() as conn:
        for table in STORED.values():
            counts[table.name] = conn.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
    return counts


# -- watching the bus ----------------------------------------------------------------------


def _in_place(event: Event) -> bool:
    """An order update that is no transition (one more part filled, or re-sized in place): the
    store keeps it in the order's row, not as a row of ``order_transitions``."""
    if not isinstance(event, OrderUpdated):
        return False
    return event.previous is event.order.status and event.previous is not OrderStatus.NEW


class FaultWatch:
    """Bus subscriber: events the store must hold (by table, restored with the checkpoint on a
    restart, as the store is), entries registered while the store is down, external trades,
    and protective orders registered for markets sold by hand."""

    def __init__(self, checks: FaultChecks, store_down: Callable[[], bool]) -> None:
        self.checks = checks
        self.store_down = store_down
        self.published: Counter[str] = Counter()
        self.external: list[Any] = []
        self.watching: set[tuple[str, str]] = set()
        self.protected: set[tuple[str, str]] = set()

    def __call__(self, event: Event) -> None:
        table = STORED.get(type(event))
        if table is not None and not _in_place(event):
            self.published[table.name] += 1
        if isinstance(event, TradeClosed) and event.trade.exit_reason == EXTERNAL:
            self.checks.external_trades += 1
            if self.watching:
                self.external.append(event.trade)
        elif isinstance(event, IntentRejected) and event.code == STORE_UNAVAILABLE:
            self.checks.entries_refused += 1
        elif isinstance(event, OrderUpdated) and event.previous is OrderStatus.NEW:
            order = event.order
            # NEW → NEW is the executor registering an order it is about to send.
            entry = order.status is OrderStatus.NEW and order.role is OrderRole.ENTRY
            if entry and self.store_down():
                self.checks.entries_while_down += 1
                self.checks.store_failures.append(
                    f"{order.account_id}: entry {order.client_id} sent while the store was down"
                )

    def watch_sends(self, venue: Any, keys: set[tuple[str, str]]) -> None:
        """Record protective orders ``venue`` sends for ``keys`` (account, symbol) until
        :meth:`unwatch`: the markets sold by hand, during the restart's reconciliation."""
        self.watching, self.protected, self.external = keys, set(), []
        submit, submit_oco = venue.submit, venue.submit_oco

        def note(order: Order) -> None:
            key = (order.account_id, order.symbol)
            if order.role.protective and key in self.watching:
                self.protected.add(key)

        async def sending(order: Order) -> None:
            note(order)
            await submit(order)

        async def sending_oco(stop: Order, take: Order) -> None:
            note(stop)
            await submit_oco(stop, take)

        venue.submit, venue.submit_oco = sending, sending_oco

    def unwatch(self, venue: Any) -> None:
        self.watching = set()
        for name in ("submit", "submit_oco"):
            with contextlib.suppress(AttributeError):
                delattr(venue, name)

    def verify_store(self, db: sa.Engine, when: str) -> None:
        """Every event published (and not lost with a crash) is a row in the store."""
        self.checks.store_checks += 1
        stored = stored_counts(db)
        differ = {
            t.name: (stored[t.name], self.published[t.name])
            for t in STORED.values()
            if stored[t.name] != self.published[t.name]
        }
        if differ:
            self.checks.store_failures.append(
                f"{when}: rows stored against events published differ: {differ}"
            )
        else:
            self.checks.store_checks_passed += 1
