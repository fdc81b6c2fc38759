"""A position's bracket as a state machine: one record per symbol an account holds.

Every bit a bracket's life needs between two calls of
:meth:`~rampart.trading.protection.Protector.ensure` lives in :class:`PositionBracket`: its
:class:`BracketState`, the last refusal of its pair and the back-off that follows, the
placements at one instant, the re-size steps its entry took and when coins above its pair began
to wait. The account's checkpoint saves all of it, so a restart resumes a bracket where it was
(before, the steps were forgotten and an entry growing in parts took its first step again).

Whether the position monitor holds a position (``AccountRuntime.guarded``) is not written
anywhere: it is :attr:`BracketState.guarded` of the state the bracket is in. The states that
hold it say why the pair on the venue is not (yet) enough. The table :data:`TRANSITIONS`
rejects the moves that would drop the monitor with no pair seen resting, or revive a closed
bracket without a new position: a move into a state that holds the monitor is always allowed
(taking over is never refused), a move out of one only to :attr:`BracketState.RESTING` or
:attr:`BracketState.CLOSED`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, NoReturn

from rampart.domain.orders import OrderRole, protective_client_id

BACKOFF_CAP_CANDLES = 64
"""Longest wait between two tries of a bracket the venue refused, in candles of its symbol.
At 1m candles about an hour; the monitor holds the stop all along."""


class BracketState(Enum):
    guarded: bool

    def __new__(cls, value: str, guarded: bool) -> BracketState:
        member = object.__new__(cls)
        member._value_ = value
        member.guarded = guarded
        return member

    NEW = ("new", False)
    """A position nothing has been placed for yet (or restored with no pair known)."""
    PLACED = ("placed", False)
    """A pair sent for the whole position, not yet seen resting."""
    RESTING = ("resting", False)
    """The pair rests for every coin that is free to sell (re-sized in place, amended, too)."""
    CLOSED = ("closed", False)
    """No position: its orders canceled, its refusal forgotten."""
    PLACED_HELD = ("placed_held", True)
    """A pair sent while the monitor held the position: it holds on until the pair rests."""
    PARTIAL = ("partial", True)
    """A pair sent for fewer coins than the position (the rest locked by an unconfirmed
    cancel): the monitor holds the rest."""
    GROWING = ("growing", True)
    """The entry still buys above the pair, the next re-size step not reached."""
    CANCEL_PENDING = ("cancel_pending", True)
    """An old leg's cancel unconfirmed: no new pair until the venue reports it gone."""
    REFUSED = ("refused", True)
    """The venue refused the pair: the same quantity is asked again after a back-off."""
    TARGET_FILLING = ("target_filling", True)
    """The take-profit has begun to fill and its stop went with it: its rest is canceled and
    a new pair placed for the coins left."""
    MONITOR = ("monitor", True)
    """Monitor only: dust waiting for its orders, placements spent at one instant, a venue that
    did not answer, a failure while protecting."""
    MOVING = ("moving", True)
    """Stop or target moved by canceling the pair; a new one follows."""
    REDUCING = ("reducing", True)
    """Part of the position sold at market; the pair is sized to the rest after."""
    ADDING = ("adding", True)
    """An addition to the position buys above the pair until it grows over it."""


_S = BracketState
_add, _discard, _clear = set.add, set.discard, set.clear
_BY_VALUE = {s.value: s for s in BracketState}
_HOLDING = frozenset(s for s in BracketState if s.guarded)


def _allowed(source: BracketState) -> frozenset[BracketState]:
    targets = set(_HOLDING) | {_S.CLOSED}
    if source is _S.CLOSED:
        targets.add(_S.NEW)  # a new position on the symbol
    else:
        targets.add(_S.RESTING)
        if not source.guarded:
            targets.add(_S.PLACED)  # the monitor lets go only once a pair is seen resting
    return frozenset(targets)


TRANSITIONS: dict[BracketState, frozenset[BracketState]] = {s: _allowed(s) for s in BracketState}
"""For each state, the states a bracket may move to (staying put is always allowed)."""


class IllegalBracketMove(RuntimeError):
    """A bracket asked to move where :data:`TRANSITIONS` does not lead: a bug."""


@dataclass(slots=True)
class Refusal:
    """The venue refused a position's bracket: for which quantity, how often in a row, and how
    many more candles to wait before asking again for that same quantity."""

    qty: Decimal
    failures: int
    wait: int
    group: str
    """The refused pair's OCO group (both legs of one pair are one refusal)."""
    due: bool = False
    """The wait is over: the next placement for this quantity may go."""
    why: str = ""
    """The exchange's refusal in its own words (the order's reason), for the operator."""
    code: str = ""
    """The refusal's stable code (``VenueError.code``: ``insufficient_funds``, ``filter``...)."""


