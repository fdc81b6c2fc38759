"""Protections an agent declares (Freqtrade's ``protections``): entries it refuses
itself after a stop, a run of losses or a drawdown, on top of the operator's breakers.

    protections = (CooldownAfterStop(candles=6), PairLock(losses=3, within=48, candles=24))

Lengths are in candles of the symbol traded. A protection only ever refuses an **entry**: an
exit, a stop or the risk engine's checks are never touched, and the operator's breakers and
limits still apply to every entry a protection lets through, so declaring one can only make
an account more careful, never less. The engine keeps each account's closed trades for them
(``rampart.trading.agent_protections``) and refuses with the code ``agent_protection``.

Pure: no I/O and no clock; "now" is handed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from rampart.domain.errors import ConfigError
from rampart.domain.money import ZERO


class Closed(Protocol):
    """What a protection reads of a closed trade (``rampart.domain.positions.ClosedTrade``)."""

    @property
    def symbol(self) -> str: ...
    @property
    def closed_at(self) -> int: ...
    @property
    def pnl(self) -> Decimal: ...
    @property
    def exit_reason(self) -> str: ...


def _whole(rule: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{rule}'s {name} must be a whole number of at least 1, not {value!r}.")


@dataclass(frozen=True, slots=True)
class CooldownAfterStop:
    """No entry on a symbol for ``candles`` candles after a trade on it left by its stop-loss."""

    candles: int

    def __post_init__(self) -> None:
        _whole("CooldownAfterStop", "candles", self.candles)

    def refusal(
        self, trades: Sequence[Closed], symbol: str, now: int, tf: int, equity: Decimal
    ) -> str | None:
        del equity
        for trade in reversed(trades):
            if trade.symbol == symbol and trade.exit_reason == "stop_loss":
                if now < trade.closed_at + self.candles * tf:
                    return (
                        f"the agent's cooldown after a stop-loss: no {symbol} entry for "
                        f"{self.candles} candles after its stop"
                    )
                return None
        return None


@dataclass(frozen=True, slots=True)
class PairLock:
    """No entry on a symbol for ``candles`` candles once ``losses`` trades on it lost within
    ``within`` candles."""

    losses: int
    within: int
    candles: int

    def __post_init__(self) -> None:
        for name in ("losses", "within", "candles"):
            _whole("PairLock", name, getattr(self, name))

    def refusal(
        self, trades: Sequence[Closed], symbol: str, now: int, tf: int, equity: Decimal
    ) -> str | None:
        del equity
        lost = [t.closed_at for t in trades if t.symbol == symbol and t.pnl < ZERO]
        # The lock runs from the loss that completed a run; only recent runs can still hold.
        for i in range(len(lost) - 1, self.losses - 2, -1):
            last = lost[i]
            if now >= last + self.candles * tf:
                return None
            if last - lost[i - self.losses + 1] <= self.within * tf:
                return (
                    f"the agent's pair lock: {self.losses} losing {symbol} trades within "
                    f"{self.within} candles, no entry for {self.candles} candles"
                )
        return None


@dataclass(frozen=True, slots=True)
class DrawdownLock:
    """No entry on any symbol for ``candles`` candles once the closed trades of the last
    ``within`` candles gave back more than ``max_drawdown`` (a fraction, 0.1 = 10 %) of the
    account's equity from their best point."""

    max_drawdown: float
    within: int
    candles: int

    def __post_init__(self) -> None:
        if isinstance(self.max_drawdown, bool) or not 0 < self.max_drawdown < 1:
            raise ConfigError(
                f"DrawdownLock's max_drawdown must be a fraction between 0 and 1 (0.1 = 10 %), "
                f"not {self.max_drawdown!r}."
            )
        for name in ("within", "candles"):
            _whole("DrawdownLock", name, getattr(self, name))

    def refusal(
        self, trades: Sequence[Closed], symbol: str, now: int, tf: int, equity: Decimal
    ) -> str | None:
        del symbol
        if equity <= ZERO:
            return None
        since = now - (self.within + self.candles) * tf
        recent = [t for t in trades if t.closed_at > since]
        limit = Decimal(repr(self.max_drawdown)) * equity
        for end, trade in enumerate(recent):
            if now >= trade.closed_at + self.candles * tf:
                continue  # a lock from this trade would be over
            start = trade.closed_at - self.within * tf
            total = peak = ZERO
            worst = ZERO
            for earlier in recent[: end + 1]:
                if earlier.closed_at < start:
                    continue
                total += earlier.pnl
                peak = max(peak, total)
                worst = max(worst, peak - total)
            if worst > limit:
                return (
                    f"the agent's drawdown lock: its trades gave back more than "
                    f"{self.max_drawdown:.0%} of equity within {self.within} candles, no "
                    f"entry for {self.candles} candles"
                )
        return None


Protection = CooldownAfterStop | PairLock | DrawdownLock
KINDS = (CooldownAfterStop, PairLock, DrawdownLock)


def declared_protections(agent: object) -> tuple[Protection, ...]:
    """The protections ``agent`` declares in ``protections``, checked."""
    raw = getattr(agent, "protections", ())
    name = getattr(agent, "name", type(agent).__name__)
    items: Iterable[object] = raw if isinstance(raw, tuple | list) else (raw,)
    out: list[Protection] = []
    for item in items:
        if not isinstance(item, KINDS):
            raise ConfigError(
                f"Agent {name!r} declares protection {item!r}: use CooldownAfterStop, PairLock "
                "or DrawdownLock from rampart.agents.protections."
            )
        out.append(item)
    return tuple(out)
