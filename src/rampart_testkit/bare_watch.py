"""How long coins sat on the exchange without a resting stop, read from the exchange's side.

A harness feeds :class:`BareWatch` the simulator's state (``SimExchange.state()``) at a steady
pace. For each account and symbol the coins held above the account's first sample are
compared with the quantity still open on its resting sell stops (a plain stop or an OCO pair's
stop leg) and on its working market sells (coins already being sold: the simulator fills a
market order over several candles' volume where an exchange's book fills it at once, and
Rampart's own reading counts them the same way); coins whose value is under ``dust`` (what no
exchange filter lets a stop hold) do not count.

A spell starts at the first sample that finds coins uncovered and ends at the first that finds
them covered; it is charged to the fault the harness names for that sample
(:class:`FaultWindows`), so a run prints, per fault, the longest time any coin was bare."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

COVERING_TYPES = frozenset({"stop_market", "stop_limit", "market"})
"""Sell orders that cover coins: stops, and market sells already selling them."""
NO_FAULT = "no fault"


@dataclass(frozen=True)
class BareSpell:
    seconds: float
    account: str
    symbol: str
    fault: str
    uncovered: Decimal
    """The largest quantity seen without a stop during the spell."""
    open_at_end: bool = False
    gap: float = 0.0
    """The longest time between two samples around the spell: how finely it was measured."""
    started: float = 0.0
    """The time of the first sample that found the coins bare."""


@dataclass
class _Open:
    since: float
    fault: str
    uncovered: Decimal
    gap: float


@dataclass
class BareWatch:
    dust: Decimal = Decimal(10)
    """A quote value under which uncovered coins do not count (below the exchange minimum)."""
    baseline: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    spells: list[BareSpell] = field(default_factory=list)
    _open: dict[tuple[str, str], _Open] = field(default_factory=dict)
    last_t: float | None = None

    def sample(self, t: float, state: Mapping[str, Any], fault: str = NO_FAULT) -> None:
        """One look at the exchange at time ``t`` (seconds), charged to ``fault``."""
        gap = 0.0 if self.last_t is None else t - self.last_t
        self.last_t = t
        prices = {str(s): Decimal(str(p)) for s, p in state.get("prices", {}).items()}
        for account, book in state.get("accounts", {}).items():
            for symbol, price in prices.items():
                key = (str(account), symbol)
                held = _held(book, symbol.split("/")[0])
                start = self.baseline.setdefault(key, held)
                bare = held - start - _stopped(book, symbol)
                if bare * price >= self.dust:
                    spell = self._open.setdefault(key, _Open(t, fault, bare, gap))
                    spell.uncovered = max(spell.uncovered, bare)
                    spell.gap = max(spell.gap, gap)
                elif key in self._open:
                    self._open[key].gap = max(self._open[key].gap, gap)
                    self._close(key, t, open_at_end=False)

    def finish(self) -> None:
        """Spells still open at the last sample end there, marked as such."""
        for key in list(self._open):
            self._close(key, self.last_t or 0.0, open_at_end=True)

    def _close(self, key: tuple[str, str], t: float, *, open_at_end: bool) -> None:
        spell = self._open.pop(key)
        self.spells.append(
            BareSpell(
                t - spell.since,
                key[0],
                key[1],
                spell.fault,
                spell.uncovered,
                open_at_end,
                spell.gap,
                spell.since,
            )
        )

    def longest_by_fault(self) -> dict[str, BareSpell]:
        out: dict[str, BareSpell] = {}
        for spell in self.spells:
            best = out.get(spell.fault)
            if best is None or spell.seconds > best.seconds:
                out[spell.fault] = spell
        return out

    def lines(self, faults: list[str]) -> list[str]:
        """Per fault (and "no fault"), the longest time any coin was bare, in words."""
        longest = self.longest_by_fault()
        out = []
        for fault in [NO_FAULT, *faults]:
            spell = longest.get(fault)
            if spell is None:
                out.append(f"coins bare during {fault}: never")
                continue
            still = " (still bare at the end)" if spell.open_at_end else ""
            if spell.gap > 1:
                still += f" (looks up to {spell.gap:.1f} s apart)"
            out.append(
                f"coins bare during {fault}: longest {spell.seconds:.1f} s ({spell.account} "
                f"{spell.uncovered} {spell.symbol.split('/')[0]}){still}"
            )
        return out


@dataclass
class FaultWindows:
    """When each fault of a run began and ended, to charge a bare spell to the one under way."""

    windows: list[tuple[float, float, str]] = field(default_factory=list)
    """(start, end or infinity, kind)."""

    def began(self, kind: str, t: float) -> None:
        self.windows.append((t, float("inf"), kind))

    def ended(self, kind: str, t: float) -> None:
        for i, (start, end, name) in enumerate(self.windows):
            if name == kind and end == float("inf"):
                self.windows[i] = (start, t, name)
                return

    def at(self, t: float, grace: float) -> str:
        """The latest fault under way at ``t``, or over for less than ``grace`` seconds (its
        effects may still be settling); :data:`NO_FAULT` otherwise."""
        live = [(start, kind) for start, end, kind in self.windows if start <= t <= end + grace]
        return max(live)[1] if live else NO_FAULT


def _held(book: Mapping[str, Any], asset: str) -> Decimal:
    balance = book.get("balances", {}).get(asset)
    if not balance:
        return Decimal(0)
    return Decimal(str(balance["free"])) + Decimal(str(balance["locked"]))


def _stopped(book: Mapping[str, Any], symbol: str) -> Decimal:
    """Coins under a resting stop or a working market sell."""
    return sum(
        (
            Decimal(str(o["qty"])) - Decimal(str(o["filled_qty"]))
            for o in book.get("open_orders", [])
            if o["symbol"] == symbol and o["side"] == "sell" and o["type"] in COVERING_TYPES
        ),
        Decimal(0),
    )


__all__ = ["NO_FAULT", "BareSpell", "BareWatch", "FaultWindows"]
