"""Pointing the real ccxt ``binance`` client at the simulator.

Every URL ccxt knows for Binance (live, testnet and demo, all API families) is rewritten to
the simulator's base URL with the same path, so nothing can leave the machine even when a
method reaches an endpoint the simulator does not serve (it then answers 404). Spot only:
markets are loaded from ``/api/v3/exchangeInfo`` alone and currencies are not fetched.

ccxt picks exchange-specific error tables by matching ``https://api.binance.com`` in the
URL; against ``http://127.0.0.1`` it uses its general Binance table, which holds every
code the simulator sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async

SPOT_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    "fetchCurrencies": False,
    "fetchMarkets": {"types": ["spot"]},
    "fetchMargins": False,
    "warnOnFetchOpenOrdersWithoutSymbol": False,
    "adjustForTimeDifference": False,
}


def _rebase(url: str, base: str) -> str:
    parts = urlsplit(url)
    return base.rstrip("/") + parts.path


def point_at_simulator(exchange: Any, sim_url: str) -> Any:
    """Rewrite a ccxt binance instance's URLs and options to use the simulator (in place)."""
    urls = exchange.urls
    for name in ("api", "test", "demo", "apiBackup"):
        table = urls.get(name)
        if isinstance(table, dict):
            urls[name] = {
                k: _rebase(v, sim_url) if isinstance(v, str) else v for k, v in table.items()
            }
    for name, value in SPOT_OPTIONS.items():
        exchange.options[name] = value
    return exchange


def ccxt_client(
    sim_url: str,
    key: str | None = None,
    secret: str | None = None,
    clock_ms: Callable[[], int] | None = None,
    **config: Any,
) -> Any:
    """A ``ccxt.async_support.binance`` talking to the simulator at ``sim_url``.

    ``config`` is passed to the ccxt constructor (e.g. ``enableRateLimit``, ``timeout`` in
    milliseconds); its ``options`` are merged over the spot defaults above. ``clock_ms``: the
    real time its signed requests are stamped with, when the simulator's is injected too.
    """
    options = {**SPOT_OPTIONS, **config.pop("options", {})}
    settings: dict[str, Any] = {"options": options, **config}
    if key is not None:
        settings["apiKey"] = key
    if secret is not None:
        settings["secret"] = secret
    exchange = ccxt_async.binance(settings)
    point_at_simulator(exchange, sim_url)
    for name, value in options.items():
        exchange.options[name] = value
    if clock_ms is not None:
        # ccxt stamps signed requests with ``nonce()``, which reads ``milliseconds()``.
        exchange.milliseconds = clock_ms
    return exchange
