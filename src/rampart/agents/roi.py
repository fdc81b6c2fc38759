"""Freqtrade's fixed ``stoploss`` and time-based ``minimal_roi`` table as one Rampart bracket.

In Freqtrade ``stoploss = -0.10`` sells once the price is 10 % below the entry, and
``minimal_roi = {"60": 0.01, "30": 0.02, "0": 0.04}`` sells once the trade's profit reaches 4 %
in its first 30 minutes, 2 % from minute 30 and 1 % from minute 60. That profit is net of fees:
Freqtrade's profit ratio is what the exit brings in after its fee over what the entry cost
with its fee, less one. :class:`RoiStop` states both once and answers what a port needs: the
entry's bracket (the stop, and the target at the first rung, net of both fees, resting on the
venue from the entry's fill) and, on each later candle, whether the rung the trade has reached
calls for an exit at the close (which then sells at the next open, as every decision does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rampart.agents.base import AgentView
from rampart.domain.errors import ConfigError
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ceil_to_step, dec, floor_to_step
from rampart.domain.orders import Side

ONE = Decimal(1)
MINUTE_MS = 60_000


def _rungs(table: Mapping[str, float] | Mapping[int, float]) -> tuple[tuple[int, Decimal], ...]:
    rungs = []
    for minutes, roi in table.items():
        try:
            at = int(minutes)
            ratio = Decimal(str(roi))
        except (TypeError, ValueError, ArithmeticError):
            raise ConfigError(
                "minimal_roi maps minutes to a profit ratio ({'0': 0.04}); "
                f"got {minutes!r}: {roi!r}."
            ) from None
        if at < 0 or not ratio.is_finite():
            raise ConfigError(
                f"minimal_roi's minute {minutes!r} and ratio {roi!r} must be 0 or more."
            )
        rungs.append((at, ratio))
    rungs.sort()
    if not rungs or rungs[0][0] != 0:
        raise ConfigError("minimal_roi needs a rung at minute 0 (the target from the entry on).")
    return tuple(rungs)


@dataclass(frozen=True)
class RoiStop:
    """``minimal_roi`` and ``stoploss`` as Freqtrade writes them, with the fee rate paid on each
    side (the venue's taker fee: 0.001 is 0.1 %)."""

    minimal_roi: Mapping[str, float] | Mapping[int, float]
    stoploss: float
    fee: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        if not -1 < self.stoploss < 0:
            raise ConfigError(
                f"stoploss is a negative ratio above -1 (-0.10 is 10 %); got {self.stoploss}."
            )
        fee = self.fee
        if not (isinstance(fee, Decimal) and fee.is_finite() and 0 <= fee < 1):
            raise ConfigError(f"The fee is a ratio from 0 up to 1; got {self.fee}.")
        object.__setattr__(self, "_table", _rungs(self.minimal_roi))

    @property
    def rungs(self) -> tuple[tuple[int, Decimal], ...]:
        """(minutes, profit ratio), from minute 0 up."""
        table: tuple[tuple[int, Decimal], ...] = object.__getattribute__(self, "_table")
        return table

    def roi_at(self, minutes: int) -> Decimal:
        """The profit ratio asked of a trade open ``minutes`` whole minutes."""
        ratio = self.rungs[0][1]
        for at, roi in self.rungs:
            if at > minutes:
                break
            ratio = roi
        return ratio

    def stop(self, entry: Decimal) -> Decimal:
        """The stop price: ``stoploss`` below the entry."""
        return entry * (ONE + Decimal(str(self.stoploss)))

    def target(self, entry: Decimal, minutes: int = 0) -> Decimal:
        """The price whose sale, after its fee, makes the ROI of minute ``minutes`` over what
        the entry cost with its fee."""
        return entry * (ONE + self.fee) * (ONE + self.roi_at(minutes)) / (ONE - self.fee)

    def bracket(self, entry: Decimal) -> tuple[Decimal, Decimal]:
        """The entry's (stop, target): the stop and the first rung's price."""
        return self.stop(entry), self.target(entry)

    def exit_due(self, entry: Decimal, opened_ms: int, now_ms: int, price: Decimal) -> bool:
        """Whether the trade's profit at ``price`` (net of both fees) reaches its rung's ROI."""
        minutes = max(0, (now_ms - opened_ms) // MINUTE_MS)
        return price >= self.target(entry, minutes)

    def open_long(
        self, view: AgentView, agent: str, reason: str, size_hint: Decimal = ONE
    ) -> list[Intent]:
        """A long at the view's close with this bracket (the stop rounded down to the tick and
        the target up, never inside the prices asked)."""
        entry = dec(view.candle.close)
        stop, target = self.bracket(entry)
        tick = view.instrument.tick_size
        return [
            Intent(
                account_id=view.account_id,
                symbol=view.symbol,
                side=Side.BUY,
                action=IntentAction.OPEN,
                entry_price=entry,
                stop_loss=floor_to_step(stop, tick),
                take_profit=ceil_to_step(target, tick),
                size_hint=size_hint,
                confidence=0.6,
                rationale=f"{reason}; stop {self.stoploss:.0%}, ROI {self.rungs[0][1]:.2%} net",
                agent=agent,
                ts=view.ts,
            )
        ]

    def roi_exit(self, view: AgentView, agent: str) -> list[Intent]:
        """A close when the held position's profit at this close reaches its rung; [] else."""
        pos = view.position
        close = dec(view.candle.close)
        if (
            pos is None
            or pos.qty <= 0
            or not self.exit_due(pos.avg_price, pos.opened_at, view.ts, close)
        ):
            return []
        minutes = max(0, (view.ts - pos.opened_at) // MINUTE_MS)
        return [
            Intent(
                account_id=view.account_id,
                symbol=view.symbol,
                side=Side.SELL,
                action=IntentAction.CLOSE,
                entry_price=close,
                size_hint=ONE,
                confidence=0.6,
                rationale=f"minimal_roi: {self.roi_at(minutes):.2%} reached at minute {minutes}",
                agent=agent,
                ts=view.ts,
            )
        ]
