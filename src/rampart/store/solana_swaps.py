"""The Solana swap journal in the database (``solana_swaps``), and the day's swap figures the
reports read from it.

:class:`StoreSwapJournal` implements :class:`rampart.venues.solana.journal.SwapJournal`. The
venue awaits :meth:`StoreSwapJournal.record` before it sends a transaction, so each record is
committed in its own transaction before the call returns: a crash right after the send still
leaves the signature in the table for the restart to follow up.

Figures (:func:`swap_totals`), over the attempts made in ``[start, end)`` (by attempt time):

- attempts by route and status (``sent``, ``filled``, ``failed``, ``expired``, ``refused``);
  swaps = distinct client order ids;
- route share = filled attempts of a route / filled attempts; the ratio of two routes = filled
  through the first / filled through the second (None without a fill through the second);
- volume = the quote leg of filled swaps (quote spent by buys, received by sells), per quote;
- platform fees per asset they were taken in (bags.fm's fee mint is SOL when either leg is SOL,
  else a stablecoin leg, else the input), with that asset's mint;
- the route preference's cost: quote tokens given up against the best-priced route, per quote,
  and the filled swaps that took a route other than the best;
- network fees = Σ ``fee_lamports`` over every attempt (a failed one paid its fee too; a
  refused one, which never reached a block, records none);
- realised slippage of a fill, in bps against its quote: the price paid (input per unit of
  output) over the quoted one, minus one; positive = worse than quoted.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.domain.swaps import FILLED, SENT, STATUSES, SwapRecord
from rampart.store.dialects import SUPPORTED, dialect_insert
from rampart.store.errors import translating
from rampart.store.models.solana import solana_swaps

ZERO = Decimal(0)
LAMPORTS_PER_SOL = Decimal(10**9)
DAY_MS = 86_400_000
_FIELDS = tuple(f.name for f in dataclasses.fields(SwapRecord))
_KEY = ("client_id", "attempt")


class StoreSwapJournal:
    """The swap journal on a SQLAlchemy engine (SQLite or PostgreSQL); blocking database work
    runs in a worker thread so the event loop keeps serving while a write commits."""

    def __init__(self, engine: sa.Engine) -> None:
        self._db = engine

    async def record(self, rec: SwapRecord) -> None:
        """Insert, or replace the row with the same (client_id, attempt); committed on return."""
        if rec.status not in STATUSES:
            raise ValueError(f"unknown swap status {rec.status!r}")
        await asyncio.to_thread(self._record, _row(rec))

    async def pending(self) -> list[SwapRecord]:
        query = sa.select(solana_swaps).where(solana_swaps.c.status == SENT)
        return await asyncio.to_thread(self._read, _oldest_first(query))

    async def for_client(self, client_id: str) -> list[SwapRecord]:
        query = (
            sa.select(solana_swaps)
            .where(solana_swaps.c.client_id == client_id)
            .order_by(solana_swaps.c.attempt)
        )
        return await asyncio.to_thread(self._read, query)

    async def since(self, ts_ms: int) -> list[SwapRecord]:
        query = sa.select(solana_swaps).where(solana_swaps.c.ts >= ts_ms)
        return await asyncio.to_thread(self._read, _oldest_first(query))

    def _record(self, row: dict[str, Any]) -> None:
        upsert = _upsert(self._db.dialect.name, row)
        with translating("Saving a Solana swap failed"), self._db.begin() as conn:
            if upsert is not None:
                conn.execute(upsert)
                return
            # Another backend: replace by hand, inside one transaction.
            key = sa.and_(*(solana_swaps.c[k] == row[k] for k in _KEY))
            conn.execute(solana_swaps.delete().where(key))
            conn.execute(solana_swaps.insert().values(**row))

    def _read(self, query: sa.Select[Any]) -> list[SwapRecord]:
        with translating("Reading Solana swaps failed"), self._db.connect() as conn:
            return [_record(r) for r in conn.execute(query).mappings()]


def _upsert(dialect: str, row: dict[str, Any]) -> sa.Executable | None:
    """INSERT … ON CONFLICT (client_id, attempt) DO UPDATE, where the backend has it."""
    if dialect not in SUPPORTED:
        return None
    stmt = dialect_insert(dialect)(solana_swaps).values(**row)
    return stmt.on_conflict_do_update(index_elements=list(_KEY), set_=_changes(stmt.excluded))


def _changes(excluded: Any) -> dict[str, Any]:
    return {k: excluded[k] for k in _FIELDS if k not in _KEY}


def _oldest_first(query: sa.Select[Any]) -> sa.Select[Any]:
    c = solana_swaps.c
    return query.order_by(c.ts, c.client_id, c.attempt)


def _row(rec: SwapRecord) -> dict[str, Any]:
    return {name: getattr(rec, name) for name in _FIELDS}


def _record(row: Any) -> SwapRecord:
    values = {name: row[name] for name in _FIELDS}
    values["attempt"] = int(values["attempt"])
    values["last_valid_height"] = int(values["last_valid_height"])
    values["fee_lamports"] = int(values["fee_lamports"])
    return SwapRecord(**values)


# -- report figures --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slippage:
    """Realised slippage of a route's fills against their quotes, in bps."""

    fills: int
    mean_bps: float
    worst_bps: float


