"""The Solana venue: a market order is a swap through bags.fm or Jupiter, signed with the
account's keypair, sent through the RPC pool and confirmed on chain.

Buys are ExactOut (the order's base quantity exactly), sells ExactIn. Both routes are quoted
at once and :func:`~rampart.venues.solana.routes.choose` picks one. Each attempt is written to
the journal BEFORE it is sent, so a crash leaves its signature behind. One client order id is
one intent: a new attempt (re-quote, re-send, at most ``max_attempts``) is made only once the
previous one can no longer land (landed with an error, or its blockhash expired and the node
has no trace of it), and a client id is reported filled at most once.

Brackets are held here (``native_brackets`` False): the engine's position monitor exits with
a market sell when a price crosses either leg.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import structlog

from rampart.clock import Clock
from rampart.domain.errors import ConfigError, DataError, RampartError, VenueError
from rampart.domain.fills import Balance, Fill
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueListener, VenueOrder, VenueReport
from rampart.venues.solana import reading
from rampart.venues.solana.journal import (
    EXPIRED,
    FAILED,
    FILLED,
    REFUSED,
    SENT,
    MemoryJournal,
    SwapJournal,
    SwapRecord,
)
from rampart.venues.solana.markets import TOKEN_PROGRAM, Markets, from_base_units, to_base_units
from rampart.venues.solana.observe import NullObserver, SwapObserver
from rampart.venues.solana.routes import BagsRoute, JupiterRoute, Mode, Quote, Route, choose
from rampart.venues.solana.rpc import RpcError, RpcPool
from rampart.venues.solana.settings import SolanaConfig
from rampart.venues.solana.signing import Wallet

log = structlog.get_logger("rampart.venues.solana")
GAS = "SOL.gas"
LAMPORTS = 9


def _ignore(report: VenueReport) -> None:
    del report


@dataclass(slots=True)
class _Swap:
    account_id: str
    client_id: str
    symbol: str
    side: Side
    qty: Decimal
    local: bool = False
    partner: str | None = None
    attempt: int = 0
    record: SwapRecord | None = None
    quote: Quote | None = None
    sent_at: float = 0.0
    loaded: bool = True
    """False for an order followed after a restart until its journal rows are read."""
    booked: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SolanaVenue:
    name = "solana"
    native_brackets = False

    def __init__(
        self,
        config: SolanaConfig,
        *,
        clock: Clock,
        journal: SwapJournal | None = None,
        observer: SwapObserver | None = None,
        http: httpx.AsyncClient | None = None,
        rpc: RpcPool | None = None,
        routes: Mapping[str, Route] | None = None,
        keypairs: Mapping[str, str] | None = None,
        decimals: Mapping[str, int] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``keypairs``: account id -> secret (base58, JSON array or ``file:PATH``), added to
        the settings' own; ``decimals``: mint -> decimals already known (else read from
        chain). ``http`` is shared by the RPC pool and the routes; made here when absent."""
        self.config = config
        self.clock = clock
        self.journal: SwapJournal = journal if journal is not None else MemoryJournal()
        self.observer: SwapObserver = observer or NullObserver()
        self._own_http = http is None
        self.http = http or httpx.AsyncClient()
        self.rpc = rpc or RpcPool(
            config.rpc_urls,
            client=self.http,
            timeout_s=config.request_timeout_s,
            lag_slots=config.lag_slots,
            observer=self.observer,
            sleep=sleep,
            timer=timer,
        )
        self.routes: dict[str, Route] = dict(routes) if routes is not None else self._routes()
        self.markets = Markets(config.markets, min_notional=config.min_notional, decimals=decimals)
        self.sleep = sleep
        self.timer = timer
        self._listener: VenueListener = _ignore
        self._wallets: dict[str, Wallet] = {}
        self._swaps: dict[str, _Swap] = {}
        self._filled: set[str] = set()
        secrets = {k: v.get_secret_value() for k, v in config.keypairs.items()}
        for account_id, secret in {**secrets, **dict(keypairs or {})}.items():
            self._wallets[account_id] = Wallet.from_secret(secret)

    def _routes(self) -> dict[str, Route]:
        cfg, out = self.config, {}
        kw: dict[str, Any] = {"timeout_s": cfg.request_timeout_s, "observer": self.observer}
        for name in cfg.route.routes:
            if name == "jupiter":
                out[name] = JupiterRoute(cfg.jupiter_url, self.http, **kw)
            elif cfg.bags_api_key is not None:
                key = cfg.bags_api_key.get_secret_value()
                out[name] = BagsRoute(cfg.bags_url, self.http, key, **kw)
        if not out:
            raise ConfigError(
                "The solana venue has no route: set solana.bags_api_key or list jupiter."
            )
        return out

    # -- setup and keys -----------------------------------------------------------------------

    async def load(self, symbols: Iterable[str] | None = None) -> dict[str, Instrument]:
        await self.markets.load(self.rpc, symbols)
        return dict(self.markets.instruments)

    async def ready(self) -> None:
        if not self.markets.loaded:
            await self.markets.load(self.rpc)

    def wallet_address(self, account_id: str) -> str | None:
        wallet = self._wallets.get(account_id)
        return wallet.address if wallet else None

    async def connect_account(self, account_id: str, api_key: str, secret: str) -> None:
        if account_id in self._wallets:
            raise ConfigError(f"Account {account_id} already has a Solana wallet connected.")
        self._wallets[account_id] = Wallet.from_secret(secret, expected_pubkey=api_key)

    async def disconnect_account(self, account_id: str) -> None:
        self._wallets.pop(account_id, None)

    def followed_orders(self, account_id: str) -> int:
        return sum(1 for s in self._swaps.values() if s.account_id == account_id)

    async def aclose(self) -> None:
        await self.rpc.aclose()
        if self._own_http:
            await self.http.aclose()

    def _wallet(self, account_id: str) -> Wallet:
        wallet = self._wallets.get(account_id)
        if wallet is None:
            raise ConfigError(
                f"Account {account_id} has no Solana wallet; import one with 'rampart wallet'."
            )
        return wallet

    # -- port ---------------------------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        return self.markets.instrument(symbol)

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        self._wallet(account_id)
        await self.ready()
        held = await self.fetch_balances(account_id)
        for asset, amount in balances.items():
            free = held.get(asset, Balance(asset)).free
            if free < amount:
                log.warning(
                    "venue_balance_short",
                    exchange=self.name,
                    account_id=account_id,
                    asset=asset,
                    free=str(free),
                    capital=str(amount),
                )

    def _emit(self, s: _Swap, status: OrderStatus, **kw: Any) -> None:
        sig = s.record.signature if s.record else None
        report = VenueReport(s.account_id, s.client_id, status, self.clock.now_ms(), **kw)
        if sig and report.venue_order_id is None:
            report = VenueReport(
                report.account_id,
                report.client_id,
                report.status,
                report.ts,
                report.fill,
                sig,
                report.code,
                report.reason,
            )
        self._listener(report)

    def _reject(self, s: _Swap, code: str, reason: str) -> None:
        self._swaps.pop(s.client_id, None)
        self._emit(s, OrderStatus.REJECTED, code=code, reason=reason)

    async def submit(self, order: Order) -> None:
        s = _Swap(order.account_id, order.client_id, order.symbol, order.side, order.qty)
        if order.client_id in self._swaps or order.client_id in self._filled:
            return  # one client id is one intent: a second submit changes nothing
        if order.type is not OrderType.MARKET:
            self._emit(
                s,
                OrderStatus.REJECTED,
                code="unsupported",
                reason=f"The solana venue takes market orders only, not {order.type.value} orders.",
            )
            return
        try:
            self._wallet(order.account_id)
            await self.ready()
            self.markets.market(order.symbol)
        except RampartError as exc:
            code = exc.code if isinstance(exc, VenueError) else "refused"
            self._emit(s, OrderStatus.REJECTED, code=code, reason=exc.message)
            return
        self._swaps[s.client_id] = s
        self._emit(s, OrderStatus.SUBMITTED)
        async with s.lock:
            await self._attempts(s)
            await self._confirm(s)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        for leg, partner in ((stop_loss, take_profit), (take_profit, stop_loss)):
            s = _Swap(leg.account_id, leg.client_id, leg.symbol, leg.side, leg.qty, local=True)
            s.partner = partner.client_id
            self._swaps[s.client_id] = s
            self._emit(s, OrderStatus.SUBMITTED)

    async def cancel(self, account_id: str, client_id: str) -> None:
        s = self._swaps.get(client_id)
        if s is None or s.account_id != account_id:
            if client_id in self._filled:
                return  # already finished: its report was delivered then
            raise VenueError(f"The solana venue holds no open order {client_id}.", "not_found")
        if not s.local:
            raise VenueError(
                "A swap already sent cannot be canceled; its outcome is reported when known.",
                "not_cancelable",
            )
        self._swaps.pop(client_id, None)
        self._emit(s, OrderStatus.CANCELED, reason="canceled")

    # -- one swap -----------------------------------------------------------------------------

    async def _quote(self, s: _Swap) -> Quote:
        m = self.markets.market(s.symbol)
        amount = to_base_units(s.qty, m.base_decimals)
        mode: Mode
        if s.side is Side.BUY:
            src, dst, mode = m.quote_mint, m.base_mint, "ExactOut"
        else:
            src, dst, mode = m.base_mint, m.quote_mint, "ExactIn"
        slip = self.config.slippage_bps
        routes = list(self.routes.values())
        results = await asyncio.gather(
            *(r.quote(src, dst, amount, mode, slip) for r in routes), return_exceptions=True
        )
        quotes: list[Quote] = []
        problems: list[str] = []
        for route, result in zip(routes, results, strict=True):
            if isinstance(result, Quote):
                quotes.append(result)
            elif isinstance(result, RampartError):
                problems.append(result.message.rstrip("."))
            elif isinstance(result, Exception):
                log.warning("route_quote_failed", route=route.name, error=type(result).__name__)
                problems.append(f"{route.name} failed ({type(result).__name__})")
            else:
                raise result  # cancellation and the like
        if not quotes:
            raise VenueError(f"No route would quote this swap: {'; '.join(problems)}.", "no_quote")
        return choose(quotes, self.config.route.bags_tolerance_bps)

    async def _attempts(self, s: _Swap) -> None:
        """Make attempts until one is sent (its outcome is then awaited) or the order ends."""
        while s.client_id in self._swaps:
            if s.attempt >= self.config.max_attempts:
                last = s.record.err if s.record and s.record.err else "it did not land"
                self._reject(
                    s,
                    "attempts_exhausted",
                    f"The swap did not go through in {s.attempt} attempts ({last}).",
                )
                return
            if await self._attempt(s):
                return

    async def _attempt(self, s: _Swap) -> bool:
        """One quote + send; True when sent (or possibly sent), False to try again."""
        s.attempt += 1
        try:
            wallet = self._wallet(s.account_id)
            m = self.markets.market(s.symbol)
            quote = await self._quote(s)
            route = self.routes[quote.route]
            fee = self.config.priority_fee_lamports
            unsigned, last_valid = await route.swap_transaction(quote, wallet.address, fee)
            signed = wallet.sign(unsigned)
        except RampartError as exc:
            code = exc.code if isinstance(exc, VenueError) else "data"
            self._reject(s, code, exc.message)
            return True
        buy = s.side is Side.BUY
        in_dec, out_dec = (
            (m.quote_decimals, m.base_decimals) if buy else (m.base_decimals, m.quote_decimals)
        )
        fee_q = quote.platform_fee if quote.platform_fee_mint == m.quote_mint else 0
        rec = SwapRecord(
            client_id=s.client_id,
            attempt=s.attempt,
            account_id=s.account_id,
            symbol=s.symbol,
            side=s.side.value,
            route=quote.route,
            signature=str(signed.signatures[0]),
            last_valid_height=last_valid,
            in_mint=quote.input_mint,
            out_mint=quote.output_mint,
            quoted_in=from_base_units(quote.in_amount, in_dec),
            quoted_out=from_base_units(quote.out_amount, out_dec),
            status=SENT,
            ts=self.clock.now_ms(),
            platform_fee=from_base_units(fee_q, m.quote_decimals),
            wallet=wallet.address,
        )
        await self.journal.record(rec)  # before sending: a crash leaves the signature behind
        s.record, s.quote, s.sent_at = rec, quote, self.timer()
        try:
            await self.rpc.send_transaction(base64.b64encode(bytes(signed)).decode())
        except RpcError as exc:
            rec.status, rec.err = REFUSED, exc.message
            await self.journal.record(rec)
            self.observer.swap(rec.route, "refused", self.timer() - s.sent_at)
            if "blockhash not found" in exc.message.lower():
                return False  # a fresh quote brings a fresh blockhash
            self._reject(s, "refused", f"The Solana node refused the swap: {exc.message}.")
            return True
        except VenueError as exc:
            # Not sent for sure (the pool says OutcomeUnknown when it may have been).
            log.warning("swap_send_failed", order=s.client_id, error=exc.message)
        except RampartError as exc:
            log.warning("swap_send_unconfirmed", order=s.client_id, error=exc.message)
        return True

    async def _confirm(self, s: _Swap) -> None:
        """Wait for the outcome up to ``confirm_timeout_s``; past it poll() resolves it."""
        polls = max(1, math.ceil(self.config.confirm_timeout_s / self.config.confirm_poll_s))
        for _ in range(polls):
            if s.client_id not in self._swaps:
                return
            try:
                if await self._check(s):
                    await self._attempts(s)
            except RampartError as exc:
                log.warning("swap_check_failed", order=s.client_id, error=exc.message)
            if s.client_id not in self._swaps:
                return
            await self.sleep(self.config.confirm_poll_s)

    async def _check(self, s: _Swap) -> bool:
        """Learn the current attempt's outcome; True when it can no longer land (try again)."""
        rec = s.record
        if rec is None or rec.status != SENT:
            return rec is not None
        height = await self.rpc.block_height()  # before the status: see the expiry rule
        [status] = await self.rpc.signature_statuses([rec.signature])
        elapsed = self.timer() - s.sent_at if s.sent_at else 0.0
        if status is None:
            if height > rec.last_valid_height:
                rec.status, rec.err = EXPIRED, "its blockhash expired before it landed"
                await self.journal.record(rec)
                self.observer.swap(rec.route, "expired", elapsed)
                return True
            return False
        if not reading.reached(status, self.config.commitment):
            return False
        tx = await self.rpc.transaction(rec.signature, self.config.commitment)
        if not isinstance(tx, dict) or not isinstance(tx.get("meta"), dict):
            return False  # a node not yet in step: asked again on the next check
        meta = tx["meta"]
        rec.fee_lamports = int(meta.get("fee") or 0)
        err = status.get("err") or meta.get("err")
        if err is not None:
            slipped = reading.is_slippage(err)
            rec.status = FAILED
            rec.err = "price moved past the slippage limit" if slipped else json.dumps(err)
            await self.journal.record(rec)
            self.observer.swap(rec.route, "slippage" if slipped else "refused", elapsed)
            return True
        m = self.markets.market(s.symbol)
        base, quote = reading.moved(meta, rec.wallet, m, rec.side)
        reading.fill_record(rec, m, base, quote, rec.fee_lamports)
        await self.journal.record(rec)
        self.observer.swap(rec.route, "filled", elapsed)
        slip = reading.realised_slippage_bps(rec)
        self.observer.slippage(rec.route, float(self.config.slippage_bps), slip)
        block_time = tx.get("blockTime")
        ts = int(block_time) * 1000 if isinstance(block_time, int) else self.clock.now_ms()
        self._report_fill(s, rec, ts)
        return False

    def _report_fill(self, s: _Swap, rec: SwapRecord, ts: int) -> None:
        self._swaps.pop(s.client_id, None)
        if s.client_id in self._filled:
            return  # never two fills for one client id
        self._filled.add(s.client_id)
        fill = reading.fill_of(rec, ts)
        if fill.fill_id in s.booked:
            return
        self._emit(s, OrderStatus.FILLED, fill=fill, venue_order_id=rec.signature)

    # -- after a restart ----------------------------------------------------------------------

    async def _load(self, s: _Swap) -> None:
        """Pick up an order followed after a restart from its journal rows."""
        recs = await self.journal.for_client(s.client_id)
        s.loaded = True
        if not recs:
            self._reject(s, "never_sent", "The swap was never sent before the restart.")
            return
        filled = next((r for r in recs if r.status == FILLED), None)
        if filled is not None:
            s.record = filled
            self._report_fill(s, filled, filled.ts)
            return
        s.record, s.attempt = recs[-1], recs[-1].attempt
        if s.record.status != SENT:
            await self._attempts(s)

    async def _advance(self, s: _Swap) -> None:
        await self.ready()  # after a restart the markets may not be read yet
        if not s.loaded:
            await self._load(s)
        if s.client_id in self._swaps and await self._check(s):
            await self._attempts(s)

    async def poll(self) -> None:
        """Resolve the swaps sent and not yet settled; failures are logged, asked again."""
        await self._poll(None)

    async def _poll(self, account_id: str | None) -> None:
        for s in list(self._swaps.values()):
            if s.local or s.lock.locked():
                continue
            if account_id is not None and s.account_id != account_id:
                continue
            async with s.lock:
                try:
                    await self._advance(s)
                except RampartError as exc:
                    log.warning("swap_poll_failed", order=s.client_id, error=exc.message)

    # -- reconciliation -----------------------------------------------------------------------

    def following(self, account_id: str) -> dict[str, bool]:
        return {s.client_id: s.local for s in self._swaps.values() if s.account_id == account_id}

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        if order.client_id in self._swaps:
            return
        s = _Swap(order.account_id, order.client_id, order.symbol, order.side, order.qty)
        s.loaded, s.booked = False, set(booked_fill_ids)
        self._swaps[s.client_id] = s

    async def refresh(self, account_id: str | None = None) -> None:
        await self._poll(account_id)

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        recs = [r for r in await self.journal.for_client(client_id) if r.account_id == account_id]
        if not recs:
            return None
        return reading.venue_order(recs, client_id in self._swaps)

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        out = []
        for s in list(self._swaps.values()):
            if s.account_id == account_id and not s.local:
                found = await self.fetch_order(account_id, s.client_id)
                if found is not None:
                    out.append(found)
        return out

    async def _records(
        self, account_id: str, symbol: str, since_ms: int | None
    ) -> list[SwapRecord]:
        return [
            r
            for r in await self.journal.since(since_ms or 0)
            if r.account_id == account_id and r.symbol == symbol
        ]

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        by_client: dict[str, list[SwapRecord]] = {}
        for r in await self._records(account_id, symbol, since_ms):
            by_client.setdefault(r.client_id, []).append(r)
        orders = [
            reading.venue_order(sorted(rs, key=lambda r: r.attempt), cid in self._swaps)
            for cid, rs in by_client.items()
        ]
        orders.sort(key=lambda o: o.ts)
        return orders[-limit:] if limit else orders

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        """Filled swaps from the journal, plus sent ones the chain shows landed cleanly."""
        fills: list[Fill] = []
        recs = await self._records(account_id, symbol, since_ms)
        sent = [r for r in recs if r.status == SENT]
        fills.extend(reading.fill_of(r, r.ts) for r in recs if r.status == FILLED)
        if sent:
            await self.ready()
            m = self.markets.market(symbol)
            statuses = await self.rpc.signature_statuses([r.signature for r in sent])
            for rec, status in zip(sent, statuses, strict=True):
                if status is None or status.get("err") is not None:
                    continue
                if not reading.reached(status, self.config.commitment):
                    continue
                tx = await self.rpc.transaction(rec.signature, self.config.commitment)
                if not isinstance(tx, dict) or not isinstance(tx.get("meta"), dict):
                    continue
                copy = SwapRecord(**{k: getattr(rec, k) for k in rec.__dataclass_fields__})
                base, quote = reading.moved(tx["meta"], rec.wallet, m, rec.side)
                reading.fill_record(copy, m, base, quote, int(tx["meta"].get("fee") or 0))
                fills.append(reading.fill_of(copy, copy.ts))
        fills.sort(key=lambda f: f.ts)
        return fills[-limit:] if limit else fills

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        owner = self._wallet(account_id).address
        result = await self.rpc.call(
            "getTokenAccountsByOwner",
            [owner, {"programId": TOKEN_PROGRAM}, {"encoding": "jsonParsed"}],
        )
        balances = reading.token_balances(result, self.markets.asset_of_mint)
        lamports = await self.rpc.call("getBalance", [owner])
        value = lamports.get("value") if isinstance(lamports, dict) else None
        if not isinstance(value, int):
            raise DataError("The Solana node answered a balance without lamports.")
        balances[GAS] = Balance(GAS, from_base_units(value, LAMPORTS))
        return balances


__all__ = ["GAS", "SolanaVenue"]
