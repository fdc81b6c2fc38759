"""Admin endpoints under ``/sim/``: accounts, faults, market time and state.

Not Binance and not signed: the simulator listens on 127.0.0.1 only. Bad input gets HTTP 400
with ``{"error": "<one sentence>"}`` and changes nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from rampart.domain.errors import RampartError
from rampart_testkit.simulator.routes_keys import KeyRights, rights_from
from rampart_testkit.simulator.server import ctx_of, reply


def _bad(message: str) -> web.Response:
    return reply({"error": message}, 400)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        data = json.loads(await request.text())
    except ValueError:
        raise RampartError("The request body must be a JSON object.") from None
    if not isinstance(data, dict):
        raise RampartError("The request body must be a JSON object.")
    return data


def _balances(raw: Any) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise RampartError('Balances must be an object like {"USDT": "10000"}.')
    out: dict[str, Decimal] = {}
    for asset, amount in raw.items():
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            raise RampartError(f"The balance of {asset} is not a number: {amount!r}.") from None
        if not value.is_finite() or value < 0:
            raise RampartError(f"The balance of {asset} must be zero or more.")
        out[str(asset).upper()] = value
    return out


@web.middleware
async def admin_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except RampartError as exc:
        return _bad(exc.message)


async def create_account(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    data = await _body(request)
    bnb = data.get("bnb_fees", False)
    if not isinstance(bnb, bool):
        raise RampartError('"bnb_fees" is true or false.')
    rights = rights_from(data, KeyRights(created_ms=ctx.exchange.now_ms))
    acct = ctx.exchange.create_account(
        _balances(data.get("balances", {})),
        key=data.get("key"),
        secret=data.get("secret"),
        account_id=data.get("account_id"),
        bnb_fees=bnb,
        rights=rights,
    )
    return reply({"account_id": acct.account_id, "api_key": acct.key, "secret": acct.secret})


async def bnb_fees(request: web.Request) -> web.Response:
    """Switch paying commissions in BNB for one account: ``{"enabled": true}``."""
    ctx = ctx_of(request)
    data = await _body(request)
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RampartError('"enabled" is true or false.')
    account_id = request.match_info["account_id"]
    if account_id not in {a.account_id for a in ctx.exchange.keys.values()}:
        raise RampartError(f"The simulator holds no account {account_id!r}.")
    ctx.exchange.pay_fees_in_bnb(account_id, enabled)
    return reply({"account_id": account_id, "bnb_fees": enabled})


async def key_restrictions(request: web.Request) -> web.Response:
    """Change what an account's key may do: ``{"withdrawals": true, "ip_restrict": false}``."""
    ex = ctx_of(request).exchange
    account_id = request.match_info["account_id"]
    if account_id not in ex.rights:
        raise RampartError(f"The simulator holds no account {account_id!r}.")
    rights = rights_from(await _body(request), ex.rights[account_id])
    ex.rights[account_id] = rights
    return reply({"account_id": account_id, "withdrawals": rights.withdrawals,
                  "ip_restrict": rights.ip_restrict})  # fmt: skip


async def list_accounts(request: web.Request) -> web.Response:
    ex = ctx_of(request).exchange
    return reply([{"account_id": a.account_id, "api_key": a.key} for a in ex.keys.values()])


async def list_faults(request: web.Request) -> web.Response:
    faults = ctx_of(request).faults
    return reply(
        {
            "faults": [f.to_dict() for f in faults.list()],
            "skew_ms": faults.skew_ms(),
            "fired": faults.fired,
        }
    )


async def take_corrupted(request: web.Request) -> web.Response:
    """The rows ``bad_candles`` spoiled since the last call (and forget them): a harness in
    another process tells a spoiled candle from a true one by them."""
    rows = ctx_of(request).faults.take_corrupted()
    return reply([{"variant": r.variant, "symbol": r.symbol, "ts": r.ts, "close": r.close}
                  for r in rows])  # fmt: skip


async def add_fault(request: web.Request) -> web.Response:
    data = await _body(request)
    kind = data.pop("kind", None)
    if not isinstance(kind, str):
        raise RampartError('A fault needs a "kind".')
    fault = ctx_of(request).faults.add(kind, **data)
    return reply(fault.to_dict())


async def clear_faults(request: web.Request) -> web.Response:
    kind = request.query.get("kind")
    raw_id = request.match_info.get("fault_id")
    fault_id = int(raw_id) if raw_id and raw_id.isdigit() else None
    if raw_id and fault_id is None:
        raise RampartError("A fault id is a number.")
    return reply({"cleared": ctx_of(request).faults.clear(kind, fault_id)})


async def advance(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    data = await _body(request)
    candles = data.get("candles", 1)
    if not isinstance(candles, int) or candles < 0:
        raise RampartError('"candles" must be a whole number of candles, zero or more.')
    done = ctx.exchange.advance(candles)
    ex = ctx.exchange
    return reply({"advanced": done, "time": ex.now_ms, "exhausted": ex.tape.exhausted})


async def state(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    out = ctx.exchange.state()
    out["requests"] = dict(ctx.requests)
    out["http_errors"] = {str(k): v for k, v in ctx.errors.items()}
    out["faults_fired"] = dict(ctx.faults.fired)
    out["client_ids_sent_twice"] = len(ctx.sent_twice())
    return reply(out)


async def health(request: web.Request) -> web.Response:
    return reply({"ok": True, "time": ctx_of(request).exchange.now_ms})


def register(app: web.Application) -> None:
    admin = web.Application(middlewares=[admin_errors])
    r = admin.router
    r.add_get("/health", health)
    r.add_post("/accounts", create_account)
    r.add_get("/accounts", list_accounts)
    r.add_post("/accounts/{account_id}/bnb-fees", bnb_fees)
    r.add_post("/accounts/{account_id}/restrictions", key_restrictions)
    r.add_get("/faults", list_faults)
    r.add_post("/faults", add_fault)
    r.add_delete("/faults", clear_faults)
    r.add_get("/faults/corrupted", take_corrupted)
    r.add_delete("/faults/{fault_id}", clear_faults)
    r.add_post("/advance", advance)
    r.add_get("/state", state)
    app.add_subapp("/sim", admin)
