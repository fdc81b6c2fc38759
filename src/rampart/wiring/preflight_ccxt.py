"""Preflight of an exchange through ccxt (``venue.kind: ccxt``): server time, exchange info,
each key's balance and its restrictions (:mod:`rampart.venues.key_rights`), read with the
clients the venue itself is built with (same exchange, testnet, URL override and timeouts)
and held against the shapes Rampart reads.

Binance's answers are checked field by field against its documented shapes (the contract
fixtures in ``tests/contracts/binance/``): ``serverTime`` an integer; each traded symbol
``TRADING`` with the price, lot-size and notional filters the venue sizes orders by; the
account's ``balances`` as ``{asset, free, locked}`` and ``canTrade``. Other exchanges are
checked as far as ccxt's unified answers go.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from rampart.domain.errors import DataError
from rampart.venues.ccxt_errors import Kind, classify, http_status, sentence
from rampart.venues.ccxt_mapping import balances_from, instrument_from_market, num
from rampart.venues.key_rights import (
    PUBLISHED,
    page_of,
    read_key_rights,
    refusal,
    unpinned,
    unread,
)
from rampart.wiring.preflight_checks import (
    Check,
    WallMs,
    failed,
    host_of,
    ok,
    skipped,
    unreachable,
    warned,
)
from rampart.wiring.venues import investor_client, public_client

if TYPE_CHECKING:
    from rampart.config import Settings

T = TypeVar("T")

AHEAD_LIMIT_MS = 1000
"""Binance refuses a signed request stamped 1 s or more ahead of its clock (and one older than
the receive window): the documented rule for ``timestamp`` and ``recvWindow``."""
PRICE_FILTERS = ("PRICE_FILTER",)
LOT_FILTERS = ("LOT_SIZE",)
NOTIONAL_FILTERS = ("NOTIONAL", "MIN_NOTIONAL")


class _Stop(Exception):
    """A check ends here with this result."""

    def __init__(self, check: Check) -> None:
        super().__init__(check.sentence)
        self.check = check


async def _ask(name: str, host: str, exchange: str, call: Callable[[], Awaitable[T]]) -> T:
    """``await call()``; a failure ends the check: no answer at all is "cannot reach", an
    answer that could not be read or was a refusal is a failure of the service."""
    try:
        return await call()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        kind = classify(exc)
        if kind is None:
            raise
        if kind is Kind.UNREACHABLE:
            why = "the connection was refused or the host is unknown."
            raise _Stop(unreachable(name, host, why)) from None
        if kind is Kind.TIMEOUT:
            raise _Stop(unreachable(name, host, "it did not answer in time.")) from None
        if kind is Kind.DISCONNECTED and http_status(exc) is None:
            why = "the connection dropped before an answer."
            raise _Stop(unreachable(name, host, why)) from None
        if kind is Kind.BAD_RESPONSE:
            raise _Stop(failed(name, host, f"{exchange} answered something unreadable.")) from None
        raise _Stop(failed(name, host, sentence(kind, exchange, exc))) from None


def _not_json(client: Any) -> bool:
    """The last answer had a body that is not JSON (ccxt then hands back empty results)."""
    text = client.last_http_response
    if not isinstance(text, str) or not text:
        return False
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _api_url(client: Any) -> str:
    api = client.urls.get("api")
    if isinstance(api, dict):
        first = api.get("public") or next((u for u in api.values() if isinstance(u, str)), "")
        return str(first)
    return str(api or "")


def traded_symbols(settings: Settings) -> list[str]:
    """The symbols the configured accounts trade (the feed's when no account names any)."""
    out = [s for a in settings.accounts for s in a.symbols]
    return list(dict.fromkeys(out or settings.feed.symbols))


# -- server time ---------------------------------------------------------------------------------


async def server_time(client: Any, host: str, exchange: str, now_ms: WallMs) -> Check:
    name = "server time"
    before = now_ms()
    if exchange == "binance":
        raw = await _ask(name, host, exchange, lambda: client.public_get_time())
        server = raw.get("serverTime") if isinstance(raw, dict) else None
    else:
        server = await _ask(name, host, exchange, lambda: client.fetch_time())
    after = now_ms()
    if server is None and _not_json(client):
        return failed(name, host, f"{exchange} answered the time with something that is not JSON.")
    if not isinstance(server, int) or isinstance(server, bool) or server <= 0:
        return failed(
            name, host, f"{exchange} answered the time without serverTime in milliseconds."
        )
    skew = (before + after) // 2 - server
    window = int(client.options.get("recvWindow") or 5000)
    where = f"This machine's clock is {abs(skew) / 1000:.1f} s " + (
        "ahead of" if skew > 0 else "behind"
    )
    if skew >= AHEAD_LIMIT_MS or -skew > window:
        return failed(
            name,
            host,
            f"{where} the exchange's, so it refuses signed requests (it accepts 1 s ahead "
            f"and {window / 1000:g} s behind): set this machine's clock (NTP).",
        )
    return ok(name, host, f"Answered; {where[0].lower()}{where[1:]} the exchange's.")


# -- exchange info -------------------------------------------------------------------------------


def binance_symbol_problem(info: Any) -> str | None:
    """What is missing from one exchangeInfo symbol for Rampart to size orders on it."""
    if not isinstance(info, dict):
        return "its exchangeInfo entry is not an object"
    status = info.get("status")
    if status != "TRADING":
        return f"it is not trading (status {status})"
    filters = info.get("filters")
    if not isinstance(filters, list):
        return "its exchangeInfo entry has no filters (tick size, lot size, minimum notional)"
    by_type = {f.get("filterType"): f for f in filters if isinstance(f, dict)}
    wanted = (
        (PRICE_FILTERS, "tickSize", "the price filter"),
        (LOT_FILTERS, "stepSize", "the lot-size filter"),
        (NOTIONAL_FILTERS, "minNotional", "the minimum-notional filter"),
    )
    for types, field, what in wanted:
        found = next((by_type[t] for t in types if t in by_type), None)
        if found is None or num(found.get(field)) is None:
            return f"its exchangeInfo lacks {what} ({types[0]} with {field})"
    return None


async def exchange_info(client: Any, host: str, exchange: str, symbols: list[str]) -> Check:
    name = "exchange info"
    markets = await _ask(name, host, exchange, lambda: client.load_markets())
    if not markets and _not_json(client):
        return failed(name, host, f"{exchange} answered exchange info that is not JSON.")
    if not isinstance(markets, dict) or not markets:
        return failed(name, host, f"{exchange} answered exchange info that lists no markets.")
    for symbol in symbols:
        market = markets.get(symbol)
        if not isinstance(market, dict):
            return failed(name, host, f"{exchange} does not list {symbol}.")
        problem = binance_symbol_problem(market.get("info")) if exchange == "binance" else None
        if problem is not None:
            return failed(name, host, f"{symbol}: {problem}.")
        try:
            instrument_from_market(market, client.precisionMode)
        except DataError as exc:
            return failed(name, host, exc.message)
    listed = ", ".join(symbols)
    return ok(name, host, f"{listed} listed, with tick size, lot size and minimum notional.")


# -- balances ------------------------------------------------------------------------------------


def binance_account_problem(info: Any) -> str | None:
    if not isinstance(info, dict) or not isinstance(info.get("balances"), list):
        return "the account answer has no balances list"
    for entry in info["balances"]:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("asset"), str)
            or num(entry.get("free")) is None
            or num(entry.get("locked")) is None
        ):
            return "a balance in the account answer is not {asset, free, locked}"
    if info.get("canTrade") is not True:
        return "this key reads the account but may not trade (canTrade is not true)"
    return None


