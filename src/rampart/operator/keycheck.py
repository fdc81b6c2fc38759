"""Proving an exchange key before it is saved: one balance fetch with it, through ccxt (and
the same fetch where no venue holds the key: ``rampart serve`` starting an investor's account).

The bot checks a key's shape first (:mod:`rampart.telegram.keycheck`); this makes the one
request, so the fronts never build an exchange client themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import ccxt.async_support as ccxt_async

from rampart.domain.errors import RampartError
from rampart.domain.fills import Balance
from rampart.venues.ccxt_client import make_client
from rampart.venues.ccxt_mapping import balances_from
from rampart.venues.settings import VenueConfig

KeyChecker = Callable[[str, str, str], Awaitable[None]]
"""``(exchange, api_key, secret)``: returns when the key works, raises RampartError if not."""


async def key_balances(
    venue: VenueConfig, mode: str, exchange: str, api_key: str, secret: str
) -> dict[str, Balance]:
    """The exchange account's balances, read with its own key (one request); RampartError in
    one sentence when the key is refused or the exchange does not answer."""
    v = venue
    try:
        client = make_client(
            exchange,
            api_key=api_key,
            secret=secret,
            sandbox=v.sandbox or mode == "testnet",
            api_url=v.api_url,
            timeout_s=v.request_timeout_s,
        )
    except Exception:
        raise RampartError(f"Rampart cannot connect to {exchange!r}.") from None
    # Spot balances only: with a key, ccxt would also list margin pairs, which a spot-only
    # key (and the simulator) cannot serve.
    client.options["fetchMargins"] = False
    try:
        return balances_from(await client.fetch_balance())
    except ccxt_async.AuthenticationError:
        raise RampartError(
            f"{exchange} refused that key and secret; check them and try /connect again."
        ) from None
    except ccxt_async.PermissionDenied:
        raise RampartError(
            f"{exchange} says that key may not read balances; enable that permission."
        ) from None
    except ccxt_async.BaseError:
        # The exchange's own message can quote request parameters: keep it out.
        raise RampartError(
            f"{exchange} did not answer the balance check; try /connect again later."
        ) from None
    finally:
        await client.close()


def ccxt_key_checker(venue: VenueConfig, mode: str) -> KeyChecker:
    """Checks a key against ``venue``'s endpoint (its sandbox, or any in ``testnet`` mode)."""

    async def check(exchange: str, api_key: str, secret: str) -> None:
        await key_balances(venue, mode, exchange, api_key, secret)

    return check
