"""Proving an exchange key before it is saved: first its shape (no request made for text that
cannot be a key), then one balance fetch with it, through ccxt.

Shapes: Binance's API keys and secrets (HMAC) are 64 letters and digits each — its API
documentation's example key and secret are — so ``abc``, 5,000 characters or a key with a line
break in it is refused in one sentence before the secret is asked or the exchange is called.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import ccxt.async_support as ccxt_async

from rampart.domain.errors import RampartError
from rampart.venues.ccxt_client import make_client
from rampart.venues.settings import VenueConfig

KeyChecker = Callable[[str, str, str], Awaitable[None]]
"""``(exchange, api_key, secret)``: returns when the key works, raises RampartError if not."""


@dataclass(frozen=True, slots=True)
class Shape:
    pattern: re.Pattern[str]
    words: str
    """What one looks like, in the sentence that refuses another."""


SHAPES: dict[str, Shape] = {
    "binance": Shape(re.compile(r"[A-Za-z0-9]{64}"), "64 letters and digits"),
}
"""Per exchange: what its API key and its secret look like (both the same shape here)."""


def check_shape(exchange: str, what: str, text: str) -> None:
    """Refuse ``text`` as ``exchange``'s ``what`` ("API key" or "API secret") when it cannot
    be one; the sentence never quotes it. An exchange without a known shape is not checked."""
    shape = SHAPES.get(exchange)
    if shape is None or shape.pattern.fullmatch(text):
        return
    name = exchange.capitalize()
    raise RampartError(
        f"That is not a {name} {what}: a {name} {what} is {shape.words}, on one line with "
        f"nothing else. Nothing was saved; send the {what} again, or /connect {exchange} to "
        "start over."
    )


def ccxt_key_checker(venue: VenueConfig, mode: str) -> KeyChecker:
    """Checks a key against ``venue``'s endpoint (its sandbox, or any in ``testnet`` mode)."""
    v = venue

    async def check(exchange: str, api_key: str, secret: str) -> None:
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
            await client.fetch_balance()
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

    return check
