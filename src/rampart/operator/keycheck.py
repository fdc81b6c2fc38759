"""Proving an exchange key before it is saved: one balance fetch with it, through ccxt (and
the same fetch where no venue holds the key: ``rampart serve`` starting an investor's account),
then the key's restrictions (:mod:`rampart.venues.key_rights`): a key that can withdraw is
refused, and so is one whose restrictions could not be read unless the operator accepts such
keys (``venue.accept_unread_key_rights``); one not pinned to an IP address is accepted with a
warning the bot passes on.

The bot checks a key's shape first (:mod:`rampart.telegram.keycheck`); this makes the one
request, so the fronts never build an exchange client themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import ccxt.async_support as ccxt_async

from rampart.domain.errors import RampartError
from rampart.domain.fills import Balance
from rampart.venues.ccxt_client import make_client
from rampart.venues.ccxt_mapping import balances_from
from rampart.venues.key_rights import PUBLISHED, page_of, read_key_rights, refusal, unpinned
from rampart.venues.settings import VenueConfig

KeyChecker = Callable[[str, str, str], Awaitable[str | None]]
"""``(exchange, api_key, secret)``: returns when the key works (a warning to pass on, or None),
raises RampartError if not."""

UNREAD = (
    "I could not read this key's restrictions from {exchange}: make sure withdrawals are off "
    "for it on {page}."
)


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


async def key_warning(
    venue: VenueConfig, mode: str, exchange: str, api_key: str, secret: str
) -> str | None:
    """Refuse (RampartError) a key that can withdraw, and one whose restrictions could not be
    read unless ``venue.accept_unread_key_rights`` (then a warning); the warning for one not
    pinned to an IP address; None for a safe key, or on a testnet (which publishes none)."""
    if venue.sandbox or mode == "testnet":
        return None

    def not_read(why: str) -> str:
        if venue.accept_unread_key_rights:
            return UNREAD.format(exchange=exchange, page=page_of(exchange))
        raise RampartError(
            f"I could not read this key's restrictions from {exchange} ({why}), so nothing "
            "shows that it cannot withdraw. Nothing was saved; make sure withdrawals are off "
            f"for it on {page_of(exchange)}, then /connect {exchange} again later."
        )

    if exchange not in PUBLISHED:
        return not_read(f"{exchange} publishes none")
    client = make_client(
        exchange,
        api_key=api_key,
        secret=secret,
        api_url=venue.api_url,
        timeout_s=venue.request_timeout_s,
    )
    try:
        rights = await read_key_rights(client, exchange)
    except Exception:  # an odd answer or an outage: refused, or warned when accepted
        return not_read("it did not answer them")
    finally:
        await client.close()
    if rights is None:
        return not_read(f"{exchange} publishes none")
    if rights.can_withdraw:
        raise RampartError(
            f"{refusal(exchange, 'That key')} Nothing was saved; /connect {exchange} "
            "with a key that cannot withdraw."
        )
    return None if rights.ip_restricted else unpinned(exchange, "That key")


def ccxt_key_checker(venue: VenueConfig, mode: str) -> KeyChecker:
    """Checks a key against ``venue``'s endpoint (its sandbox, or any in ``testnet`` mode)."""

    async def check(exchange: str, api_key: str, secret: str) -> str | None:
        await key_balances(venue, mode, exchange, api_key, secret)
        return await key_warning(venue, mode, exchange, api_key, secret)

    return check
