"""Second readings of a held price, asked beside the candle feed and never in its way.

When the exchange's ticker times out or answers 500, the next alike bad candle must not
confirm the first (a ×0.001 print would engage the kill switch and sell at market), and a held
candle waiting on a hanging ticker must not freeze every symbol. Where a second reading exists
(:attr:`PriceGuard.checked`) only a reading that succeeded settles a held candle; it is asked
in a task of its own with a deadline, so the candle loop goes on with the other symbols (and
this one's later candles, held behind it) while it is out, and what it settles is traded at
the next :meth:`SecondOpinions.settle`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from rampart.domain.candles import Candle
from rampart.market.price_guard import PriceGuard

log = structlog.get_logger("rampart.market.second_reading")

SecondReading = Callable[[str], Awaitable[float | None]]
"""A price of a symbol read elsewhere than the candle feed (an exchange's ticker, order book or
trades). A failure raises, saying in words what failed; None: it gave no price."""

DEADLINE_S = 10.0
"""How long one second reading may take at most, all its sources together (each source has
its own, shorter deadline: ``feed.guard.second_reading_timeout_s``)."""


def failed(exc: BaseException, deadline_s: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no independent price within {deadline_s:g} s"
    text = str(exc).strip().rstrip(".")
    return f"no independent price: {text}" if text else "no independent price"


class SecondOpinions:
    """One second reading at most in flight per symbol; its outcome applied by :meth:`settle`.

    ``ready`` is set when an outcome waits to be applied: the exchange loop wakes on it, so a
    reading that confirms a crash is traded at once, not at the next candle."""

    def __init__(
        self, guard: PriceGuard, read: SecondReading, deadline_s: float = DEADLINE_S
    ) -> None:
        self.guard = guard
        self.read = read
        self.deadline_s = deadline_s
        self.ready = asyncio.Event()
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._outcomes: list[tuple[str, float | None, str]] = []
        guard.checked = True

    def ask(self, symbol: str) -> None:
        """Ask for a reading of ``symbol`` unless one is out already (each later candle of a
        held symbol asks again once the last one has answered)."""
        if symbol in self._pending or not self.guard.held(symbol):
            return
        self._pending[symbol] = asyncio.get_running_loop().create_task(self._ask(symbol))

    async def _ask(self, symbol: str) -> None:
        price: float | None = None
        why = ""
        try:
            price = await asyncio.wait_for(self.read(symbol), self.deadline_s)
            if price is None:
                why = "no independent price: the exchange gave none"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever failed, the candle stays held and says why
            why = failed(exc, self.deadline_s)
            log.warning("second_reading_failed", symbol=symbol, error=why)
        finally:
            self._pending.pop(symbol, None)
        self._outcomes.append((symbol, price, why))
        self.ready.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def settle(self) -> tuple[Candle, ...]:
        """The candles the readings that came back release, in order; a failed one leaves its
        symbol held and says why (``MarketDataHeld``)."""
        self.ready.clear()
        if not self._outcomes:
            return ()
        outcomes, self._outcomes = self._outcomes, []
        released: list[Candle] = []
        for symbol, price, why in outcomes:
            if price is not None:
                released.extend(self.guard.second_reading(symbol, price))
            else:
                self.guard.unsettled(symbol, why)
        return tuple(released)

    def cancel(self) -> None:
        """Stop asking (the session closes): the held candles stay held."""
        for task in list(self._pending.values()):
            task.cancel()
        self._pending.clear()


async def admit_checked(
    guard: PriceGuard,
    second: SecondReading | None,
    candle: Candle,
    now_ms: int | None = None,
    deadline_s: float = DEADLINE_S,
) -> tuple[Candle, ...]:
    """:meth:`PriceGuard.admit`, then a second reading awaited right here when the candle was
    held: for one symbol stepped candle by candle (the soak harness), where nothing else waits.
    The service asks through :class:`SecondOpinions` instead, beside its feed."""
    if second is not None:
        guard.checked = True
    admitted = guard.admit(candle, now_ms)
    if admitted or second is None or not guard.held(candle.symbol):
        return admitted
    try:
        reading = await asyncio.wait_for(second(candle.symbol), deadline_s)
    except Exception as exc:  # a second opinion that fails leaves the candle held
        guard.unsettled(candle.symbol, failed(exc, deadline_s))
        log.warning("second_reading_failed", symbol=candle.symbol, error=str(exc))
        return ()
    if reading is None:
        guard.unsettled(candle.symbol, "no independent price: the exchange gave none")
        return ()
    return guard.second_reading(candle.symbol, reading)


__all__ = ["DEADLINE_S", "SecondOpinions", "SecondReading", "admit_checked", "failed"]
