"""The two swap routes: Jupiter (``/jup/swap/v1``) and bags.fm (``/bags/api/v1``, x-api-key).

Each prices on its own pool of the market; bags adds its platform fee on the quote-currency
leg. ``swap`` turns an accepted quote into a ticket and its unsigned transaction.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web
from solders.pubkey import Pubkey

from rampart_testkit.solana_sim.markets import Market, mint_for
from rampart_testkit.solana_sim.quotes import (
    MODES,
    QuoteError,
    find_market,
    price_swap,
    quote_json,
)
from rampart_testkit.solana_sim.server import SolanaSimContext, ctx_of, http_fault
from rampart_testkit.solana_sim.txbuild import COMPUTE_UNIT_LIMIT

BAGS_DEFAULT_PRIORITY_FEE = 10_000
_request_ids = itertools.count(1)


class BadRequest(ValueError):
    def __init__(self, message: str, code: str = "INVALID_REQUEST") -> None:
        super().__init__(message)
        self.code = code


def _int(value: Any, name: str, minimum: int = 0) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an integer") from None
    if number < minimum:
        raise BadRequest(f"{name} must be at least {minimum}")
    return number


def _pubkey(value: Any, name: str) -> str:
    try:
        return str(Pubkey.from_string(str(value)))
    except ValueError:
        raise BadRequest(f"{name} is not a valid public key") from None


def _quote(ctx: SolanaSimContext, route: str, query: Any) -> dict[str, Any]:
    """The quote fields (Jupiter's shape) for the query of a quote request."""
    for name in ("inputMint", "outputMint", "amount"):
        if name not in query:
            raise BadRequest(f"{name} is required")
    amount = _int(query["amount"], "amount", 1)
    slippage = _int(query.get("slippageBps", 50), "slippageBps")
    mode = query.get("swapMode", "ExactIn")
    if mode not in MODES:
        raise BadRequest("swapMode must be ExactIn or ExactOut")
    chain = ctx.chain
    try:
        market, base_in = find_market(chain.markets, query["inputMint"], query["outputMint"])
        pool = chain.pools[market.symbol][route]
        priced = price_swap(pool, base_in, mode, amount, chain.platform_bps(route))
    except QuoteError as exc:
        raise BadRequest(f"Could not find any route: {exc}", "COULD_NOT_FIND_ANY_ROUTE") from None
    quote = quote_json(
        market=market,
        base_in=base_in,
        mode=mode,
        priced=priced,
        slippage_bps=slippage,
        pool_key=_pool_key(market, route),
        slot=chain.slot,
    )
    if route == "bags":
        quote["requestId"] = f"bags-req-{next(_request_ids)}"
        quote["platformFee"] = {
            "amount": str(priced.platform_fee),
            "feeBps": chain.bags_fee_bps,
            "feeAccount": chain.partner,
            "segmenterFeeAmount": "0",
            "segmenterFeePct": 0,
        }
    return quote


def _pool_key(market: Market, route: str) -> str:
    return mint_for(f"POOL{route[:3].upper()}{market.base.symbol[:3]}").address


def _priority(value: Any, default: int) -> int:
    if value is None or value == "auto":
        return default
    if isinstance(value, dict):
        inner = value.get("priorityLevelWithMaxLamports") or {}
        return _int(inner.get("maxLamports", default), "prioritizationFeeLamports")
    return _int(value, "prioritizationFeeLamports")


def _swap(ctx: SolanaSimContext, route: str, body: Any, default_fee: int) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("quoteResponse"), dict):
        raise BadRequest("quoteResponse is required")
    quote = body["quoteResponse"]
    user = _pubkey(body.get("userPublicKey"), "userPublicKey")
    mode = quote.get("swapMode", "ExactIn")
    if mode not in MODES:
        raise BadRequest("swapMode must be ExactIn or ExactOut")
    try:
        market, base_in = find_market(
            ctx.chain.markets, str(quote.get("inputMint")), str(quote.get("outputMint"))
        )
    except QuoteError as exc:
        raise BadRequest(f"Could not find any route: {exc}", "COULD_NOT_FIND_ANY_ROUTE") from None
    priority = _priority(body.get("prioritizationFeeLamports"), default_fee)
    ticket, tx, last_valid = ctx.chain.make_ticket(
        route=route,
        market=market,
        base_in=base_in,
        mode=mode,
        quoted_in=_int(quote.get("inAmount"), "inAmount", 1),
        quoted_out=_int(quote.get("outAmount"), "outAmount", 1),
        threshold=_int(quote.get("otherAmountThreshold"), "otherAmountThreshold"),
        user=user,
        priority_fee=priority,
    )
    return {
        "swapTransaction": tx,
        "lastValidBlockHeight": last_valid,
        "prioritizationFeeLamports": ticket.priority_fee,
        "computeUnitLimit": COMPUTE_UNIT_LIMIT,
    }


# -- Jupiter --------------------------------------------------------------------------------


def _jup_gate(request: web.Request) -> web.Response | None:
    ctx_of(request).requests["jupiter"] += 1
    return http_fault(
        request,
        "jupiter",
        {"error": "Rate limit exceeded", "errorCode": "RATE_LIMITED"},
        {"error": "Internal server error", "errorCode": "INTERNAL"},
    )


async def jup_quote(request: web.Request) -> web.Response:
    if (refused := _jup_gate(request)) is not None:
        return refused
    try:
        return web.json_response(_quote(ctx_of(request), "jupiter", request.query))
    except BadRequest as exc:
        return web.json_response({"error": str(exc), "errorCode": exc.code}, status=400)


async def jup_swap(request: web.Request) -> web.Response:
    if (refused := _jup_gate(request)) is not None:
        return refused
    try:
        body = await request.json()
        out = _swap(ctx_of(request), "jupiter", body, 0)
    except ValueError as exc:
        code = exc.code if isinstance(exc, BadRequest) else "INVALID_REQUEST"
        return web.json_response({"error": str(exc), "errorCode": code}, status=400)
    out.pop("computeUnitLimit")
    return web.json_response(out)


# -- bags -----------------------------------------------------------------------------------


def _bags_gate(request: web.Request) -> web.Response | None:
    ctx = ctx_of(request)
    ctx.requests["bags"] += 1
    if request.headers.get("x-api-key") != ctx.api_key:
        return web.json_response({"success": False, "error": "Unauthorized"}, status=401)
    return http_fault(
        request,
        "bags",
        {"success": False, "error": "Too many requests"},
        {"success": False, "error": "Internal server error"},
    )


async def bags_quote(request: web.Request) -> web.Response:
    if (refused := _bags_gate(request)) is not None:
        return refused
    try:
        quote = _quote(ctx_of(request), "bags", request.query)
    except BadRequest as exc:
        return web.json_response({"success": False, "error": str(exc)}, status=400)
    return web.json_response({"success": True, "response": quote})


async def bags_swap(request: web.Request) -> web.Response:
    if (refused := _bags_gate(request)) is not None:
        return refused
    try:
        body = await request.json()
        out = _swap(ctx_of(request), "bags", body, BAGS_DEFAULT_PRIORITY_FEE)
    except ValueError as exc:
        return web.json_response({"success": False, "error": str(exc)}, status=400)
    return web.json_response({"success": True, "response": out})


def register(app: web.Application) -> None:
    app.router.add_get("/jup/swap/v1/quote", jup_quote)
    app.router.add_post("/jup/swap/v1/swap", jup_swap)
    app.router.add_get("/bags/api/v1/trade/quote", bags_quote)
    app.router.add_post("/bags/api/v1/trade/swap", bags_swap)