@dataclass(frozen=True, slots=True)
class SwapTotals:
    start: int
    end: int
    swaps: int = 0
    """Distinct client order ids with an attempt in the window."""
    attempts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Route → status → attempts."""
    volume: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    """Route → quote currency → quote leg of the filled swaps."""
    platform_fees: dict[str, Decimal] = field(default_factory=dict)
    """Asset → platform fees paid in it."""
    fee_mints: dict[str, str] = field(default_factory=dict)
    """Asset → its mint, for the assets fees were paid in."""
    route_cost: dict[str, Decimal] = field(default_factory=dict)
    """Quote currency → what the route preference gave up against the best route."""
    not_best: int = 0
    """Filled swaps that took another route than the best-priced one (a preference)."""
    fee_lamports: int = 0
    slippage: dict[str, Slippage] = field(default_factory=dict)

    @property
    def filled(self) -> dict[str, int]:
        """Route → filled attempts (one per filled swap)."""
        return {r: n.get(FILLED, 0) for r, n in self.attempts.items()}

    @property
    def route_share(self) -> dict[str, float]:
        filled = self.filled
        total = sum(filled.values())
        return {r: n / total for r, n in filled.items()} if total else {}

    def ratio(self, first: str, second: str) -> float | None:
        """Filled through route ``first`` per fill through ``second``; None without a fill
        through ``second``."""
        filled = self.filled
        other = filled.get(second, 0)
        return filled.get(first, 0) / other if other else None

    @property
    def network_fees_sol(self) -> Decimal:
        return Decimal(self.fee_lamports) / LAMPORTS_PER_SOL

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (money as strings), as stored with a report's figures."""
        return {
            "start": self.start,
            "end": self.end,
            "swaps": self.swaps,
            "attempts": {r: dict(s) for r, s in self.attempts.items()},
            "filled": self.filled,
            "route_share": self.route_share,
            "volume": {r: {q: str(v) for q, v in vs.items()} for r, vs in self.volume.items()},
            "platform_fees": {a: str(v) for a, v in self.platform_fees.items()},
            "fee_mints": dict(self.fee_mints),
            "route_cost": {q: str(v) for q, v in self.route_cost.items()},
            "not_best": self.not_best,
            "fee_lamports": self.fee_lamports,
            "network_fees_sol": str(self.network_fees_sol),
            "slippage": {r: dataclasses.asdict(s) for r, s in self.slippage.items()},
        }


def quote_currency(symbol: str) -> str:
    return symbol.split("/")[-1].upper()


