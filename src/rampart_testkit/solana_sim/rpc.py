"""JSON-RPC 2.0 on ``POST /rpc/{node}``: the methods a swap client needs, shaped as the real
API's. Every node reads the one chain; each has its own faults and, with a lag fault, its own
(older) view of the slot."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from rampart_testkit.solana_sim import node_views
from rampart_testkit.solana_sim.chain import PROGRAMS
from rampart_testkit.solana_sim.ledger import RpcError, SimTx, TxFaults
from rampart_testkit.solana_sim.markets import SYSTEM_PROGRAM
from rampart_testkit.solana_sim.server import (
    SolanaSimContext,
    close_connection,
    ctx_of,
    http_fault,
)
from rampart_testkit.solana_sim.txbuild import read_swap_tx, token_account

TOKEN_ACCOUNT_RENT = 2_039_280
MINT_RENT = 1_461_600
COMMITMENT_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}


class Call:
    """One JSON-RPC call on a node: its params and the node's view of the chain."""

    def __init__(self, ctx: SolanaSimContext, node: str, params: list[Any], lag: int) -> None:
        self.ctx = ctx
        self.chain = ctx.chain
        self.node = node
        self.params = params
        self.lag = lag
        self.view = self.chain.slot - lag

    def param(self, i: int, default: Any = None) -> Any:
        return self.params[i] if len(self.params) > i else default

    def config(self, i: int) -> dict[str, Any]:
        value = self.param(i, {})
        return value if isinstance(value, dict) else {}

    def pubkey(self, i: int) -> str:
        value = self.param(i)
        try:
            return str(Pubkey.from_string(value))
        except (ValueError, TypeError):
            raise RpcError(-32602, "Invalid param: Invalid") from None

    def context(self, value: Any) -> dict[str, Any]:
        return {"context": {"slot": self.view, "apiVersion": "2.1.0"}, "value": value}


def _ui(amount: int, decimals: int) -> tuple[float, str]:
    text = Decimal(amount).scaleb(-decimals)
    plain = format(text.normalize(), "f") if amount else "0"
    return float(text), plain


def token_amount(amount: int, decimals: int) -> dict[str, Any]:
    ui, ui_text = _ui(amount, decimals)
    return {"amount": str(amount), "decimals": decimals, "uiAmount": ui, "uiAmountString": ui_text}


def get_health(c: Call) -> Any:
    if c.lag > 0:
        raise RpcError(-32005, f"Node is behind by {c.lag} slots", {"numSlotsBehind": c.lag})
    return "ok"


def get_latest_blockhash(c: Call) -> Any:
    blockhash, last_valid = c.chain.latest_blockhash(c.view)
    return c.context({"blockhash": blockhash, "lastValidBlockHeight": last_valid})


def _holdings(c: Call, owner: str, commitment: str | None) -> tuple[int, dict[str, int]]:
    """Without a commitment the stand-in answers from what it processed (its other reads
    default to confirmed; see the module's notes); with one, from what reached it."""
    if commitment is None:
        return node_views.holdings(c.chain, owner, c.view)
    return node_views.holdings(c.chain, owner, c.view, lambda tx: _visible(c, tx, commitment))


def get_balance(c: Call) -> Any:
    lamports, _ = _holdings(c, c.pubkey(0), c.config(1).get("commitment"))
    return c.context(lamports)


def get_token_accounts_by_owner(c: Call) -> Any:
    owner = c.pubkey(0)
    flt = c.config(1)
    wanted: str | None = None
    program: str | None = None
    if "mint" in flt:
        wanted = str(flt["mint"])
    elif "programId" in flt:
        program = str(flt["programId"])
    else:
        raise RpcError(-32602, "Invalid params: a mint or programId filter is required")
    _, tokens = _holdings(c, owner, c.config(2).get("commitment"))
    accounts = []
    for mint, amount in sorted(tokens.items()):
        known = c.chain.known_mint(mint)
        if known is None or (wanted is not None and mint != wanted):
            continue
        if program is not None and c.chain.mint_program(mint) != program:
            continue  # each token program answers for its own accounts only
        info = {
            "mint": mint,
            "owner": owner,
            "state": "initialized",
            "isNative": False,
            "tokenAmount": token_amount(amount, known[1]),
        }
        accounts.append(
            {
                "pubkey": token_account(owner, mint),
                "account": {
                    "lamports": TOKEN_ACCOUNT_RENT,
                    "owner": c.chain.mint_program(mint),
                    "executable": False,
                    "rentEpoch": 0,
                    "space": 165,
                    "data": {
                        "program": "spl-token",
                        "space": 165,
                        "parsed": {"type": "account", "info": info},
                    },
                },
            }
        )
    return c.context(accounts)


