"""Building ccxt clients: one per account (its own key), spot only, optional URL override.

``api_url`` points every REST endpoint of the client at another host while keeping the paths
(``https://api.binance.com/api/v3`` → ``http://127.0.0.1:8900/api/v3``): that is how the exchange
simulator is reached. Websocket endpoints are pointed at the same host with ``ws://``.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt.async_support as ccxt_async

from rampart.domain.errors import ConfigError
from rampart.venues.ccxt_throttle import pace_on_monotonic

SPOT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        "defaultType": "spot",
        # Currencies come from a wallet endpoint that needs keys and does not exist on the
        # testnet; the markets carry everything Rampart needs.
        "fetchCurrencies": False,
        "fetchMarkets": {"types": ["spot"]},
        # Spot only: the margin pairs are not needed (nor offered by the simulator).
        "fetchMargins": False,
        "adjustForTimeDifference": False,
    },
}


def _rebase(url: str, base: Any) -> str:
    parts = urlsplit(url)
    scheme = base.scheme
    if parts.scheme in ("ws", "wss"):
        scheme = "wss" if base.scheme == "https" else "ws"
    return urlunsplit((scheme, base.netloc, parts.path, parts.query, parts.fragment))


def _rebase_all(value: Any, base: Any) -> Any:
    if isinstance(value, str) and "://" in value:
        return _rebase(value, base)
    if isinstance(value, dict):
        return {k: _rebase_all(v, base) for k, v in value.items()}
    return value


def override_urls(client: Any, api_url: str) -> None:
    """Point all of the client's API URLs at ``api_url``'s scheme and host."""
    base = urlsplit(api_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ConfigError(f"Setting 'venue.api_url' must be an http(s) URL, got {api_url!r}.")
    client.urls["api"] = _rebase_all(client.urls["api"], base)


def exchange_class(exchange_id: str, pro: bool = False) -> Any:
    if pro:
        import ccxt.pro as ccxt_pro

        module: Any = ccxt_pro
    else:
        module = ccxt_async
    cls = getattr(module, exchange_id, None)
    if exchange_id not in ccxt_async.exchanges or cls is None:
        kind = "a websocket client for" if pro else "an exchange called"
        raise ConfigError(f"ccxt does not have {kind} {exchange_id!r}.")
    return cls


_TLS: dict[str, ssl.SSLContext] = {}
"""One verifying TLS context per CA file, shared by the process's clients."""


def share_tls(client: Any) -> None:
    """Give ``client`` the process's TLS context instead of the one it would build when it
    first opens: building one reads the whole CA file (some 25 ms), and a worker taking a
    shard of fifty accounts built fifty. The context verifies as ccxt's own would."""
    options = getattr(client, "options", None) or {}
    if not client.verify or client.ssl_context is not None:
        return
    if options.get("include_OS_certificates"):
        return  # ccxt adds the system's CAs to its own context: leave that to it
    cafile = client.cafile
    context = _TLS.get(cafile)
    if context is None:
        context = _TLS[cafile] = ssl.create_default_context(cafile=cafile)
    client.ssl_context = context


def make_client(
    exchange_id: str,
    *,
    api_key: str | None = None,
    secret: str | None = None,
    sandbox: bool = False,
    api_url: str | None = None,
    timeout_s: float = 10.0,
    rate_limit_ms: float | None = None,
    pro: bool = False,
) -> Any:
    """A ccxt async client; ``pro`` gives the websocket-capable class (ccxt.pro)."""
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(timeout_s * 1000),
        "options": dict(SPOT_OPTIONS.get(exchange_id, {"defaultType": "spot"})),
    }
    if api_key is not None:
        config["apiKey"] = api_key
    if secret is not None:
        config["secret"] = secret
    if rate_limit_ms is not None:
        config["rateLimit"] = rate_limit_ms
    client = exchange_class(exchange_id, pro)(config)
    pace_on_monotonic(client)  # a host clock step must not stall every request
    share_tls(client)
    if sandbox:
        try:
            client.set_sandbox_mode(True)
        except Exception:
            raise ConfigError(f"{exchange_id} has no testnet (sandbox) in ccxt.") from None
    if api_url:
        override_urls(client, api_url)
    return client