@dataclass(slots=True)
class PositionBracket:
    state: BracketState = BracketState.NEW
    refusal: Refusal | None = None
    tries: tuple[int, int] | None = None
    """Placements at one instant: (business time, count)."""
    steps: tuple[str, int] | None = None
    """The entry whose pair grew last and how many re-size steps it has taken."""
    short_since: int | None = None
    """When a follow turn first saw the pair smaller than the position (ops clock)."""
    bare_since: int | None = None
    """Since when (the Clock's ms) no stop on the exchange covers every coin held; None while
    one does. Kept by :func:`rampart.trading.protection_state.observe`, not checkpointed: a
    restore observes anew."""
    cover: str = ""
    """The last protection observed (``Cover`` value, with its reason code): a change is told."""
    generation: int = 0
    """Pairs placed for the position so far: the next one's client ids are derived from it
    (:func:`rampart.domain.orders.protective_client_id`), saved with the account."""

    def derived_ids(self, account_id: str, entry_client_id: str) -> tuple[str, str] | None:
        """The next pair's client ids, from the position's entry and the next generation
        (counted here); None when the entry's id is not the account's own (an adopted
        position): its pair is numbered as any order."""
        generation = self.generation + 1
        stop = protective_client_id(account_id, entry_client_id, generation, OrderRole.STOP_LOSS)
        take = protective_client_id(account_id, entry_client_id, generation, OrderRole.TAKE_PROFIT)
        if stop is None or take is None:
            return None
        self.generation = generation
        return stop, take

    def to_dict(self) -> dict[str, Any]:
        r = self.refusal
        return {
            "state": self.state.value,
            "refusal": None if r is None else _refusal_row(r),
            "tries": None if self.tries is None else list(self.tries),
            "steps": None if self.steps is None else list(self.steps),
            "short_since": self.short_since,
        } | ({"generation": self.generation} if self.generation else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PositionBracket:
        r, tries, steps = data.get("refusal"), data.get("tries"), data.get("steps")
        return cls(
            _BY_VALUE[data["state"]],
            None if r is None else _refusal_of(r),
            None if tries is None else (int(tries[0]), int(tries[1])),
            None if steps is None else (str(steps[0]), int(steps[1])),
            None if data.get("short_since") is None else int(data["short_since"]),
            generation=int(data.get("generation", 0)),
        )


def _refusal_row(r: Refusal) -> list[Any]:
    row: list[Any] = [str(r.qty), r.failures, r.wait, r.group, r.due]
    if r.why or r.code:
        row += [r.why, r.code]  # written only when known: older rows stay as they were
    return row


def _refusal_of(r: list[Any]) -> Refusal:
    why, code = (str(r[5]), str(r[6])) if len(r) > 6 else ("", "")
    return Refusal(Decimal(r[0]), int(r[1]), int(r[2]), r[3], bool(r[4]), why, code)


class GuardedView(set[str]):
    """The symbols the monitor holds, read only: what the brackets' states say. A set (its
    ``in`` is asked for every held position on every candle) whose writing methods refuse;
    only :class:`BracketBook` writes it, through ``set``'s own."""

    __slots__ = ()

    def _refuse(self) -> NoReturn:
        raise TypeError("guarded follows the brackets' states: move the bracket instead")

    def add(self, element: str) -> NoReturn:
        self._refuse()

    def discard(self, element: object) -> NoReturn:
        self._refuse()

    def remove(self, element: str) -> NoReturn:
        self._refuse()

    def pop(self) -> NoReturn:
        self._refuse()

    def clear(self) -> NoReturn:
        self._refuse()

    def update(self, *others: Iterable[str]) -> NoReturn:
        self._refuse()

    def difference_update(self, *others: Iterable[Any]) -> NoReturn:
        self._refuse()

    def intersection_update(self, *others: Iterable[Any]) -> NoReturn:
        self._refuse()

    def symmetric_difference_update(self, other: Iterable[str]) -> NoReturn:
        self._refuse()

    def __ior__(self, other: AbstractSet[str]) -> NoReturn:  # type: ignore[misc,override]
        self._refuse()

    def __iand__(self, other: AbstractSet[object]) -> NoReturn:
        self._refuse()

    def __isub__(self, other: AbstractSet[object]) -> NoReturn:
        self._refuse()

    def __ixor__(self, other: AbstractSet[str]) -> NoReturn:  # type: ignore[misc,override]
        self._refuse()


class BracketBook:
    """An account's brackets by symbol; the one place their states change."""

    __slots__ = ("_by_symbol", "guarded")

    def __init__(self) -> None:
        self._by_symbol: dict[str, PositionBracket] = {}
        self.guarded = GuardedView()
        """Kept by :meth:`move` and :meth:`load` alone, from the states."""

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_symbol)

    def get(self, symbol: str) -> PositionBracket | None:
        return self._by_symbol.get(symbol)

    def of(self, symbol: str) -> PositionBracket:
        """The symbol's bracket, a NEW one if it has none."""
        b = self._by_symbol.get(symbol)
        if b is None:
            b = self._by_symbol[symbol] = PositionBracket()
        return b

    def state(self, symbol: str) -> BracketState | None:
        b = self._by_symbol.get(symbol)
        return None if b is None else b.state

    def move(self, symbol: str, state: BracketState) -> None:
        """Move the symbol's bracket to ``state``; :class:`IllegalBracketMove` if the table
        does not allow it (nothing changed then)."""
        b = self._by_symbol.get(symbol)
        if b is None:
            b = self._by_symbol[symbol] = PositionBracket()
        if state is not b.state and state not in TRANSITIONS[b.state]:
            raise IllegalBracketMove(f"{symbol}: bracket {b.state.value} -> {state.value}")
        b.state = state
        if state.guarded:
            _add(self.guarded, symbol)
        else:
            _discard(self.guarded, symbol)

    def hold(self, symbol: str, state: BracketState = BracketState.MONITOR) -> None:
        """The monitor takes the position over (always allowed)."""
        self.move(symbol, state)

    def close(self, symbol: str) -> None:
        """The position is gone: the bracket is CLOSED and its refusal and steps forgotten
        (the placements at this instant still count, for a position opened at once again)."""
        b = self._by_symbol.get(symbol)
        if b is None:
            return
        self.move(symbol, BracketState.CLOSED)
        b.refusal = None
        b.bare_since = None
        b.steps = None
        b.short_since = None

    def open(self, symbol: str) -> PositionBracket:
        """The symbol's bracket for a position that is there: a CLOSED one starts anew."""
        b = self.of(symbol)
        if b.state is BracketState.CLOSED:
            self.move(symbol, BracketState.NEW)
        return b

    def refusal(self, symbol: str) -> Refusal | None:
        b = self._by_symbol.get(symbol)
        return None if b is None else b.refusal

    def refuse(self, symbol: str, qty: Decimal, group: str, why: str = "", code: str = "") -> None:
        """The venue refused a leg of the pair (OCO ``group``) for ``qty``, saying ``why``
        (``code``): the monitor holds the position and that quantity waits 1, 2, 4, ...
        candles before it is asked again."""
        b = self.of(symbol)
        prev = b.refusal
        if prev is not None and prev.group == group:
            if why and not prev.why:
                prev.why, prev.code = why, code  # the other leg said what the first did not
            return  # the other leg of the same pair: one refusal
        failures = prev.failures + 1 if prev is not None else 1
        interval = min(2 ** (failures - 1), BACKOFF_CAP_CANDLES)
        b.refusal = Refusal(qty, failures, interval - 1, group, False, why, code)
        self.move(symbol, BracketState.REFUSED)

    def due(self, symbol: str) -> bool:
        """One candle passed for a monitored position: whether to try its pair again now."""
        refusal = self.refusal(symbol)
        if refusal is None:
            return True
        if refusal.wait > 0:
            refusal.wait -= 1
            return False
        refusal.due = True
        return True

    def clear_tries(self) -> None:
        for b in self._by_symbol.values():
            b.tries = None

    # -- checkpoint ---------------------------------------------------------------------------
    # A checkpoint already says which symbols the monitor holds ("guarded")
    # and which positions are open; a bracket is written only where it says more than that:
    # a state other than the one those give (MONITOR when held, RESTING for another position),
    # a refusal, re-size steps, a wait begun in a follow turn. A bracket of a symbol not held
    # and not under the monitor (flat, or a pair nobody needs any more) is only ever opened
    # anew, so it is left out. Placements "at one instant" are not written: a restore begins an
    # instant of its own, as a follow turn does (``rampart.trading.following``).

    @staticmethod
    def _derived(guarded: bool, held: bool) -> BracketState | None:
        if guarded:
            return BracketState.MONITOR
        return BracketState.RESTING if held else None

    def to_dict(self, held: Collection[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for symbol, b in sorted(self._by_symbol.items()):
            derived = self._derived(b.state.guarded, symbol in held)
            if derived is None and not b.state.guarded and not b.generation:
                continue  # nothing to protect: opened anew if a position comes
            # The generation is kept even once flat: a pair's id is never used twice.
            extras = (b.refusal, b.steps, b.short_since, b.generation or None)
            if b.state is derived and extras == (None, None, None, None):
                continue
            data = b.to_dict()
            del data["tries"]
            out[symbol] = data
        return out

    def load(self, data: dict[str, Any], guarded: Iterable[str], held: Collection[str]) -> None:
        """Brackets from a checkpoint: those :meth:`to_dict` wrote, the others derived from the
        monitored symbols and the positions held (all of them, from a checkpoint written before
        brackets had a state of their own)."""
        self._by_symbol.clear()
        _clear(self.guarded)
        monitored = set(guarded)
        for symbol in sorted(monitored | set(held)):
            state = self._derived(symbol in monitored, symbol in held)
            if state is not None:
                self._by_symbol[symbol] = PositionBracket(state)
        for symbol, raw in data.items():
            self._by_symbol[symbol] = PositionBracket.from_dict(raw)
        for symbol, b in self._by_symbol.items():
            if b.state.guarded:
                _add(self.guarded, symbol)


__all__ = [
    "BACKOFF_CAP_CANDLES",
    "TRANSITIONS",
    "BracketBook",
    "BracketState",
    "GuardedView",
    "IllegalBracketMove",
    "PositionBracket",
    "Refusal",
]
