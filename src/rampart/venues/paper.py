"""The paper venue: the Venue port around the in-process matching core.

Deterministic: no randomness and no wall clock. Report timestamps come from the candle being
matched (its close), or from the last candle of the order's symbol; the clock is used only
before any candle of that symbol has been seen. The async methods do no I/O.

Reports are delivered to the listener only after the book is fully updated, one at a time:
if the listener causes further reports they are queued behind the current ones, so the
listener is never re-entered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from rampart.clock import Clock
from rampart.domain.candles import Candle
from rampart.domain.fills import Balance, Fill
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order
from rampart.trading.ports import (
    Amend,
    Updates,
    VenueCapabilities,
    VenueListener,
    VenueOrder,
    VenueReport,
)
from rampart.venues import amend
from rampart.venues import snapshot as snapshots
from rampart.venues.matching import DEFAULT_PARTICIPATION, MatchingCore
from rampart.venues.pricing import FeeSchedule, SlippageModel

__all__ = ["FeeSchedule", "PaperVenue", "SlippageModel"]


def _ignore(report: VenueReport) -> None:
    del report


class PaperVenue:
    name = "paper"
    capabilities = VenueCapabilities(
        native_brackets=True,  # stops, take-profits and OCO pairs rest on the venue itself
        updates=Updates.CANDLES,
        keyed_accounts=False,
        reconciliation=True,
        snapshots=True,
        amend=Amend.BOTH,  # a resting pair is re-sized in place (MatchingCore.amend_oco)
    )
    keeps_trade_history = False
    """Its fills come from its own matching: ``fetch_fills`` lists none it has reported."""

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        participation: Decimal = DEFAULT_PARTICIPATION,
        *,
        clock: Clock,
        history_limit: int = 1000,
    ) -> None:
        self.core = MatchingCore(instruments, fees, slippage, participation, history_limit)
        # The core's own method, bound once: asked several times an order (sizing, brackets,
        # dust), with no call of this venue's in between. The core is never replaced.
        self.instrument = self.core.instrument  # type: ignore[method-assign]
        self.clock = clock
        self._listener: VenueListener = _ignore
        self._outbox: deque[VenueReport] = deque()
        self._delivering = False

    @classmethod
    def restore(
        cls,
        snapshot: dict[str, Any],
        instruments: Mapping[str, Instrument],
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        participation: Decimal = DEFAULT_PARTICIPATION,
        *,
        clock: Clock,
        history_limit: int = 1000,
    ) -> PaperVenue:
        venue = cls(
            instruments, fees, slippage, participation, clock=clock, history_limit=history_limit
        )
        venue.load_snapshot(snapshot)
        return venue

    # -- port ---------------------------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        """The venue's instrument for ``symbol`` (each instance answers with its core's own
        method, bound in ``__init__``: this one is the port's signature)."""
        return self.core.instrument(symbol)

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        self.core.open_account(account_id, balances)

    async def submit(self, order: Order) -> None:
        self._emit(self.core.submit(order, self.clock.now_ms()))

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self._emit(self.core.submit_oco(stop_loss, take_profit, self.clock.now_ms()))

    async def amend_oco(
        self,
        account_id: str,
        stop_id: str,
        take_id: str,
        remaining: Decimal,
        *,
        stop_price: Decimal | None = None,
        take_price: Decimal | None = None,
    ) -> None:
        """Re-size (or re-price) a resting pair in place (see :mod:`rampart.venues.amend`):
        nothing to report, the order's status does not change; a refusal raises and changes
        nothing."""
        amend.amend_oco(
            self.core,
            account_id,
            stop_id,
            take_id,
            remaining,
            stop_price=stop_price,
            take_price=take_price,
        )

    async def cancel(self, account_id: str, client_id: str) -> None:
        """Cancel an open order (and its OCO partner).

        A cancel of an order this venue already finished (filled, canceled, or closed with its
        OCO partner) is answered by the order's terminal state, not refused: that report was
        delivered when the order finished, so nothing is sent again. The engine cancels both
        legs of a bracket one after the other, and the first cancel closes the second leg
        with it; refusing the second would count an ordinary exit as an exchange error. An
        order the venue never had is still refused with ``unknown_order``.
        """
        acct = self.core.accounts.get(account_id)
        if acct is not None and client_id not in acct.open:
            done = acct.done.get(client_id)
            if done is not None and done.status.terminal:
                return
        self._emit(self.core.cancel(account_id, client_id, self.clock.now_ms()))

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        acct = self.core.accounts.get(account_id)
        order = acct.find(client_id) if acct else None
        return order.view() if order else None

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        return [o.view() for o in self.core.account(account_id).open.values()]

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        return self.core.account(account_id).balances()

    def on_candle(self, candle: Candle) -> None:
        reports = self.core.on_candle(candle)
        if reports or self._outbox:  # most candles trade nothing: nothing to deliver
            self._emit(reports)

    # -- reconciliation -----------------------------------------------------------------------

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        acct = self.core.accounts.get(account_id)
        if acct is None:
            return []
        orders = sorted(
            (
                o
                for o in (*acct.open.values(), *acct.done.values())
                if o.symbol == symbol and o.seq > 0 and o.created_ts >= (since_ms or 0)
            ),
            key=lambda o: o.seq,
        )
        return [o.view() for o in (orders[-limit:] if limit else orders)]

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        """None: the paper venue reports every fill the moment it happens, in process, so
        there is never one to catch up on (and it keeps no trade history)."""
        del account_id, symbol, since_ms, limit
        return []

    def following(self, account_id: str) -> dict[str, bool]:
        acct = self.core.accounts.get(account_id)
        return dict.fromkeys(acct.open, False) if acct else {}

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        """Nothing to do: every order the paper venue holds is reported on by itself."""
        del order, booked_fill_ids

    async def refresh(self, account_id: str | None = None) -> None:
        """Nothing to do: the paper venue reports as things happen."""
        del account_id

    # -- extras -------------------------------------------------------------------------------

    def free_cash(self, account_id: str, asset: str) -> Decimal | None:
        """What a paper account holds of ``asset`` outside its working orders (None: no such
        account here), the most a withdrawal may take."""
        acct = self.core.accounts.get(account_id)
        return None if acct is None else acct.free(asset)

    def deposit(self, account_id: str, asset: str, amount: Decimal) -> None:
        """Virtual cash in (``amount`` > 0) or out of a paper account (an investor's deposit
        or withdrawal; the facade checks a withdrawal against :meth:`free_cash` first)."""
        self.core.account(account_id).credit(asset, amount)

    def last_price(self, symbol: str) -> Decimal | None:
        return self.core.last_price(symbol)

    def end_of_data(self) -> None:
        """No candle comes after the last one: market orders, resting or sent from now on,
        fill at the last close (a replay's exit at the end of its data, at the only price
        left, with its fee and slippage, as Freqtrade's backtest closes its open trades)."""
        self._emit(self.core.at_last_close())

    def snapshot(self) -> dict[str, Any]:
        return snapshots.dump(self.core)

    def load_snapshot(self, data: dict[str, Any]) -> None:
        snapshots.load(self.core, data)

    def _emit(self, reports: list[VenueReport]) -> None:
        self._outbox.extend(reports)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._outbox:
                self._listener(self._outbox.popleft())
        finally:
            self._delivering = False
