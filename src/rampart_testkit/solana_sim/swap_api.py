"""The two swap APIs, in the shapes of their own published material (``tests/contracts/``):
Jupiter's swap API v1 under ``/jup/swap/v1`` and bags.fm's public API under ``/bags/api/v1``,
each behind its own ``x-api-key``.

Each prices on its own pool of the market. Jupiter quotes an exact input or output, takes no
fee and answers transactions base64. bags.fm has no swap mode (``amount`` is the input), applies
``slippageBps`` only with ``slippageMode=manual`` (its default, auto, picks its own), takes its
fee in its documented mint, keeps every quote under its ``requestId`` for the swap that follows,
and answers transactions base58, inside ``{"success": true, "response": ...}``.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import Any

import base58
from aiohttp import web
from solders.pubkey import Pubkey

from rampart_testkit.solana_sim.markets import Market, mint_for
from rampart_testkit.solana_sim.quotes import (
    MODES,
    QuoteError,
    bags_quote_json,
    find_market,
    jupiter_quote_json,
    price_bags,
    price_swap,
    threshold,
)
from rampart_testkit.solana_sim.server import SolanaSimContext, ctx_of, http_fault
from rampart_testkit.solana_sim.txbuild import COMPUTE_UNIT_LIMIT

BAGS_DEFAULT_PRIORITY_FEE = 10_000
BAGS_AUTO_SLIPPAGE_BPS = 300
"""What bags.fm's automatic slippage mode settles on here (the real one estimates it)."""
_request_ids = itertools.count(1)


class BadRequest(ValueError):
    def __init__(self, message: str, code: str = "INVALID_REQUEST") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BagsQuote:
    """What bags.fm keeps of a quote under its requestId, for the swap built from it."""

    market: Market
    base_in: bool
    amount: int
    quoted_out: int
    threshold: int


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


def _market(ctx: SolanaSimContext, query: Any) -> tuple[Market, bool, int]:
    for name in ("inputMint", "outputMint", "amount"):
        if name not in query:
            raise BadRequest(f"{name} is required")
    amount = _int(query["amount"], "amount", 1)
    try:
        market, base_in = find_market(ctx.chain.markets, query["inputMint"], query["outputMint"])
    except QuoteError as exc:
        raise BadRequest(f"Could not find any route: {exc}", "COULD_NOT_FIND_ANY_ROUTE") from None
    return market, base_in, amount


def _pool_key(market: Market, route: str) -> str:
    return mint_for(f"POOL{route[:3].upper()}{market.base.symbol[:3]}").address


def _jupiter_quote(ctx: SolanaSimContext, query: Any) -> dict[str, Any]:
    market, base_in, amount = _market(ctx, query)
    slippage = _int(query.get("slippageBps", 50), "slippageBps")
    mode = query.get("swapMode", "ExactIn")
    if mode not in MODES:
        raise BadRequest("swapMode must be ExactIn or ExactOut")
    chain = ctx.chain
    try:
        priced = price_swap(chain.pools[market.symbol]["jupiter"], base_in, mode, amount)
    except QuoteError as exc:
        raise BadRequest(f"Could not find any route: {exc}", "COULD_NOT_FIND_ANY_ROUTE") from None
    return jupiter_quote_json(
        market=market,
        base_in=base_in,
        mode=mode,
        priced=priced,
        slippage_bps=slippage,
        pool_key=_pool_key(market, "jupiter"),
        slot=chain.slot,
    )


def _bags_slippage(query: Any) -> int:
    mode = query.get("slippageMode", "auto")
    if mode not in ("auto", "manual"):
        raise BadRequest("slippageMode must be auto or manual")
    if mode == "auto":
        return BAGS_AUTO_SLIPPAGE_BPS  # slippageBps is not applied in auto mode
    if "slippageBps" not in query:
        raise BadRequest("slippageBps is required when slippageMode is manual")
    bps = _int(query["slippageBps"], "slippageBps")
    if bps > 10_000:
        raise BadRequest("slippageBps must be between 0 and 10000")
    return bps


def _bags_quote(ctx: SolanaSimContext, query: Any) -> dict[str, Any]:
    market, base_in, amount = _market(ctx, query)
    slippage = _bags_slippage(query)
    chain = ctx.chain
    try:
        pool = chain.pools[market.symbol]["bags"]
        priced = price_bags(pool, market, base_in, amount, chain.bags_fee_bps)
    except QuoteError as exc:
        raise BadRequest(f"No route found: {exc}") from None
    request_id = f"bags-req-{next(_request_ids)}"
    least = threshold(priced, "ExactIn", slippage)
    ctx.bags_quotes[request_id] = BagsQuote(market, base_in, amount, priced.out_amount, least)
    return bags_quote_json(
        market=market,
        base_in=base_in,
        priced=priced,
        slippage_bps=slippage,
        fee_bps=chain.bags_fee_bps,
        fee_account=chain.fee_account,
        request_id=request_id,
        pool_key=_pool_key(market, "bags"),
        slot=chain.slot,
    )


def _priority(value: Any, default: int) -> int:
    if value is None or value == "auto":
        return default
    if isinstance(value, dict):
        inner = value.get("priorityLevelWithMaxLamports") or {}
        return _int(inner.get("maxLamports", default), "prioritizationFeeLamports")
    return _int(value, "prioritizationFeeLamports")


