"""The pure matching core: sub-accounts, order acceptance, locking and candle matching.

No I/O, no clock, no listener. Every operation updates the state completely and then returns
the reports it produced, in order; the caller delivers them. The paper venue wraps this core,
and the exchange simulator reuses it. Rules beyond :mod:`rampart.venues.pricing`:

- Orders of a symbol are matched in creation order. The legs of an OCO are matched together,
  stop first: when one bar touches both the stop and the take-profit we cannot know which came
  first, so we assume the worse one did. A fill of either leg, even partial, cancels the other.
- A market order fills at the next bar's open, never at the close of the bar it was decided on
  (an account on candles decides after that close), unless the core stands in for an exchange
  (``market_at_once``: the simulator), whose book fills it at once at the last price. The stop
  sent for an entry bought at an open is matched against the rest of that bar (entry_bar).
- Per bar an order fills at most ``participation × volume`` (floored to the lot); the rest stays
  open. A bar with zero volume sets no cap: in real data these are flat, illiquid bars where a
  small order would still have traded at that price.
- A buy that must pay more than it holds (a gap past a buy stop, a market remainder filling at
  a higher open) pays the difference from free money; what the account cannot pay is canceled.
- Fees are paid in the quote currency unless a :class:`~rampart.venues.charging.Charging` says
  otherwise (the exchange simulator charges the way Binance does)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError, DataError, VenueError
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.instruments import Instrument
from rampart.domain.money import ONE, ZERO
from rampart.domain.orders import Order, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues import intake
from rampart.venues.book import BookOrder, SubAccount, affordable_qty
from rampart.venues.charging import Charging, settle
from rampart.venues.entry_bar import EntryBars, opened
from rampart.venues.pricing import Bar, FeeSchedule, SlippageModel, Touch, adverse_price, touch
from rampart.venues.screen import BarScreen
from rampart.venues.validation import (
    STOP_TYPES,
    Rejection,
    check_oco,
    check_shape,
    check_value,
    insufficient,
)

DEFAULT_PARTICIPATION = Decimal("0.10")


class MatchingCore:
    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        participation: Decimal = DEFAULT_PARTICIPATION,
        history_limit: int = 1000,
        *,
        remember_rejections: bool = True,
        charging: Charging | None = None,
        market_at_once: bool = False,
    ) -> None:
        if not isinstance(participation, Decimal) or not ZERO < participation <= ONE:
            raise ConfigError(
                f"Participation must be a Decimal above 0 and at most 1, got {participation!r}."
            )
        if history_limit < 1:
            raise ConfigError("The venue must remember at least one finished order per account.")
        self.instruments = dict(instruments)
        self.fees = fees or FeeSchedule()
        self.slippage = slippage or SlippageModel()
        self.participation = participation
        self.history_limit = history_limit
        self.remember_rejections = remember_rejections
        """False for an exchange (the simulator): a rejected order never existed there, so
        its client id stays free and the same order can be sent again once it would pass."""
        self.charging = charging
        self.market_at_once = market_at_once
        """True for an exchange (the simulator): a market order fills when it arrives, against
        the last price. False (paper on candles): it rests until the next bar's open."""
        self.entry_bars = EntryBars()
        self.discount_accounts: set[str] = set()
        """Accounts that pay fees in the charging's discount asset (BNB) when they hold it."""
        self._no_fees = FeeSchedule(ZERO, ZERO)
        self.accounts: dict[str, SubAccount] = {}
        self.books: dict[str, dict[int, BookOrder]] = {}
        """Open orders per symbol by sequence number, in creation order."""
        self._last: dict[str, Bar] = {}
        self._pending: dict[str, Candle] = {}
        """Candles seen while no order rested on the symbol, turned into Bars on demand."""
        self.seq = 0
        self._market_buy: (
            tuple[Decimal | None, Instrument, FeeSchedule, SlippageModel, intake.LockTerms] | None
        ) = None
        """The last market buy's lock terms with what they were worked out from (the same
        last-close, instrument, fee and slippage objects give the same terms): every market
        buy of a bar locks at the same worst price."""
        self._cap: tuple[Bar, Instrument, Decimal, Decimal] | None = None
        """The last bar's fill cap (participation x volume, floored to the lot) with the bar,
        instrument and participation objects it came from: the same for every order the bar
        fills."""
        self.screen = BarScreen()
        """Which bars can touch no resting order (dropped per symbol whenever its book or a
        trigger state changes)."""

    def forget_gates(self) -> None:
        """Books were replaced from outside (a snapshot load): recompute the gates."""
        self.screen.forget()

    @property
    def last(self) -> dict[str, Bar]:
        if self._pending:
            for symbol, candle in self._pending.items():
                self._last[symbol] = Bar.from_candle(candle)
            self._pending.clear()
        return self._last

    @last.setter
    def last(self, value: dict[str, Bar]) -> None:
        self._last = dict(value)
        self._pending.clear()

    # -- reading ------------------------------------------------------------------------------

    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            raise VenueError(f"{symbol} is not traded on this venue.", code="unknown_symbol")
        return inst

    def account(self, account_id: str) -> SubAccount:
        acct = self.accounts.get(account_id)
        if acct is None:
            raise VenueError(
                f"Account {account_id!r} is not open on this venue.", code="unknown_account"
            )
        return acct

    def last_price(self, symbol: str) -> Decimal | None:
        bar = self.last.get(symbol)
        return bar.close if bar else None

    def _ts(self, symbol: str, now: int) -> int:
        bar = self._pending.get(symbol) or self._last.get(symbol)  # a waiting candle: no Bar
        return bar.close_ts if bar else now

    # -- accounts -----------------------------------------------------------------------------

    def open_account(self, account_id: str, balances: Mapping[str, Decimal]) -> None:
        if not isinstance(account_id, str) or not account_id:
            raise VenueError("An account id must be a non-empty string.", code="bad_account")
        if account_id in self.accounts:
            raise VenueError(f"Account {account_id!r} is already open.", code="account_exists")
        if not isinstance(balances, Mapping):
            raise VenueError("Balances must map asset names to amounts.", code="bad_balance")
        for asset, amount in balances.items():
            ok = isinstance(amount, Decimal) and amount.is_finite() and amount >= ZERO
            if not isinstance(asset, str) or not asset or not ok:
                raise VenueError(
                    f"Funding {asset!r} with {amount!r} is not a non-negative Decimal amount.",
                    code="bad_balance",
                )
        self.accounts[account_id] = SubAccount(account_id, dict(balances))

    # -- submitting ---------------------------------------------------------------------------

    def submit(self, order: Order, now: int) -> list[VenueReport]:
        acct = self.accounts.get(order.account_id)
        if acct is None:
            return [intake.bounce(order, now)]
        existing = acct.find(order.client_id)
        if existing is not None:
            return [intake.duplicate(existing, self._ts(existing.symbol, now))]
        terms = self._validate(acct, order)
        if isinstance(terms, Rejection):
            return [self._reject(acct, order, terms, now)]
        booked = self._accept(acct, order, terms, None, now)
        reports = [intake.report(booked, booked.created_ts)]
        if booked.type is OrderType.MARKET:
            if self.market_at_once:
                self._at_close(booked, reports)
        elif self.entry_bars.protects(booked):
            self._match_bar(booked, self._last[booked.symbol], reports)
        return reports

    def _at_close(self, order: BookOrder, reports: list[VenueReport]) -> None:
        bar = self.last[order.symbol]
        self._match(order, Touch(True, bar.close), bar, reports)

    def at_last_close(self) -> list[VenueReport]:
        """No bar comes after the last one (a replay's end of data): from now on a market order
        fills when it arrives, at its symbol's last close, and those resting fill there now."""
        self.market_at_once = True
        reports: list[VenueReport] = []
        for book in list(self.books.values()):
            for order in list(book.values()):
                if order.type is OrderType.MARKET:
                    self._at_close(order, reports)
        return reports

    def submit_oco(self, stop: Order, take: Order, now: int) -> list[VenueReport]:
        acct = self.accounts.get(stop.account_id)
        if acct is None:
            return [intake.bounce(stop, now), intake.bounce(take, now)]
        legs = (stop, take)
        existing = [acct.find(o.client_id) for o in legs]
        if any(existing):
            partner_exists = Rejection(
                "bad_oco",
                "Its OCO partner already exists on the venue, so the pair was not placed.",
            )
            return [
                intake.duplicate(ex, self._ts(ex.symbol, now))
                if ex
                else self._reject(acct, o, partner_exists, now)
                for o, ex in zip(legs, existing, strict=True)
            ]
        stop_terms = check_oco(stop, take) or self._validate(acct, stop)
        if isinstance(stop_terms, Rejection):
            return [self._reject(acct, o, stop_terms, now) for o in legs]
        take_terms = self._validate(acct, take)
        if isinstance(take_terms, Rejection):
            return [self._reject(acct, o, take_terms, now) for o in legs]
        group = stop.oco_group or take.oco_group or stop.client_id
        booked = [
            self._accept(acct, stop, stop_terms, group, now),
            self._accept(acct, take, take_terms, group, now),
        ]
        reports = [intake.report(b, b.created_ts) for b in booked]
        if self.entry_bars.protects(booked[0]):
            self._match_pair(booked[0], booked[1], self._last[stop.symbol], reports)
        return reports

    def _validate(self, acct: SubAccount, order: Order) -> Rejection | intake.LockTerms:
        """The order's rejection or, when it passes, what it will lock once accepted: worked
        out once here and handed to :meth:`_accept`, which books it right after."""
        inst = self.instruments.get(order.symbol)
        if inst is None:
            return Rejection("unknown_symbol", f"{order.symbol} is not traded on this venue.")
        last = self.last_price(order.symbol)
        rejection = check_shape(order, inst) or check_value(order, inst, last)
        if rejection is not None:
            return rejection
        memo = self._market_buy
        fees = self._buy_fees()
        if (
            memo is not None
            and memo[0] is last
            and memo[1] is inst
            and memo[2] is fees
            and memo[3] is self.slippage
            and order.type is OrderType.MARKET
            and order.side is Side.BUY
        ):
            terms = memo[4]
        else:
            terms = intake.lock_terms(order, inst, fees, self.slippage, last)
            if order.type is OrderType.MARKET and order.side is Side.BUY:
                self._market_buy = (last, inst, fees, self.slippage, terms)
        need, free = terms.need(order), acct.free(terms.asset)
        return insufficient(terms.asset, need, free) if need > free else terms

    def _buy_fees(self) -> FeeSchedule:
        """Fee rates a buy pays from its quote: none when the fee comes out of the base."""
        return self.fees if self.charging is None else self._no_fees

    def _accept(
        self,
        acct: SubAccount,
        order: Order,
        terms: intake.LockTerms,
        group: str | None,
        now: int,
    ) -> BookOrder:
        self.seq += 1
        booked = intake.accepted(order, terms, self.seq, group, self._ts(order.symbol, now))
        acct.open[booked.client_id] = booked
        self.books.setdefault(booked.symbol, {})[booked.seq] = booked
        self.screen.forget(booked.symbol)
        return booked

    def _reject(
        self, acct: SubAccount, order: Order, rejection: Rejection, now: int
    ) -> VenueReport:
        """Remember the rejection, so a resubmit of the same client id gets the same answer."""
        ts = self._ts(order.symbol, now)
        record = intake.rejected(order, self.instruments.get(order.symbol), rejection, ts)
        if self.remember_rejections:
            acct.retire(record, self.history_limit)
        return intake.report(record, ts, code=rejection.code, reason=rejection.reason)

    # -- canceling ----------------------------------------------------------------------------

    def cancel(self, account_id: str, client_id: str, now: int) -> list[VenueReport]:
        acct = self.accounts.get(account_id)
        order = acct.open.get(client_id) if acct else None
        if acct is None or order is None:
            raise VenueError(
                f"Order {client_id} of account {account_id!r} is not open on this venue.",
                code="unknown_order",
            )
        ts = self._ts(order.symbol, now)
        reports: list[VenueReport] = []
        partner = self._partner(acct, order)
        self._close(acct, order, ts, reports, "canceled", "Canceled on request.")
        if partner is not None:
            self._close(acct, partner, ts, reports, "oco", "Its OCO partner was canceled.")
        return reports

    def _partner(self, acct: SubAccount, order: BookOrder) -> BookOrder | None:
        if order.oco_group is None:
            return None
        for other in acct.open.values():
            if other.oco_group == order.oco_group and other.client_id != order.client_id:
                return other
        return None

    def _close(
        self,
        acct: SubAccount,
        order: BookOrder,
        ts: int,
        reports: list[VenueReport],
        code: str,
        reason: str,
    ) -> None:
        order.status = OrderStatus.CANCELED
        order.updated_ts = ts
        order.code, order.reason = code, reason
        self._retire(acct, order)
        reports.append(intake.report(order, ts, code=code, reason=reason))

    def _retire(self, acct: SubAccount, order: BookOrder) -> None:
        book = self.books.get(order.symbol)
        if book is not None:
            book.pop(order.seq, None)
        self.screen.forget(order.symbol)
        acct.retire(order, self.history_limit)

    # -- matching -----------------------------------------------------------------------------

    def on_candle(self, candle: Candle) -> list[VenueReport]:
        symbol = candle.symbol
        if self.instruments.get(symbol) is None:
            self.instrument(symbol)  # raises: the venue does not trade it
        pending = self._pending.get(symbol)
        previous = pending if pending is not None else self._last.get(symbol)
        previous_ts = previous.ts if previous is not None else None
        if previous_ts is not None and candle.ts <= previous_ts:
            last = f"the last one at {previous_ts}"
            raise DataError(f"The {symbol} candle at {candle.ts} is not newer than {last}.")
        if self.entry_bars.waiting:  # most bars: no entry's note kept, nothing to forget
            self.entry_bars.next_bar(symbol)
        book = self.books.get(symbol)
        if not book or self.screen.untouched(candle, book):
            # Nothing rests here, or nothing resting can trade on this bar (its range clears
            # every trigger and limit): most candles of a replay. Decimals wait for an order.
            Bar.check(candle)
            self._pending[symbol] = candle
            return []
        self._pending.pop(symbol, None)
        bar = Bar.from_candle(candle)
        reports: list[VenueReport] = []
        groups_done: set[tuple[str, str]] = set()
        bought: set[str] = set()
        for order in list(self.books.get(bar.symbol, {}).values()):
            if not order.is_open:
                continue  # canceled earlier on this bar by its OCO partner
            if order.oco_group is None:
                unfilled = order.filled_qty == ZERO
                self._match_bar(order, bar, reports)
                if unfilled and order.type is OrderType.MARKET and opened(order, self.accounts):
                    bought.add(order.account_id)
                continue
            key = (order.account_id, order.oco_group)
            if key in groups_done:
                continue
            groups_done.add(key)
            partner = self._partner(self.accounts[order.account_id], order)
            self._match_pair(order, partner, bar, reports)
        if bought:
            self.entry_bars.bought(symbol, bought)
        # Not through ``last``, which would first turn other symbols' waiting candles to Bars.
        self._last[symbol] = bar
        self.screen.forget(symbol)  # trigger states may have changed
        return reports

    def _match_pair(
        self, order: BookOrder, partner: BookOrder | None, bar: Bar, reports: list[VenueReport]
    ) -> None:
        """Match an OCO pair on ``bar``: the stop leg first (a bar reaching both is a
        stop-out), else book order; no sort."""
        if partner is not None and order.type not in STOP_TYPES and partner.type in STOP_TYPES:
            order, partner = partner, order
        if order.is_open:
            self._match_bar(order, bar, reports)
        if partner is not None and partner.is_open:
            self._match_bar(partner, bar, reports)

    def _match_bar(self, order: BookOrder, bar: Bar, reports: list[VenueReport]) -> None:
        result = touch(order.type, order.side, order.price, order.stop_price, order.triggered, bar)
        if order.type in STOP_TYPES:
            order.triggered = result.triggered
        self._match(order, result, bar, reports)

    def _match(self, order: BookOrder, result: Touch, bar: Bar, reports: list[VenueReport]) -> None:
        if result.reference is None:
            return
        inst = self.instruments[order.symbol]
        qty = order.remaining
        if bar.volume > ZERO:
            cap = self._cap
            if (
                cap is None
                or cap[0] is not bar
                or cap[1] is not inst
                or cap[2] is not self.participation
            ):
                cap = self._cap = (
                    bar,
                    inst,
                    self.participation,
                    inst.floor_qty(self.participation * bar.volume),
                )
            qty = min(qty, cap[3])
        if qty <= ZERO:
            return
        if result.liquidity is Liquidity.TAKER:
            fraction = self.slippage.fraction(qty, bar.volume)
            price = adverse_price(result.reference, order.side, fraction, inst.tick_size)
            if result.bound is not None:
                price = (
                    min(price, result.bound) if order.side is Side.BUY else max(price, result.bound)
                )
        else:
            price = result.reference
        acct = self.accounts[order.account_id]
        affordable, paid_for = qty, True
        if order.side is Side.BUY:
            rate = self._buy_fees().rate(result.liquidity)
            affordable, paid_for = affordable_qty(
                acct.free(inst.quote), order, qty, price, rate, inst.lot_size
            )
        if affordable > ZERO:
            self._fill(acct, order, affordable, price, result.liquidity, bar.close_ts, reports)
        if not paid_for and order.is_open:
            why = f"The rest of the order was canceled: the account cannot pay for it at {price}."
            self._close(acct, order, bar.close_ts, reports, "insufficient_funds", why)

    def _fill(
        self,
        acct: SubAccount,
        order: BookOrder,
        qty: Decimal,
        price: Decimal,
        liquidity: Liquidity,
        ts: int,
        reports: list[VenueReport],
    ) -> None:
        inst = self.instruments[order.symbol]
        notional = qty * price
        fee, fee_asset, fee_qty = settle(
            acct, order.side, inst, qty, price, self.fees.rate(liquidity), self.charging,
            self._discount_price(acct, inst),
        )  # fmt: skip
        partner = None if order.oco_group is None else self._partner(acct, order)
        order.filled_qty += qty
        order.filled_notional += notional
        order.fees += fee
        order.fills += 1
        order.updated_ts = ts
        order.status = (
            OrderStatus.FILLED if order.qty == order.filled_qty else OrderStatus.PARTIALLY_FILLED
        )
        if order.status is OrderStatus.FILLED:
            self._retire(acct, order)
        fill = Fill(
            fill_id=f"{order.venue_order_id}-{order.fills}",
            client_id=order.client_id,
            account_id=order.account_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            liquidity=liquidity,
            ts=ts,
            fee_asset=fee_asset,
            fee_qty=fee_qty,
        )
        reports.append(intake.report(order, ts, fill))
        if partner is not None:
            self._close(acct, partner, ts, reports, "oco", "Its OCO partner filled.")

    def _discount_price(self, acct: SubAccount, inst: Instrument) -> Decimal | None:
        if self.charging is None or acct.account_id not in self.discount_accounts:
            return None
        return self.last_price(f"{self.charging.discount_asset}/{inst.quote}")