def fee_asset(rec: SwapRecord) -> tuple[str, str]:
    """(asset, mint) the platform fee of ``rec`` was taken in: one of its two legs."""
    base, quote = (a.upper() for a in rec.symbol.split("/", 1))
    buy = rec.side.lower() == "buy"
    quote_mint, base_mint = (rec.in_mint, rec.out_mint) if buy else (rec.out_mint, rec.in_mint)
    mint = rec.platform_fee_mint or quote_mint
    return (base if mint == base_mint else quote), mint


def realised_slippage_bps(rec: SwapRecord) -> float | None:
    """How much worse than quoted a fill's price was, in bps (negative: better); None when an
    amount is missing."""
    if min(rec.quoted_in, rec.quoted_out, rec.filled_in, rec.filled_out) <= ZERO:
        return None
    quoted = rec.quoted_in / rec.quoted_out
    paid = rec.filled_in / rec.filled_out
    return float((paid / quoted - 1) * 10_000)


def swaps_between(engine: sa.Engine, start: int, end: int) -> list[SwapRecord]:
    """Attempts made with ``start <= ts < end``, oldest first."""
    c = solana_swaps.c
    query = _oldest_first(sa.select(solana_swaps).where(c.ts >= start, c.ts < end))
    with translating("Reading Solana swaps failed"), engine.connect() as conn:
        return [_record(r) for r in conn.execute(query).mappings()]


def totals_of(records: list[SwapRecord], start: int, end: int) -> SwapTotals:
    """The figures of ``records`` (money summed in Python: SQLite keeps it as text)."""
    attempts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    volume: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    platform: dict[str, Decimal] = defaultdict(lambda: ZERO)
    cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    mints: dict[str, str] = {}
    slips: dict[str, list[float]] = defaultdict(list)
    lamports = not_best = 0
    for rec in records:
        attempts[rec.route][rec.status] += 1
        lamports += rec.fee_lamports
        quote = quote_currency(rec.symbol)
        if rec.status != FILLED:
            continue
        buy = rec.side.lower() == "buy"
        volume[rec.route][quote] += rec.filled_in if buy else rec.filled_out
        if rec.platform_fee:
            asset, mint = fee_asset(rec)
            platform[asset] += rec.platform_fee
            mints.setdefault(asset, mint)
        if rec.best_route and rec.best_route != rec.route:
            not_best += 1
            cost[quote] += rec.route_cost
        bps = realised_slippage_bps(rec)
        if bps is not None:
            slips[rec.route].append(bps)
    return SwapTotals(
        start=start,
        end=end,
        swaps=len({r.client_id for r in records}),
        attempts={r: dict(sorted(s.items())) for r, s in sorted(attempts.items())},
        volume={r: dict(sorted(v.items())) for r, v in sorted(volume.items())},
        platform_fees=dict(sorted(platform.items())),
        fee_mints=dict(sorted(mints.items())),
        route_cost=dict(sorted(cost.items())),
        not_best=not_best,
        fee_lamports=lamports,
        slippage={
            r: Slippage(len(v), sum(v) / len(v), max(v)) for r, v in sorted(slips.items()) if v
        },
    )


def swap_totals(engine: sa.Engine, start: int, end: int) -> SwapTotals | None:
    """The swap figures of ``[start, end)``; None when no swap was attempted in it."""
    records = swaps_between(engine, start, end)
    return totals_of(records, start, end) if records else None


def daily_totals(engine: sa.Engine, start: int, end: int) -> list[SwapTotals]:
    """One :class:`SwapTotals` per day (``DAY_MS`` from ``start``) that had swaps."""
    records = swaps_between(engine, start, end)
    days: dict[int, list[SwapRecord]] = defaultdict(list)
    for rec in records:
        days[start + (rec.ts - start) // DAY_MS * DAY_MS].append(rec)
    return [totals_of(rows, day, min(day + DAY_MS, end)) for day, rows in sorted(days.items())]


__all__ = [
    "Slippage",
    "StoreSwapJournal",
    "SwapTotals",
    "daily_totals",
    "realised_slippage_bps",
    "swap_totals",
    "swaps_between",
    "totals_of",
]