def _swap_answer(ctx: SolanaSimContext, ticket_args: dict[str, Any]) -> dict[str, Any]:
    ticket, tx, last_valid = ctx.chain.make_ticket(**ticket_args)
    return {
        "swapTransaction": tx,
        "lastValidBlockHeight": last_valid,
        "prioritizationFeeLamports": ticket.priority_fee,
        "computeUnitLimit": COMPUTE_UNIT_LIMIT,
    }


def _jupiter_swap(ctx: SolanaSimContext, body: Any) -> dict[str, Any]:
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
    return _swap_answer(
        ctx,
        {
            "route": "jupiter",
            "market": market,
            "base_in": base_in,
            "mode": mode,
            "quoted_in": _int(quote.get("inAmount"), "inAmount", 1),
            "quoted_out": _int(quote.get("outAmount"), "outAmount", 1),
            "threshold": _int(quote.get("otherAmountThreshold"), "otherAmountThreshold"),
            "user": user,
            "priority_fee": _priority(body.get("prioritizationFeeLamports"), 0),
        },
    )


def _bags_swap(ctx: SolanaSimContext, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("quoteResponse"), dict):
        raise BadRequest("quoteResponse is required")
    user = _pubkey(body.get("userPublicKey"), "userPublicKey")
    kept = ctx.bags_quotes.get(str(body["quoteResponse"].get("requestId")))
    if kept is None:
        raise BadRequest("Quote not found or expired: get a new quote")
    answer = _swap_answer(
        ctx,
        {
            "route": "bags",
            "market": kept.market,
            "base_in": kept.base_in,
            "mode": "ExactIn",
            "quoted_in": kept.amount,
            "quoted_out": kept.quoted_out,
            "threshold": kept.threshold,
            "user": user,
            "priority_fee": BAGS_DEFAULT_PRIORITY_FEE,
        },
    )
    # bags.fm answers its transactions base58-encoded (its SDK reads them with bs58.decode).
    answer["swapTransaction"] = base58.b58encode(base64.b64decode(answer["swapTransaction"]))
    answer["swapTransaction"] = answer["swapTransaction"].decode()
    return answer


# -- Jupiter --------------------------------------------------------------------------------


def _jup_gate(request: web.Request) -> web.Response | None:
    ctx = ctx_of(request)
    ctx.requests["jupiter"] += 1
    if request.headers.get("x-api-key") != ctx.jupiter_key:
        return web.Response(status=401)  # the body of Jupiter's 401 is not documented
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
        ctx = ctx_of(request)
        return web.json_response(
            ctx.faults.spoil_quote("jupiter", _jupiter_quote(ctx, request.query))
        )
    except BadRequest as exc:
        return web.json_response({"error": str(exc), "errorCode": exc.code}, status=400)


async def jup_swap(request: web.Request) -> web.Response:
    if (refused := _jup_gate(request)) is not None:
        return refused
    try:
        out = _jupiter_swap(ctx_of(request), await request.json())
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
        ctx = ctx_of(request)
        quote = ctx.faults.spoil_quote("bags", _bags_quote(ctx, request.query))
    except BadRequest as exc:
        return web.json_response({"success": False, "error": str(exc)}, status=400)
    return web.json_response({"success": True, "response": quote})


async def bags_swap(request: web.Request) -> web.Response:
    if (refused := _bags_gate(request)) is not None:
        return refused
    try:
        out = _bags_swap(ctx_of(request), await request.json())
    except ValueError as exc:
        return web.json_response({"success": False, "error": str(exc)}, status=400)
    return web.json_response({"success": True, "response": out})


async def partner_stats(request: web.Request) -> web.Response:
    if (refused := _bags_gate(request)) is not None:
        return refused
    try:
        partner = _pubkey(request.query.get("partner"), "partner")
    except BadRequest as exc:
        return web.json_response({"success": False, "error": str(exc)}, status=400)
    chain = ctx_of(request).chain
    stats = {
        "claimedFees": str(chain.partner_claimed[partner]),
        "unclaimedFees": str(chain.partner_unclaimed[partner]),
    }
    return web.json_response({"success": True, "response": stats})


async def partner_claim_tx(request: web.Request) -> web.Response:
    """The claim transactions of a partner config (here one; the last must be sent last)."""
    if (refused := _bags_gate(request)) is not None:
        return refused
    try:
        body = await request.json()
        partner = _pubkey(
            body.get("partnerWallet") if isinstance(body, dict) else None, "partnerWallet"
        )
    except ValueError as exc:
        return web.json_response({"success": False, "error": str(exc)}, status=400)
    chain = ctx_of(request).chain
    if chain.partner_unclaimed[partner] <= 0:
        return web.json_response({"success": False, "error": "No fees to claim"}, status=400)
    tx, last_valid = chain.make_claim(partner)
    blockhash, _ = chain.latest_blockhash()
    item = {
        "transaction": base58.b58encode(base64.b64decode(tx)).decode(),
        "blockhash": {"blockhash": blockhash, "lastValidBlockHeight": last_valid},
    }
    return web.json_response({"success": True, "response": {"transactions": [item]}})


def register(app: web.Application) -> None:
    app.router.add_get("/jup/swap/v1/quote", jup_quote)
    app.router.add_post("/jup/swap/v1/swap", jup_swap)
    app.router.add_get("/bags/api/v1/trade/quote", bags_quote)
    app.router.add_post("/bags/api/v1/trade/swap", bags_swap)
    app.router.add_get("/bags/api/v1/fee-share/partner-config/stats", partner_stats)
    app.router.add_post("/bags/api/v1/fee-share/partner-config/claim-tx", partner_claim_tx)