async def balance(
    client: Any, host: str, exchange: str, account_id: str, quotes: list[str]
) -> Check:
    name = f"balance of {account_id}"
    answer = await _ask(name, host, exchange, lambda: client.fetch_balance())
    if not isinstance(answer, dict) or not isinstance(answer.get("free"), dict):
        return failed(name, host, f"{exchange} answered the balance unreadably.")
    if exchange == "binance":
        problem = binance_account_problem(answer.get("info"))
        if problem is not None:
            return failed(name, host, f"{problem[0].upper()}{problem[1:]}.")
    held = balances_from(answer)
    shown = ", ".join(
        f"{q} {_amount(held[q].free if q in held else Decimal(0))} free" for q in quotes
    )
    assets = f"{len(held)} asset{'' if len(held) == 1 else 's'}"
    return ok(name, host, f"Key accepted; {assets} held ({shown}).")


def _amount(value: Decimal) -> str:
    return f"{value.normalize():f}"


# -- key restrictions ----------------------------------------------------------------------------


async def key_restrictions(
    client: Any, host: str, exchange: str, account_id: str, *, accept_unread: bool = False
) -> Check:
    """Refuse a key that can withdraw, and one whose restrictions could not be read (nothing
    then shows it cannot withdraw) unless ``accept_unread`` (``venue.accept_unread_key_rights``)
    turns that into a warning; warn when it is not pinned to an IP address."""
    name = f"key restrictions of {account_id}"
    who, whose = f"The key of {account_id}", f"{account_id}'s key"
    look = f"check on {page_of(exchange)} that it cannot withdraw and is pinned to this address."
    if client.isSandboxModeEnabled:
        return skipped(
            name, f"{exchange}'s testnet does not publish a key's restrictions: on the live "
            f"exchange, {look}"
        )  # fmt: skip

    def not_read(why: str, reached: bool = True) -> Check:
        if accept_unread:
            accepted = (
                f"The restrictions of {whose} could not be read ({why}); accepted as "
                f"venue.accept_unread_key_rights says: {look}"
            )
            return warned(name, host, accepted, reached=reached)
        return failed(name, host, unread(exchange, whose, why), reached=reached)

    if exchange not in PUBLISHED:
        return not_read(f"{exchange} publishes no key restrictions", reached=False)
    try:
        rights = await _ask(name, host, exchange, lambda: read_key_rights(client, exchange))
    except _Stop as stop:
        return not_read(stop.check.sentence.rstrip("."), stop.check.reached)
    except Exception as exc:  # any odd answer: refused (or warned), never a crash
        return not_read(exc.message if isinstance(exc, DataError) else "an unreadable answer")
    if rights is None:
        return not_read(f"{exchange} publishes no key restrictions", reached=False)
    if rights.can_withdraw:
        return failed(name, host, refusal(exchange, who))
    if not rights.ip_restricted:
        return warned(name, host, unpinned(exchange, who))
    return ok(name, host, "The key cannot withdraw and is pinned to IP addresses.")


