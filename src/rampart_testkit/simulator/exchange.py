"""The simulated exchange's state: API accounts, orders, order lists and trades around the
paper venue's matching core.

The matching (acceptance, locking, fills, OCO legs) is :class:`MatchingCore`'s; this module
adds what an exchange has and the core does not: API keys, numeric order ids, Binance order
types, order lists, a trade history per account, and the market tape that moves time.

Binance semantics kept here:

- an order canceled by the exchange itself (the other leg of a filled OCO, a remainder the
  account cannot pay for) ends ``EXPIRED``; only a cancel request ends ``CANCELED``;
- a client order id the exchange still remembers (open or finished) is refused as a
  duplicate, so a retried submit can never make a second order; a rejected order was never
  created, so its client id stays free;
- commissions are taken as Binance takes them (``charging``, see
  :mod:`rampart.venues.charging`): a buy's from the base asset received, a sell's from the
  quote, in BNB for an account that pays fees with BNB (:meth:`SimExchange.pay_fees_in_bnb`),
  8 decimals; ``charging=None`` takes every fee in the quote currency.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rampart.domain.errors import ConfigError, present
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues.book import BookOrder, SubAccount
from rampart.venues.charging import BINANCE, Charging
from rampart.venues.matching import DEFAULT_PARTICIPATION, MatchingCore
from rampart.venues.pricing import FeeSchedule, SlippageModel
from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator import filters
from rampart_testkit.simulator.records import ApiAccount, OrderList, OrderMeta, OrderRequest, Trade
from rampart_testkit.simulator.routes_keys import KeyRights
from rampart_testkit.simulator.signing import new_credentials
from rampart_testkit.simulator.snapshot import snapshot
from rampart_testkit.simulator.symbols import instruments_for, with_rules
from rampart_testkit.simulator.tape import MarketTape

PRUNE_EVERY = 500
"""Candles between sweeps of the metadata of orders the core has forgotten."""
DEFAULT_HISTORY = 10_000
"""Finished orders and trades remembered per account (duplicate checks, allOrders, myTrades)."""


_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "LIMIT_MAKER": OrderType.LIMIT,
    "STOP_LOSS": OrderType.STOP_MARKET,
    "STOP_LOSS_LIMIT": OrderType.STOP_LIMIT,
}
SUPPORTED_TYPES = tuple(_TYPES)


@dataclass
class _Counters:
    orders: int = 0
    rejections: int = 0
    fills: int = 0
    cancels: int = 0
    order_lists: int = 0
    amends: int = 0


class SimExchange:
    def __init__(
        self,
        tape: MarketTape,
        instruments: Mapping[str, Instrument] | None = None,
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        participation: Decimal = DEFAULT_PARTICIPATION,
        history: int = DEFAULT_HISTORY,
        charging: Charging | None = BINANCE,
    ) -> None:
        self.tape = tape
        if not tape.step():
            raise ConfigError("The simulator's market data holds no candles.")
        given = dict(instruments or instruments_for(tape.symbols, tape))
        missing = [s for s in tape.symbols if s not in given]
        if missing:
            raise ConfigError(f"No instrument filters were given for {', '.join(missing)}.")
        first = {c.symbol: c.close for c in self.tape_last()}
        self.instruments = {s: with_rules(i, first.get(s, 100.0)) for s, i in given.items()}
        self.core = MatchingCore(
            {s: self.instruments[s] for s in tape.symbols},
            fees,
            slippage,
            participation,
            history,
            remember_rejections=False,
            charging=charging,
            market_at_once=True,  # an exchange's book fills a market order when it arrives
        )
        for candle in self.tape_last():
            self.core.on_candle(candle)
        self.history = history
        self.ids = {s: i.base + i.quote for s, i in self.core.instruments.items()}
        self.symbols_by_id = {v: k for k, v in self.ids.items()}
        self.keys: dict[str, ApiAccount] = {}
        self.meta: dict[str, dict[str, OrderMeta]] = {}
        self.by_order_id: dict[int, tuple[str, str]] = {}
        self.lists: dict[str, dict[int, OrderList]] = {}
        self.trades: dict[str, deque[Trade]] = {}
        self.rights: dict[str, KeyRights] = {}
        self.halted: set[str] = set()
        """Symbols in BREAK (trading halted): every new order on them is refused with -1013
        "Market is closed.", as Binance refuses them."""
        self.counters = _Counters()
        self._next_trade = 0
        self._next_list = 0
        self._since_prune = 0

    def tape_last(self) -> list[Any]:
        return [c for c in (self.tape.last(s) for s in self.tape.symbols) if c is not None]

    @property
    def now_ms(self) -> int:
        return self.tape.now_ms

    # -- accounts ----------------------------------------------------------------------------

    def create_account(
        self,
        balances: Mapping[str, Decimal | str | int | float],
        key: str | None = None,
        secret: str | None = None,
        account_id: str | None = None,
        bnb_fees: bool = False,
        rights: KeyRights | None = None,
    ) -> ApiAccount:
        if bnb_fees:
            self.check_bnb_fees()
        new_key, new_secret = new_credentials()
        key, secret = key or new_key, secret or new_secret
        if key in self.keys:
            raise ConfigError("That API key is already in use on the simulator.")
        account_id = account_id or f"sim-{len(self.keys) + 1}"
        amounts = {asset: Decimal(str(v)) for asset, v in balances.items()}
        self.core.open_account(account_id, amounts)
        acct = ApiAccount(account_id, key, secret)
        self.keys[key] = acct
        self.meta[account_id] = {}
        self.lists[account_id] = {}
        self.trades[account_id] = deque(maxlen=self.history)
        self.rights[account_id] = rights or KeyRights(created_ms=self.now_ms)
        if bnb_fees:
            self.core.discount_accounts.add(account_id)
        return acct

    def sub(self, account_id: str) -> SubAccount:
        return self.core.account(account_id)

    def pay_fees_in_bnb(self, account_id: str, enabled: bool = True) -> None:
        """Switch paying commissions in BNB (Binance's "use BNB to pay fees") for an account."""
        self.sub(account_id)  # raises for an account the simulator does not hold
        if enabled:
            self.check_bnb_fees()
            self.core.discount_accounts.add(account_id)
        else:
            self.core.discount_accounts.discard(account_id)

    def check_bnb_fees(self) -> None:
        """Raise (one sentence) unless this simulator can charge fees in BNB."""
        charging = self.core.charging
        if charging is None:
            raise ConfigError("This simulator charges every fee in the quote currency.")
        asset = charging.discount_asset
        quotes = sorted({i.quote for i in self.core.instruments.values()})
        missing = [q for q in quotes if f"{asset}/{q}" not in self.core.instruments]
        if missing:
            raise ConfigError(
                f"Fees in {asset} need a {asset}/{missing[0]} market to price them; "
                f"start the simulator with {asset}/{missing[0]} among its symbols."
            )

    # -- symbols -----------------------------------------------------------------------------

    def symbol_of(self, symbol_id: str | None) -> str:
        if not symbol_id:
            raise codes.mandatory("symbol")
        symbol = self.symbols_by_id.get(symbol_id.upper())
        if symbol is None:
            raise codes.bad_symbol()
        return symbol

    def last_price(self, symbol: str) -> Decimal:
        # The first candle of every symbol is applied at start.
        return present(self.core.last_price(symbol), f"the last price of {symbol}")

    # -- time --------------------------------------------------------------------------------

    def advance(self, candles: int = 1) -> int:
        """Release ``candles`` steps of market data, matching resting orders on each."""
        done = 0
        for _ in range(max(candles, 0)):
            group = self.tape.step()
            if not group:
                break
            for candle in group:
                self._absorb(self.core.on_candle(candle), expire=True)
            done += 1
        self._since_prune += done
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            self._prune()
        return done

    def advance_until(self, ms: int) -> int:
        """Release every step whose candles have closed by ``ms`` (a market on the wall clock
        never shows a candle that is still forming); returns how many were released."""
        done = 0
        while (close := self.tape.next_close_ms()) is not None and close <= ms:
            done += self.advance(1)
        return done

    # -- orders ------------------------------------------------------------------------------

    def average_price(self, symbol: str) -> Decimal:
        """Binance's average price (``GET /api/v3/avgPrice``): the PERCENT_PRICE_BY_SIDE filter's
        reference, over the symbol's ``avgPriceMins``."""
        mins = self.core.instruments[symbol].rules.avg_price_mins
        found = filters.average_price(list(self.tape.history[symbol]), mins, self.now_ms)
        return found if found is not None else self.last_price(symbol)

    def _filters(self, sub: SubAccount, requests: list[OrderRequest]) -> None:
        symbol = requests[0].symbol
        if symbol in self.halted:
            raise codes.BinanceError(codes.FILTER_FAILURE, "Market is closed.")
        rules = self.core.instruments[symbol].rules
        priced = rules.percent_price and any(r.price is not None for r in requests)
        average = self.average_price(symbol) if priced else None
        filters.enforce(rules, requests, filters.open_counts(sub, symbol), average)

    def place(self, acct: ApiAccount, req: OrderRequest) -> tuple[BookOrder, list[Trade]]:
        sub = self.sub(acct.account_id)
        if sub.find(req.client_id) is not None:
            raise codes.duplicate()
        self._filters(sub, [req])
        qty = req.qty
        if req.binance_type == "MARKET" and qty is None and req.quote_qty is not None:
            inst = self.core.instruments[req.symbol]
            qty = inst.floor_qty(req.quote_qty / self.last_price(req.symbol))
        if req.binance_type == "LIMIT_MAKER" and req.price is not None:
            last = self.last_price(req.symbol)
            crosses = req.price >= last if req.side is Side.BUY else req.price <= last
            if crosses:
                raise codes.BinanceError(
                    codes.NEW_ORDER_REJECTED, "Order would immediately match and take."
                )
        order = Order(
            client_id=req.client_id,
            account_id=acct.account_id,
            symbol=req.symbol,
            side=req.side,
            type=_TYPES[req.binance_type],
            qty=qty if qty is not None else ZERO,
            role=OrderRole.ENTRY,
            price=req.price,
            stop_price=req.stop_price,
        )
        reports = self.core.submit(order, self.now_ms)
        self._refuse_if_rejected(reports)
        booked = present(sub.find(req.client_id), f"order {req.client_id} just accepted")
        self._register(acct.account_id, booked, req.binance_type, req.time_in_force, -1)
        meta = self.meta[acct.account_id][booked.client_id]
        meta.iceberg_qty = req.iceberg_qty
        if req.quote_qty is not None:
            meta.quote_qty = req.quote_qty
        return booked, self._absorb(reports, expire=True)

    def place_oco(
        self,
        acct: ApiAccount,
        list_client_id: str,
        stop: OrderRequest,
        take: OrderRequest,
    ) -> OrderList:
        sub = self.sub(acct.account_id)
        known = {o.list_client_id for o in self.lists[acct.account_id].values()}
        if list_client_id in known or any(sub.find(r.client_id) for r in (stop, take)):
            raise codes.duplicate()
        self._filters(sub, [stop, take])
        legs = [
            Order(
                client_id=r.client_id,
                account_id=acct.account_id,
                symbol=r.symbol,
                side=r.side,
                type=_TYPES[r.binance_type],
                qty=r.qty if r.qty is not None else ZERO,
                role=role,
                price=r.price,
                stop_price=r.stop_price,
                oco_group=list_client_id,
            )
            for r, role in ((stop, OrderRole.STOP_LOSS), (take, OrderRole.TAKE_PROFIT))
        ]
        reports = self.core.submit_oco(legs[0], legs[1], self.now_ms)
        self._refuse_if_rejected(reports)
        self._next_list += 1
        self.counters.order_lists += 1
        olist = OrderList(
            self._next_list,
            list_client_id,
            acct.account_id,
            stop.symbol,
            (stop.client_id, take.client_id),
            self.now_ms,
        )
        self.lists[acct.account_id][olist.list_id] = olist
        for req in (stop, take):
            booked = present(sub.find(req.client_id), f"order {req.client_id} just accepted")
            self._register(
                acct.account_id, booked, req.binance_type, req.time_in_force, olist.list_id
            )
        self._absorb(reports, expire=True)
        return olist

    def cancel(self, acct: ApiAccount, symbol: str, order: BookOrder) -> list[BookOrder]:
        """Cancel an open order (and its OCO partner); returns the orders canceled."""
        if not order.is_open or order.symbol != symbol:
            raise codes.unknown_order()
        reports = self.core.cancel(acct.account_id, order.client_id, self.now_ms)
        self._absorb(reports, expire=False)
        self.counters.cancels += 1
        sub = self.sub(acct.account_id)
        return [o for o in (sub.find(r.client_id) for r in reports) if o is not None]

    def find(
        self, acct: ApiAccount, symbol: str, order_id: int | None, client_id: str | None
    ) -> BookOrder | None:
        sub = self.sub(acct.account_id)
        if order_id is not None:
            owner = self.by_order_id.get(order_id)
            if owner is None or owner[0] != acct.account_id:
                return None
            order = sub.find(owner[1])
        elif client_id is not None:
            order = sub.find(client_id)
        else:
            raise codes.BinanceError(
                codes.MANDATORY_PARAM,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        if order is None or order.symbol != symbol or order.seq == 0:
            return None
        return order

    def open_orders(self, acct: ApiAccount, symbol: str | None) -> list[BookOrder]:
        sub = self.sub(acct.account_id)
        return [o for o in sub.open.values() if symbol is None or o.symbol == symbol]

    def all_orders(self, acct: ApiAccount, symbol: str) -> list[BookOrder]:
        sub = self.sub(acct.account_id)
        orders = [o for o in (*sub.open.values(), *sub.done.values()) if o.symbol == symbol]
        return sorted((o for o in orders if o.seq > 0), key=lambda o: o.seq)

    def order_meta(self, account_id: str, order: BookOrder) -> OrderMeta:
        meta = self.meta[account_id].get(order.client_id)
        if meta is None:  # pruned or never registered: rebuild what the core knows
            kind = {v: k for k, v in reversed(_TYPES.items())}[order.type]
            meta = OrderMeta(order.seq, kind, "GTC" if order.price is not None else None)
        return meta

    def order_lists(self, acct: ApiAccount) -> list[OrderList]:
        return list(self.lists[acct.account_id].values())

    def find_list(
        self, acct: ApiAccount, list_id: int | None, list_client_id: str | None
    ) -> OrderList | None:
        for olist in self.lists[acct.account_id].values():
            if olist.list_id == list_id or (
                list_client_id is not None and olist.list_client_id == list_client_id
            ):
                return olist
        return None

    def list_orders(self, olist: OrderList) -> list[BookOrder]:
        sub = self.sub(olist.account_id)
        return [o for o in (sub.find(c) for c in olist.legs) if o is not None]

    # -- internals ---------------------------------------------------------------------------

    def _refuse_if_rejected(self, reports: list[VenueReport]) -> None:
        for report in reports:
            if report.status is OrderStatus.REJECTED:
                self.counters.rejections += 1
                raise codes.from_core(report.code, report.reason)
            if report.code == "duplicate":
                raise codes.duplicate()

    def _register(
        self, account_id: str, order: BookOrder, kind: str, tif: str | None, list_id: int
    ) -> None:
        self.counters.orders += 1
        self.meta[account_id][order.client_id] = OrderMeta(order.seq, kind, tif, list_id)
        self.by_order_id[order.seq] = (account_id, order.client_id)

    def _absorb(self, reports: list[VenueReport], expire: bool) -> list[Trade]:
        """Record the fills of these reports as trades; mark exchange-side cancels expired."""
        trades: list[Trade] = []
        for report in reports:
            account_id = report.account_id
            metas = self.meta.get(account_id, {})
            if report.status is OrderStatus.CANCELED and expire:
                meta = metas.get(report.client_id)
                if meta is not None:
                    meta.expired = True
            fill = report.fill
            if fill is None:
                continue
            meta = metas.get(report.client_id)
            inst = self.core.instruments[fill.symbol]
            self._next_trade += 1
            self.counters.fills += 1
            trade = Trade(
                trade_id=self._next_trade,
                order_id=int((report.venue_order_id or "P0")[1:]),
                list_id=meta.list_id if meta else -1,
                symbol=fill.symbol,
                price=fill.price,
                qty=fill.qty,
                commission=fill.fee_qty if fill.fee_asset else fill.fee,
                commission_asset=fill.fee_asset or inst.quote,
                time=fill.ts,
                is_buyer=fill.side is Side.BUY,
                is_maker=fill.liquidity.value == "maker",
            )
            self.trades[account_id].append(trade)
            trades.append(trade)
        return trades

    def _prune(self) -> None:
        """Forget metadata of orders the core no longer remembers (bounded memory)."""
        for account_id, metas in self.meta.items():
            sub = self.core.accounts[account_id]
            stale = [c for c in metas if sub.find(c) is None]
            for client_id in stale:
                self.by_order_id.pop(metas.pop(client_id).order_id, None)
            lists = self.lists[account_id]
            for list_id in [i for i, ol in lists.items() if all(c in stale for c in ol.legs)]:
                del lists[list_id]

    # -- inspection --------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Counts, balances and open orders per account (for tests and the soak harness)."""
        return snapshot(self)


__all__ = ["ApiAccount", "OrderList", "OrderMeta", "OrderRequest", "SimExchange", "Trade"]
