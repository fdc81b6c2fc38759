"""Choosing and building the venue (and the exchange feed) from the settings.

Each ``venue.kind`` is built by its entry in :mod:`rampart.wiring.venue_kinds`: ``paper`` → the
in-process PaperVenue; ``solana`` → swaps through bags.fm or Jupiter
(:mod:`rampart.wiring.solana`); ``ccxt`` → a CcxtVenue with one ccxt client per
account (its own key from ``venue.credentials``; an investor's stored key is added later
through :func:`investor_client`), the exchange's testnet when ``venue.sandbox`` is set or
``mode`` is ``testnet``, and every request sent to ``venue.api_url`` when set (the exchange
simulator). ``live`` and ``testnet`` modes need a ccxt venue, the exchange's feed, a master
key and PostgreSQL; paper mode may use a ccxt venue only on a testnet or the simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from rampart.clock import Clock, WallClock
from rampart.config import Settings, VenueConfig
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.trading.ports import Venue
from rampart.venues.retry import RetryPolicy
from rampart.wiring.budget import request_budget

if TYPE_CHECKING:
    # ccxt (with aiohttp) takes most of a second to import: loaded only by a ccxt venue or
    # feed, never by a paper session or a replay.
    from rampart.market.ccxt_feed import CcxtFeed, StaleCallback
    from rampart.venues.ccxt_errors import OnCall

PAPER_HISTORY = 100
"""Finished orders the paper venue remembers per account (each checkpoint carries them)."""


def _sandbox(settings: Settings) -> bool:
    return settings.venue.sandbox or settings.mode == "testnet"


def public_client(settings: Settings, *, pro: bool = False) -> Any:
    """A ccxt client without keys, for markets and candles."""
    from rampart.venues.ccxt_client import make_client

    v = settings.venue
    return make_client(
        v.exchange,
        sandbox=_sandbox(settings),
        api_url=v.api_url,
        timeout_s=v.request_timeout_s,
        rate_limit_ms=v.rate_limit_ms,
        pro=pro,
    )


def account_clients(settings: Settings, account_ids: Iterable[str]) -> dict[str, Any]:
    v = settings.venue
    clients: dict[str, Any] = {}
    for account_id in account_ids:
        creds = v.credentials.get(account_id)
        if creds is None:
            raise ConfigError(
                f"Account {account_id!r} has no API key for {v.exchange}; add it under "
                f"'venue.credentials.{account_id}'."
            )
        clients[account_id] = investor_client(
            settings, creds.api_key.get_secret_value(), creds.secret.get_secret_value()
        )
    return clients


def order_stream_twin(settings: Settings) -> Callable[[Any], Any] | None:
    """What builds an account's ccxt.pro client for its order stream from its REST client (the
    same key, exchange, testnet and URL), or None when ``venue.use_order_stream`` is off or the
    exchange's ccxt.pro class has no ``watchOrders`` (orders are then polled before every
    candle, as before)."""
    if not settings.venue.use_order_stream or not _watches_orders(settings.venue.exchange):
        return None

    def twin(client: Any) -> Any:
        return investor_client(settings, str(client.apiKey), str(client.secret), pro=True)

    return twin


@cache
def _watches_orders(exchange_id: str) -> bool:
    """Whether ccxt.pro's client for the exchange offers ``watchOrders`` (asked once)."""
    from rampart.venues.ccxt_client import exchange_class

    try:
        probe = exchange_class(exchange_id, pro=True)()
    except ConfigError:
        return False
    return bool((getattr(probe, "has", None) or {}).get("watchOrders"))


def investor_client(settings: Settings, api_key: str, secret: str, *, pro: bool = False) -> Any:
    """A ccxt client trading with one key, built as the configured accounts' clients are
    (same exchange, testnet, URL override, timeouts and rate limit): an investor's own key
    that the Telegram bot stored encrypted."""
    from rampart.venues.ccxt_client import make_client

    v = settings.venue
    return make_client(
        v.exchange,
        api_key=api_key,
        secret=secret,
        sandbox=_sandbox(settings),
        api_url=v.api_url,
        timeout_s=v.request_timeout_s,
        rate_limit_ms=v.rate_limit_ms,
        pro=pro,
    )


def retry_policy(v: VenueConfig) -> RetryPolicy:
    return RetryPolicy(attempts=v.retries + 1)


def unknown_grace_s(v: VenueConfig) -> float:
    """How long an unconfirmed order may stay missing before it is declared never arrived:
    the exchange's receive window (10 s on Binance) plus a request timeout on each side."""
    return 10.0 + 2 * v.request_timeout_s


def make_ccxt_venue(
    settings: Settings,
    instruments: Mapping[str, Instrument],
    clock: Clock,
    *,
    accounts: Iterable[str] | None = None,
    on_call: OnCall | None = None,
) -> Venue:
    from rampart.venues.ccxt_venue import CcxtVenue

    v = settings.venue
    ids = list(accounts) if accounts is not None else [a.id for a in settings.accounts]
    return CcxtVenue(
        account_clients(settings, ids),
        clock=clock,
        exchange_id=v.exchange,
        public=public_client(settings),
        instruments=instruments,
        policy=retry_policy(v),
        bracket_mode=v.bracket_mode,
        unknown_grace_s=unknown_grace_s(v),
        on_call=on_call,
        client_for_key=partial(investor_client, settings),
        budget=request_budget(settings),
        stream_twin=order_stream_twin(settings),
        stream_poll_s=v.order_stream_poll_s,
        follow_every_s=v.follow_every_s,
    )


async def ccxt_instruments(
    settings: Settings, symbols: list[str], clock: Clock | None = None
) -> dict[str, Instrument]:
    """Instruments for ``symbols`` from the exchange's markets."""
    from rampart.venues.ccxt_venue import CcxtVenue

    client = public_client(settings)
    venue = CcxtVenue(
        {},
        clock=clock or WallClock(),
        exchange_id=settings.venue.exchange,
        public=client,
        policy=retry_policy(settings.venue),
        budget=request_budget(settings),
    )
    try:
        return await venue.load(symbols)
    finally:
        await client.close()


def make_ccxt_feed(
    settings: Settings,
    clock: Clock,
    symbols: Iterable[str] | None = None,
    *,
    on_stale: StaleCallback | None = None,
    on_call: OnCall | None = None,
    since_ms: int | None = None,
) -> CcxtFeed:
    """The exchange's candles for ``feed.kind: ccxt`` (close it with ``await feed.close()``)."""
    from rampart.market.ccxt_feed import CcxtFeed

    f = settings.feed
    ws = public_client(settings, pro=True) if f.use_websocket else None
    return CcxtFeed(
        public_client(settings),
        list(symbols) if symbols is not None else list(f.symbols),
        clock=clock,
        timeframe=f.timeframe,
        poll_every_s=f.poll_every_s,
        stale_after_s=f.stale_after_s,
        on_stale=on_stale,
        use_websocket=f.use_websocket,
        ws_client=ws,
        on_call=on_call,
        since_ms=since_ms,
        budget=request_budget(settings),
    )


def stale_marker(stale_symbols: set[str]) -> StaleCallback:
    """An ``on_stale`` callback keeping ``engine.stale_symbols`` in step with the feed."""

    def mark(symbol: str, stale: bool) -> None:
        if stale:
            stale_symbols.add(symbol)
        else:
            stale_symbols.discard(symbol)

    return mark