# -- all of them ---------------------------------------------------------------------------------


async def _run(check: Awaitable[Check]) -> Check:
    try:
        return await check
    except _Stop as stop:
        return stop.check


async def ccxt_checks(settings: Settings, now_ms: WallMs) -> list[Check]:
    v = settings.venue
    exchange = v.exchange
    symbols = traded_symbols(settings)
    quotes = list(dict.fromkeys(s.split("/", 1)[-1] for s in symbols))
    public = public_client(settings)
    host = host_of(_api_url(public))
    try:
        checks = [
            await _run(server_time(public, host, exchange, now_ms)),
            await _run(exchange_info(public, host, exchange, symbols)),
        ]
    finally:
        await public.close()
    if not v.credentials:
        checks.append(
            skipped(
                "account balance",
                "No API key under venue.credentials: no balance read (trading needs one).",
            )
        )
    for account_id, creds in v.credentials.items():
        client = investor_client(
            settings, creds.api_key.get_secret_value(), creds.secret.get_secret_value()
        )
        try:
            checks.append(await _run(balance(client, host, exchange, account_id, quotes)))
            checks.append(
                await key_restrictions(
                    client, host, exchange, account_id, accept_unread=v.accept_unread_key_rights
                )
            )
        finally:
            await client.close()
    return checks


__all__ = [
    "balance",
    "binance_account_problem",
    "binance_symbol_problem",
    "ccxt_checks",
    "exchange_info",
    "key_restrictions",
    "server_time",
    "traded_symbols",
]
