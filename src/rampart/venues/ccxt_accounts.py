"""What a ccxt venue and its order sync both read: the clients by account and the markets.

:class:`CcxtClients` holds one ccxt client per account (each account trades with its own API
key) and the public client that loads the markets; :class:`CcxtMarkets` holds the markets
once loaded. The venue owns both and hands them to its :class:`~.ccxt_sync.OrderSync`, so the
sync reads clients and instruments without holding the venue itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

import ccxt.async_support as ccxt
import structlog

from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.venues.send_guard import guard_signing

log = structlog.get_logger("rampart.venues.ccxt")

BracketMode = Literal["oco", "stop", "monitor"]


def check_markets(markets: Any) -> None:
    if not isinstance(markets, dict) or not markets:
        raise ccxt.BadResponse("the exchange listed no markets")


def default_bracket_mode(exchange_id: str, client: Any) -> BracketMode:
    """The best form of bracket the exchange offers through ccxt (see ccxt_venue)."""
    if exchange_id == "binance" and hasattr(client, "privatePostOrderListOco"):
        return "oco"
    has = getattr(client, "has", {}) or {}
    if has.get("createStopLossOrder") or has.get("createStopOrder"):
        return "stop"
    return "monitor"


class CcxtClients:
    """The ccxt clients of one exchange: one per account, and the public one."""

    def __init__(self, name: str, clients: Mapping[str, Any], public: Any | None) -> None:
        if public is None and not clients:
            raise ConfigError("A ccxt venue needs at least one client (an account's API key).")
        self.name = name
        self.by_account: dict[str, Any] = dict(clients)
        self.public: Any = public if public is not None else next(iter(self.by_account.values()))
        for client in self.by_account.values():
            guard_signing(client)  # an order signed outside its sender's lease is never made

    def client(self, account_id: str) -> Any:
        try:
            return self.by_account[account_id]
        except KeyError:
            raise ConfigError(
                f"Account {account_id!r} has no API key for {self.name}; add it under "
                f"'venue.credentials.{account_id}'."
            ) from None

    def add(self, account_id: str, client: Any, *, markets_loaded: bool) -> None:
        """Route ``account_id``'s orders through ``client``. Once the markets are loaded it
        shares them, so it needs no load of its own."""
        if account_id in self.by_account:
            raise ConfigError(f"Account {account_id!r} already has an API key on {self.name}.")
        if markets_loaded and client is not self.public:
            client.set_markets_from_exchange(self.public)
        guard_signing(client)
        self.by_account[account_id] = client

    async def remove(self, account_id: str) -> None:
        """Forget ``account_id``'s client and close it, unless another account or the public
        side still uses it."""
        client = self.by_account.pop(account_id, None)
        if client is None or client is self.public or client in self.by_account.values():
            return
        try:
            await client.close()
        except Exception as exc:  # closing is best effort
            log.info("client_close_failed", exchange=self.name, error=type(exc).__name__)

    def share_markets(self) -> None:
        """Give every account client the markets the public client loaded (loaded once)."""
        public = self.public
        for other in {id(c): c for c in self.by_account.values()}.values():
            if other is not public:
                other.set_markets_from_exchange(public)

    def wall_grace_s(self, account_id: str) -> float:
        """Real seconds after which a request sent now can no longer be accepted: the
        exchange's receive window (Binance: ``recvWindow``) plus one request timeout."""
        client = self.by_account.get(account_id, self.public)
        options = getattr(client, "options", {}) or {}
        window_ms = options.get("recvWindow") if isinstance(options, dict) else None
        timeout_ms = getattr(client, "timeout", 10_000)
        return (float(window_ms or 0) + float(timeout_ms or 0)) / 1000

    async def aclose(self) -> None:
        # All at once: each client's close waits a moment for its connections to end, and a
        # shard handed over with fifty accounts would wait fifty moments in turn.
        clients = list({id(c): c for c in [self.public, *self.by_account.values()]}.values())
        closed = await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for outcome in closed:
            if isinstance(outcome, Exception):  # closing is best effort
                log.info("client_close_failed", exchange=self.name, error=type(outcome).__name__)


class CcxtMarkets:
    """The exchange's markets Rampart trades, as Instruments, and the order types each takes."""

    def __init__(self, name: str, instruments: Mapping[str, Instrument] | None = None) -> None:
        self.name = name
        self.instruments: dict[str, Instrument] = dict(instruments or {})
        self.order_types: dict[str, set[str] | None] = {}
        self.loaded = False

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise ConfigError(f"{symbol} is not a loaded market of {self.name}.") from None
