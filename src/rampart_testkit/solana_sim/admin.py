"""Admin routes ``/sim/...`` (no auth; the stand-in listens on loopback only)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from rampart_testkit.solana_sim.server import ctx_of


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


async def fund(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        tokens = body.get("tokens") or {}
        if not isinstance(tokens, dict):
            raise ValueError("tokens maps mints to amounts")
        ctx_of(request).chain.fund(
            str(body["pubkey"]),
            _int(body.get("lamports", 0), "lamports"),
            {str(m): _int(a, f"tokens[{m}]") for m, a in tokens.items()},
        )
    except KeyError:
        return _bad("pubkey is required")
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response(ctx_of(request).state()["wallets"][body["pubkey"]])


async def transfer(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        left = ctx_of(request).chain.transfer(
            str(body["pubkey"]), str(body["mint"]), _int(body["amount"], "amount")
        )
    except KeyError as exc:
        return _bad(f"{exc.args[0]} is required")
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response({"pubkey": body["pubkey"], "mint": body["mint"], "balance": left})


async def price(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        value = Decimal(str(body["price"]))
        ctx_of(request).chain.set_price(str(body["symbol"]), value)
    except KeyError as exc:
        return _bad(f"{exc.args[0]} is required")
    except InvalidOperation:
        return _bad("price must be a number")
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response(ctx_of(request).chain.state()["pools"][body["symbol"]])


async def add_fault(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        count = body.get("count")
        slots = body.get("slots")
        fault = ctx_of(request).faults.add(
            str(body["kind"]),
            count=None if count is None else _int(count, "count"),
            node=None if body.get("node") is None else str(body["node"]),
            slots=None if slots is None else _int(slots, "slots"),
            retry_after=_int(body.get("retry_after", 1), "retry_after"),
            bps=_int(body.get("bps", 300), "bps"),
            variant=str(body.get("variant", "random")),
            flap_on=_int(body.get("flap_on", 3), "flap_on"),
            flap_off=_int(body.get("flap_off", 3), "flap_off"),
        )
    except KeyError:
        return _bad("kind is required")
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response({"id": fault.id, "kind": fault.kind})


async def clear_faults(request: web.Request) -> web.Response:
    ctx_of(request).faults.clear()
    return web.json_response({"faults": []})


async def state(request: web.Request) -> web.Response:
    return web.json_response(ctx_of(request).state())


async def advance(request: web.Request) -> web.Response:
    try:
        body = await _body(request) if request.can_read_body else {}
        slots = _int(body.get("slots", 1), "slots")
    except ValueError as exc:
        return _bad(str(exc))
    if slots < 0:
        return _bad("slots must be zero or more")
    return web.json_response({"slot": ctx_of(request).chain.advance(slots)})


async def partner_fees(request: web.Request) -> web.Response:
    """Fees a partner config earned (bags.fm pays them on tokens launched with its key)."""
    try:
        body = await _body(request)
        partner, lamports = str(body["partner"]), _int(body["lamports"], "lamports")
        if lamports < 0:
            raise ValueError("lamports cannot be negative")
    except KeyError:
        return _bad("partner and lamports are required")
    except ValueError as exc:
        return _bad(str(exc))
    chain = ctx_of(request).chain
    chain.partner_unclaimed[partner] += lamports
    return web.json_response({"partner": partner, "unclaimed": chain.partner_unclaimed[partner]})


def register(app: web.Application) -> None:
    app.router.add_post("/sim/wallets", fund)
    app.router.add_post("/sim/transfer", transfer)
    app.router.add_post("/sim/price", price)
    app.router.add_post("/sim/faults", add_fault)
    app.router.add_delete("/sim/faults", clear_faults)
    app.router.add_get("/sim/state", state)
    app.router.add_post("/sim/advance", advance)
    app.router.add_post("/sim/partner-fees", partner_fees)
