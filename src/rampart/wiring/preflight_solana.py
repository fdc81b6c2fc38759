"""Preflight of the Solana venue (``venue.kind: solana``): a quote from each configured route,
getHealth and getLatestBlockhash on every RPC node, and each wallet's balances, all through the
venue's own clients (:mod:`rampart.venues.solana.routes`, :class:`RpcPool`,
:func:`~rampart.venues.solana.reconcile.balances`).

Their parsers refuse a wrong shape with a :class:`DataError`: that is the service breaking the
contract (FAIL). No answer at all (refused connection, unknown host, timeout) is "cannot
reach". Nothing is signed or sent: a quote commits to nothing, and no swap transaction is asked
for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx
from solders.hash import Hash
from solders.pubkey import Pubkey

from rampart.domain.errors import ConfigError, DataError, RampartError, VenueError
from rampart.domain.fills import Balance
from rampart.venues.solana import reconcile
from rampart.venues.solana.markets import Markets
from rampart.venues.solana.routes import Route, build_routes
from rampart.venues.solana.rpc import RpcError, RpcPool, endpoint_name
from rampart.venues.solana.settings import SolanaConfig
from rampart.venues.solana.signing import Wallet
from rampart.wiring.preflight_checks import Check, failed, host_of, ok, skipped, unreachable

QUOTE_UNITS = 1_000_000
"""How much of the first market's base token each route is asked to quote, in base units: a
small amount (0.001 SOL, 1 JUP) whatever the token's decimals."""
LABELS = {"jupiter": "Jupiter", "bags": "bags.fm"}
_NO_ANSWER = ("unreachable", "timed out")
"""How the RPC pool words a call that got no answer (the others are the node's answers)."""


def _short(address: str) -> str:
    return f"{address[:4]}…{address[-4:]}" if len(address) > 12 else address


# -- routes --------------------------------------------------------------------------------------


async def quote_check(route: Route, config: SolanaConfig) -> Check:
    label = LABELS.get(route.name, route.name)
    name = f"{label} quote"
    host = host_of(str(getattr(route, "base_url", "")))
    symbol, market = next(iter(config.markets.items()))
    base, quote = symbol.split("/", 1)
    try:
        answer = await route.quote(
            market.base_mint, market.quote_mint, QUOTE_UNITS, "ExactIn", config.slippage_bps
        )
    except DataError as exc:
        return failed(name, host, exc.message)
    except VenueError as exc:
        if exc.code in ("unreachable", "timeout"):
            why = "timed out" if exc.code == "timeout" else "unreachable"
            return unreachable(name, host, _why(why))
        return failed(name, host, exc.message)
    if (answer.input_mint, answer.output_mint) != (market.base_mint, market.quote_mint):
        return failed(name, host, f"{label} answered a quote for other tokens than {symbol}.")
    if answer.out_amount <= 0:
        return failed(name, host, f"{label} quoted nothing out for {symbol}.")
    return ok(
        name,
        host,
        f"{symbol}: {QUOTE_UNITS:,} base units of {base} quoted at "
        f"{answer.out_amount:,} of {quote}.",
    )


def route_checks(config: SolanaConfig, http: httpx.AsyncClient) -> tuple[list[Route], list[Check]]:
    """The routes the venue would build, and a SKIP line for each listed one it would not."""
    try:
        routes = build_routes(config, http)
    except ConfigError as exc:
        return [], [failed("routes", "-", exc.message, reached=False)]
    notes = [
        skipped(
            f"{LABELS.get(n, n)} quote",
            f"{LABELS.get(n, n)} is listed but has no key (solana.{n}_api_key): not asked.",
        )
        for n in config.route.routes
        if n not in routes
    ]
    return list(routes.values()), notes


# -- RPC nodes -----------------------------------------------------------------------------------


def _why(reason: str) -> str:
    if reason.startswith("timed out"):
        return "it did not answer in time."
    return "the connection was refused or the host is unknown."


def _pool_failure(name: str, method: str, pool: RpcPool, exc: VenueError) -> Check:
    """A call every node failed: "cannot reach" when none of them answered at all."""
    host = pool.active.name
    reasons = [e.reason for e in pool.endpoints]
    if not isinstance(exc, RpcError) and all(r.startswith(_NO_ANSWER) for r in reasons):
        return unreachable(name, host, _why(reasons[-1]))
    if isinstance(exc, RpcError):
        return failed(name, host, f"The node refused the {method} call: {exc.message}.")
    answered = [r for r in reasons if r and not r.startswith(_NO_ANSWER)]
    reason = answered[-1] if answered else exc.message
    return failed(name, host, f"The node failed the {method} call ({reason}).")


