"""The Solana venue: a market order is a swap through bags.fm or Jupiter, signed with the
account's keypair, sent through the RPC pool and confirmed on chain.

Sells are an exact input of base; buys an exact output where the route quotes one (Jupiter),
an input sized from a price on bags.fm. Every route is quoted at once, each quote checked
against the order, and :mod:`~rampart.venues.solana.choice` takes one. Each attempt is written to
the journal BEFORE it is sent, so a crash leaves its signature behind. One client order id is
one intent: a new attempt (re-quote, re-send, at most ``max_attempts``) is made only once the
previous one can no longer land (landed with an error, or its blockhash expired and the node
has no trace of it), and a client id is reported filled at most once.

Brackets are held here (``capabilities.native_brackets`` False): the engine's position
monitor exits with a market sell when a price crosses either leg. This module keeps the
orders; an attempt's own steps are in :mod:`~rampart.venues.solana.attempts`, the
reconciliation reads in :mod:`~rampart.venues.solana.reconcile`, wrapping native SOL in
:mod:`~rampart.venues.solana.wrapping`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx
import structlog

from rampart.clock import Clock
from rampart.domain.errors import RampartError, VenueError
from rampart.domain.fills import Balance, Fill
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderStatus, OrderType
from rampart.trading.ports import (
    Amend,
    Updates,
    VenueCapabilities,
    VenueListener,
    VenueOrder,
    VenueReport,
)
from rampart.venues.solana import attempts, reading, reconcile
from rampart.venues.solana.choice import Choice
from rampart.venues.solana.confirming import Confirmations
from rampart.venues.solana.journal import (
    FILLED,
    REFUSED,
    SENT,
    MemoryJournal,
    SwapJournal,
    SwapRecord,
)
from rampart.venues.solana.markets import Markets
from rampart.venues.solana.observe import NullObserver, SwapObserver
from rampart.venues.solana.reconcile import GAS
from rampart.venues.solana.routes import Route, build_routes
from rampart.venues.solana.rpc import RpcError, RpcPool
from rampart.venues.solana.settings import WSOL_MINT, SolanaConfig
from rampart.venues.solana.signing import Wallet, Wallets
from rampart.venues.solana.swaps import Swap, followed, from_held, held_leg
from rampart.venues.solana.wrapping import Wrapper, split_gas
from rampart.venues.validation import warn_if_short

log = structlog.get_logger("rampart.venues.solana")
FILLED_MEMORY = 10_000
"""Filled client ids remembered to drop a repeated report (a few days of a busy service)."""


def _ignore(report: VenueReport) -> None:
    del report


class SolanaVenue:
    name = "solana"
    capabilities = VenueCapabilities(
        native_brackets=False,  # a DEX rests nothing: the engine's monitor exits at the stop
        updates=Updates.POLLED,
        keyed_accounts=True,  # each account's wallet
        reconciliation=True,
        snapshots=True,
        amend=Amend.NONE,
    )
    keeps_trade_history = False  # its fills come from its own swap journal, none from a list

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
        self.routes: dict[str, Route] = (
            dict(routes) if routes is not None else build_routes(config, self.http, self.observer)
        )
        self.markets = Markets(config.markets, min_notional=config.min_notional, decimals=decimals)
        self.wrapper = Wrapper(
            self.rpc, config.gas_reserve_sol, config.commitment, config.confirm_poll_s, self._nap
        )
        self._sol_is_cash = any(m.quote_mint == WSOL_MINT for m in config.markets.values())
        self.sleep = sleep
        self.timer = timer
        self.confirms = Confirmations.of(config, timer, self._nap)
        self._listener: VenueListener = _ignore
        self._wallets = Wallets()
        self._swaps: dict[str, Swap] = {}
        self._filled: OrderedDict[str, None] = OrderedDict()
        """Client ids filled lately, newest last: a late or repeated report of one is dropped.
        Bounded (:data:`FILLED_MEMORY`): client ids only grow, so an old one never comes back."""
        secrets = {k: v.get_secret_value() for k, v in config.keypairs.items()}
        self._wallets.add_secrets({**secrets, **dict(keypairs or {})})

    # -- setup and keys -----------------------------------------------------------------------

    async def load(self, symbols: Iterable[str] | None = None) -> dict[str, Instrument]:
        await self.markets.load(self.rpc, symbols)
        return dict(self.markets.instruments)

    async def ready(self) -> None:
        if not self.markets.loaded:
            await self.markets.load(self.rpc)

    def wallet_address(self, account_id: str) -> str | None:
        return self._wallets.address(account_id)

    async def connect_account(self, account_id: str, api_key: str, secret: str) -> None:
        self._wallets.connect(account_id, api_key, secret)

    async def disconnect_account(self, account_id: str) -> None:
        self._wallets.pop(account_id, None)

    def followed_orders(self, account_id: str) -> int:
        return sum(1 for s in self._swaps.values() if s.account_id == account_id)

    async def aclose(self) -> None:
        await self.confirms.aclose()
        await self.rpc.aclose()
        if self._own_http:
            await self.http.aclose()

    async def _nap(self, seconds: float) -> None:
        await self.sleep(seconds)  # looked up now: a test swaps ``sleep`` after construction

    def _wallet(self, account_id: str) -> Wallet:
        return self._wallets.of(account_id)

    # -- port ---------------------------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        return self.markets.instrument(symbol)

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        self._wallet(account_id)
        await self.ready()
        warn_if_short(self.name, account_id, await self.fetch_balances(account_id), balances)

    def _emit(self, s: Swap, status: OrderStatus, **kw: Any) -> None:
        sig = s.record.signature if s.record else None
        report = VenueReport(s.account_id, s.client_id, status, self.clock.now_ms(), **kw)
        if sig and report.venue_order_id is None:
            report = dataclasses.replace(report, venue_order_id=sig)
        self._listener(report)

    def _reject(self, s: Swap, code: str, reason: str) -> None:
        self._swaps.pop(s.client_id, None)
        self._emit(s, OrderStatus.REJECTED, code=code, reason=reason)

    async def submit(self, order: Order) -> None:
        s = Swap(order.account_id, order.client_id, order.symbol, order.side, order.qty)
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
            s = Swap(leg.account_id, leg.client_id, leg.symbol, leg.side, leg.qty, local=True)
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

    async def _choose(self, s: Swap) -> Choice:
        cfg, route = self.config, self.config.route
        m = self.markets.market(s.symbol)
        return await attempts.route_choice(
            self.routes,
            m,
            s.side,
            s.qty,
            cfg.slippage_bps,
            route.qty_tolerance_bps,
            route.prefer,
            route.prefer_within_bps,
        )

    async def _attempts(self, s: Swap) -> None:
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

    async def _attempt(self, s: Swap) -> bool:
        """One quote + send; True when sent (or possibly sent), False to try again."""
        s.attempt += 1
        try:
            wallet = self._wallet(s.account_id)
            m = self.markets.market(s.symbol)
            choice = await self._choose(s)
            quote = choice.quote
            route = self.routes[quote.route]
            if quote.input_mint == WSOL_MINT:  # the routes spend wrapped SOL, never native
                spend = quote.in_amount if quote.mode == "ExactIn" else quote.threshold
                await self.wrapper.ensure(wallet, spend)
            fee = self.config.priority_fee_lamports
            unsigned, last_valid = await route.swap_transaction(quote, wallet.address, fee)
            signed = wallet.sign(unsigned)
        except RampartError as exc:
            code = exc.code if isinstance(exc, VenueError) else "data"
            self._reject(s, code, exc.message)
            return True
        rec = attempts.new_record(
            client_id=s.client_id,
            attempt=s.attempt,
            account_id=s.account_id,
            symbol=s.symbol,
            side=s.side,
            market=m,
            choice=choice,
            signature=str(signed.signatures[0]),
            last_valid_height=last_valid,
            wallet=wallet.address,
            ts=self.clock.now_ms(),
        )
        await self.journal.record(rec)  # before sending: a crash leaves the signature behind
        s.record, s.quote, s.sent_at = rec, quote, self.timer()
        s.signed, s.since_send = base64.b64encode(bytes(signed)).decode(), 0
        await self.confirms.subscribe(s.client_id, rec.signature)  # before: none is missed
        try:
            await self.rpc.send_transaction(s.signed)
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

    async def _confirm(self, s: Swap) -> None:
        """Wait for the outcome up to ``confirm_timeout_s``; past it poll() resolves it."""
        polls = max(1, math.ceil(self.config.confirm_timeout_s / self.config.confirm_poll_s))
        for tick in range(polls):
            if s.client_id not in self._swaps:
                break
            try:
                if self.confirms.due(s.client_id, tick) and await self._check(s):
                    await self._attempts(s)
                else:
                    await self._rebroadcast(s)
            except RampartError as exc:
                log.warning("swap_check_failed", order=s.client_id, error=exc.message)
            if s.client_id not in self._swaps:
                break
            await self.confirms.wait(s.client_id)
        await self.confirms.done(s.client_id)

    async def _rebroadcast(self, s: Swap) -> None:
        """The same signed bytes again every ``rebroadcast_ms`` while the attempt is pending:
        one lost on its way to the leader lands from a later copy (the RPC is asked not to
        retry, ``maxRetries: 0``, so this is the only resend), one that landed is not run twice,
        and one whose blockhash expired is refused and settled by the next check."""
        s.since_send += 1
        every = max(1, round(self.config.rebroadcast_ms / 1000 / self.config.confirm_poll_s))
        if s.since_send < every or not s.signed or s.record is None or s.record.status != SENT:
            return
        s.since_send = 0
        try:
            await self.rpc.send_transaction(s.signed)
        except RampartError as exc:
            log.info("swap_rebroadcast_refused", order=s.client_id, error=exc.message)

    async def _check(self, s: Swap) -> bool:
        """Learn the current attempt's outcome; True when it can no longer land (try again)."""
        rec = s.record
        if rec is None or rec.status != SENT:
            return rec is not None
        outcome, block_ms = await attempts.settle(
            self.rpc, rec, self.markets, self.config.commitment
        )
        if outcome == "pending":
            return False
        await self.journal.record(rec)
        self.observer.swap(rec.route, outcome, self.timer() - s.sent_at if s.sent_at else 0.0)
        if outcome != "filled":
            return True  # it can no longer land: a new attempt may be made
        slip = reading.realised_slippage_bps(rec)
        self.observer.slippage(rec.route, float(self.config.slippage_bps), slip)
        quote_asset = s.symbol.split("/")[-1]
        self.observer.route_taken(rec.route, rec.best_route, float(rec.route_cost), quote_asset)
        self._report_fill(s, rec, block_ms if block_ms is not None else self.clock.now_ms())
        return False

    def _report_fill(self, s: Swap, rec: SwapRecord, ts: int) -> None:
        self._swaps.pop(s.client_id, None)
        if s.client_id in self._filled:
            return  # never two fills for one client id
        self._filled[s.client_id] = None
        if len(self._filled) > FILLED_MEMORY:
            self._filled.popitem(last=False)
        fill = reading.fill_of(rec, ts)
        if fill.fill_id in s.booked:
            return
        self._emit(s, OrderStatus.FILLED, fill=fill, venue_order_id=rec.signature, whole=True)

    # -- after a restart ----------------------------------------------------------------------

    async def _load(self, s: Swap) -> None:
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

    async def _advance(self, s: Swap) -> None:
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

    # -- checkpoints --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The bracket legs held here (the engine saves them with its checkpoint): nothing
        else is in memory only — sent swaps are in the journal."""
        return {"held": [held_leg(s) for s in self._swaps.values() if s.local]}

    def load_snapshot(self, data: dict[str, Any]) -> None:
        for leg in data.get("held", []):
            s = from_held(leg)
            self._swaps.setdefault(s.client_id, s)

    # -- reconciliation -----------------------------------------------------------------------

    def following(self, account_id: str) -> dict[str, bool]:
        return {s.client_id: s.local for s in self._swaps.values() if s.account_id == account_id}

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        if order.client_id not in self._swaps:
            self._swaps[order.client_id] = followed(order, booked_fill_ids)

    async def refresh(self, account_id: str | None = None) -> None:
        await self._poll(account_id)

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        return await reconcile.order_of(
            self.journal, account_id, client_id, client_id in self._swaps
        )

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        sent = [s.client_id for s in self._swaps.values() if s.account_id == account_id]
        sent = [c for c in sent if not self._swaps[c].local]  # before any await
        found = [await self.fetch_order(account_id, c) for c in sent]
        return [f for f in found if f is not None]

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        return await reconcile.recent_orders(
            self.journal, account_id, symbol, since_ms, limit, self._swaps
        )

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        """Filled swaps from the journal, plus sent ones the chain shows landed cleanly."""
        recs = await reconcile.records(self.journal, account_id, symbol, since_ms)
        market = None
        if any(r.status == SENT for r in recs):
            await self.ready()
            market = self.markets.market(symbol)
        return await reconcile.fills(recs, self.rpc, market, self.config.commitment, limit)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        owner = self._wallet(account_id).address
        out = await reconcile.balances(
            self.rpc, owner, self.markets.asset_of_mint, self.config.commitment
        )
        split_gas(out, self.config.gas_reserve_sol, self._sol_is_cash)
        return out


__all__ = ["GAS", "SolanaVenue"]