def get_account_info(c: Call) -> Any:
    key = c.pubkey(0)
    known = c.chain.known_mint(key)
    if known is not None:
        info = {
            "decimals": known[1],
            "supply": str(10**18),
            "isInitialized": True,
            "mintAuthority": None,
            "freezeAuthority": None,
        }
        return c.context(
            {
                "data": {
                    "program": "spl-token",
                    "space": 82,
                    "parsed": {"type": "mint", "info": info},
                },
                "owner": c.chain.mint_program(key),
                "lamports": MINT_RENT,
                "executable": False,
                "rentEpoch": 0,
                "space": 82,
            }
        )
    wallet = c.chain.wallets.get(key)
    if wallet is None:
        return c.context(None)
    return c.context(
        {
            "data": ["", "base64"],
            "owner": SYSTEM_PROGRAM,
            "lamports": wallet.lamports,
            "executable": False,
            "rentEpoch": 0,
            "space": 0,
        }
    )


def send_transaction(c: Call) -> Any:
    raw = c.param(0)
    encoding = c.config(1).get("encoding", "base58")
    if encoding != "base64":
        raise RpcError(-32602, "Invalid params: the stand-in takes base64 transactions only")
    try:
        tx = VersionedTransaction.from_bytes(base64.b64decode(str(raw), validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise RpcError(-32602, "invalid transaction: failed to deserialize") from None
    swap = read_swap_tx(tx, tuple(PROGRAMS.values()))
    # faults are spent only on a transaction that would be accepted
    faults = c.ctx.faults.tx_faults(c.node) if c.chain.acceptable(swap) else TxFaults()
    return c.chain.submit(swap, c.node, faults)


def get_signature_statuses(c: Call) -> Any:
    sigs = c.param(0)
    if not isinstance(sigs, list) or len(sigs) > 256:
        raise RpcError(-32602, "Invalid params: a list of at most 256 signatures")
    return c.context([node_views.status_of(c.chain, str(s), c.view) for s in sigs])


def _visible(c: Call, tx: SimTx | None, commitment: str) -> bool:
    if tx is None:
        return False
    status = tx.status(c.view, c.chain.confirm_slots)
    return status is not None and COMMITMENT_RANK[status] >= COMMITMENT_RANK.get(commitment, 1)


def _balances(c: Call, tx: SimTx, amounts: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for mint, amount in amounts.items():
        owner_ata = token_account(tx.ticket.user, mint)
        index = tx.account_keys.index(owner_ata) if owner_ata in tx.account_keys else 0
        decimals = (c.chain.known_mint(mint) or ("", 0))[1]
        ui = token_amount(amount, decimals)
        out.append(
            {
                "accountIndex": index,
                "mint": mint,
                "owner": tx.ticket.user,
                "programId": c.chain.mint_program(mint),
                "uiTokenAmount": ui,
            }
        )
    return out


def get_transaction(c: Call) -> Any:
    tx = c.chain.txs.get(str(c.param(0)))
    commitment = c.config(1).get("commitment", "confirmed")
    if not _visible(c, tx, commitment) or tx is None or tx.landed_slot is None:
        return None
    rent = [TOKEN_ACCOUNT_RENT if i in (1, 2) else 1 for i in range(1, len(tx.account_keys))]
    return {
        "slot": tx.landed_slot,
        "blockTime": c.chain.tx_time(tx),
        "meta": {
            "err": tx.err,
            "status": {"Err": tx.err} if tx.err else {"Ok": None},
            "fee": tx.fee_lamports,
            "preBalances": [tx.pre_lamports, *rent],
            "postBalances": [tx.post_lamports, *rent],
            "preTokenBalances": _balances(c, tx, tx.pre_tokens),
            "postTokenBalances": _balances(c, tx, tx.post_tokens),
            "logMessages": tx.logs,
            "innerInstructions": [],
            "rewards": [],
            "loadedAddresses": {"writable": [], "readonly": []},
            "computeUnitsConsumed": 60_000,
        },
        "transaction": {
            "signatures": [tx.signature],
            "message": tx.message or {"accountKeys": tx.account_keys},
        },
        "version": 0,
    }


def get_signatures_for_address(c: Call) -> Any:
    key = c.pubkey(0)
    cfg = c.config(1)
    limit = int(cfg.get("limit", 1000))
    commitment = cfg.get("commitment", "confirmed")
    rows: list[tuple[int, dict[str, Any]]] = []
    for tx in reversed(list(c.chain.txs.values())):
        if tx.ticket.user != key or not _visible(c, tx, commitment) or tx.landed_slot is None:
            continue
        rows.append(
            (
                tx.landed_slot,
                {
                    "signature": tx.signature,
                    "slot": tx.landed_slot,
                    "err": tx.err,
                    "memo": None,
                    "blockTime": c.chain.tx_time(tx),
                    "confirmationStatus": tx.status(c.view, c.chain.confirm_slots),
                },
            )
        )
    rows.sort(key=lambda r: -r[0])  # stable: newest sent first within a slot
    return [row for _, row in rows[: max(limit, 0)]]


METHODS: dict[str, Callable[[Call], Any]] = {
    "getHealth": get_health,
    "getSlot": lambda c: c.view,
    "getBlockHeight": lambda c: c.view,
    "getLatestBlockhash": get_latest_blockhash,
    "getBalance": get_balance,
    "getTokenAccountsByOwner": get_token_accounts_by_owner,
    "getAccountInfo": get_account_info,
    "sendTransaction": send_transaction,
    "getSignatureStatuses": get_signature_statuses,
    "getTransaction": get_transaction,
    "getSignaturesForAddress": get_signatures_for_address,
    "getVersion": lambda c: {"solana-core": "2.1.0-rampart-sim", "feature-set": 0},
}


def _answer(ctx: SolanaSimContext, node: str, body: Any, lag: int) -> dict[str, Any]:
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0" or "method" not in body:
        return {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32600, "message": "Invalid request"},
        }
    rid = body.get("id")
    method = METHODS.get(str(body["method"]))
    if method is None:
        return {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {"code": -32601, "message": "Method not found"},
        }
    params = body.get("params") or []
    try:
        if not isinstance(params, list):
            raise RpcError(-32602, "Invalid params: params must be a list")
        return {"jsonrpc": "2.0", "id": rid, "result": method(Call(ctx, node, params, lag))}
    except RpcError as exc:
        return {"jsonrpc": "2.0", "id": rid, "error": exc.body()}


async def handle(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    node = request.match_info["node"]
    ctx.requests[node] += 1
    if ctx.faults.take(("down",), node) is not None:
        return close_connection(request)
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    rid = body.get("id") if isinstance(body, dict) else None
    refused = http_fault(
        request,
        node,
        {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {"code": 429, "message": "Too many requests for a specific RPC call"},
        },
        {"jsonrpc": "2.0", "id": rid, "error": {"code": 503, "message": "Service unavailable"}},
    )
    if refused is not None:
        return refused
    if body is None:
        return web.json_response(
            {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
        )
    lag = min(ctx.faults.lag(node), ctx.chain.slot)
    if isinstance(body, list):
        return web.json_response([_answer(ctx, node, b, lag) for b in body])
    return web.json_response(_answer(ctx, node, body, lag))


def register(app: web.Application) -> None:
    app.router.add_post("/rpc/{node}", handle)