async def node_checks(url: str, config: SolanaConfig, http: httpx.AsyncClient) -> list[Check]:
    pool = RpcPool([url], client=http, timeout_s=config.request_timeout_s, rounds=1)
    host = endpoint_name(url)
    try:
        health = await pool.call("getHealth")
    except VenueError as exc:
        return [_pool_failure("RPC getHealth", "getHealth", pool, exc)]
    checks = [
        ok("RPC getHealth", host, "The node is healthy.")
        if health == "ok"
        else failed("RPC getHealth", host, 'The node answered getHealth without "ok".')
    ]
    name = "RPC getLatestBlockhash"
    try:
        blockhash, height = await pool.latest_blockhash()
        Hash.from_string(blockhash)
    except VenueError as exc:
        checks.append(_pool_failure(name, "getLatestBlockhash", pool, exc))
    except (KeyError, TypeError, ValueError, AttributeError):
        checks.append(
            failed(
                name,
                host,
                "The node answered getLatestBlockhash without a base58 blockhash and its "
                "lastValidBlockHeight.",
            )
        )
    else:
        checks.append(ok(name, host, f"A blockhash valid until block height {height:,}."))
    return checks


# -- wallets -------------------------------------------------------------------------------------


def wallet_addresses(config: SolanaConfig, extra: Iterable[str]) -> list[tuple[str, str]]:
    """(label, address) of each wallet to read: the settings' keypairs (their public keys) and
    ``extra`` addresses. A keypair that cannot be read is an error with one sentence."""
    out: list[tuple[str, str]] = []
    for account_id, secret in config.keypairs.items():
        try:
            address = Wallet.from_secret(secret.get_secret_value()).address
        except RampartError as exc:
            raise ConfigError(
                f"The keypair of account {account_id} in solana.keypairs: {exc.message}"
            ) from None
        out.append((account_id, address))
    for address in extra:
        try:
            Pubkey.from_string(address.strip())
        except ValueError:
            raise ConfigError(
                f"--wallet {address!r} is not a Solana address (base58, 32 bytes)."
            ) from None
        out.append((_short(address.strip()), address.strip()))
    return out


def _shown(held: dict[str, Balance]) -> str:
    parts = [f"{_short(a)} {b.total.normalize():f}" for a, b in sorted(held.items())]
    return ", ".join(parts[:5]) + (f" and {len(parts) - 5} more" if len(parts) > 5 else "")


async def balance_check(
    label: str, address: str, config: SolanaConfig, http: httpx.AsyncClient
) -> Check:
    name = f"balances of {label}"
    pool = RpcPool(config.rpc_urls, client=http, timeout_s=config.request_timeout_s, rounds=1)
    assets = Markets(config.markets).asset_of_mint
    try:
        held = await reconcile.balances(pool, address, assets, config.commitment)
    except DataError as exc:
        return failed(name, pool.active.name, exc.message)
    except VenueError as exc:
        return _pool_failure(name, "balance", pool, exc)
    return ok(name, pool.active.name, f"{_short(address)} holds {_shown(held) or 'nothing'}.")


# -- all of them ---------------------------------------------------------------------------------


async def solana_checks(config: SolanaConfig, wallets: list[str]) -> list[Check]:
    addresses = wallet_addresses(config, wallets)
    async with httpx.AsyncClient() as http:
        routes, checks = route_checks(config, http)
        quotes, nodes = await asyncio.gather(
            asyncio.gather(*(quote_check(r, config) for r in routes)),
            asyncio.gather(*(node_checks(u, config, http) for u in config.rpc_urls)),
        )
        checks.extend(quotes)
        checks.extend(c for node in nodes for c in node)
        if not addresses:
            checks.append(
                skipped(
                    "wallet balances",
                    "No wallet: add solana.keypairs or pass --wallet ADDRESS to read one.",
                )
            )
        for label, address in addresses:
            checks.append(await balance_check(label, address, config, http))
    return checks


__all__ = [
    "QUOTE_UNITS",
    "balance_check",
    "node_checks",
    "quote_check",
    "route_checks",
    "solana_checks",
    "wallet_addresses",
]
