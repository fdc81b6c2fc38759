"""The swap transactions the stand-in builds and reads back.

A ``MessageV0`` paid for and signed by the user alone: a ComputeBudget set-price instruction
(the priority fee at a fixed compute-unit limit) and one swap instruction whose data is the
stand-in's ticket id. The unsigned transaction carries a default (all-zero) signature.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from typing import Any

import base58
from solders.compute_budget import set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, CompiledInstruction, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction

from rampart_testkit.solana_sim.markets import (
    ATA_PROGRAM,
    COMPUTE_BUDGET,
    SYSTEM_PROGRAM,
    TOKEN_PROGRAM,
    WSOL_MINT,
)

COMPUTE_UNIT_LIMIT = 200_000
_SET_PRICE = 3  # ComputeBudget instruction tag of SetComputeUnitPrice
_TRANSFER = struct.pack("<I", 2)  # System program instruction tag of Transfer


def token_account(owner: str, mint: str) -> str:
    return str(get_associated_token_address(Pubkey.from_string(owner), Pubkey.from_string(mint)))


def build_swap_tx(
    *,
    user: str,
    program: str,
    ticket_id: str,
    input_mint: str,
    output_mint: str,
    blockhash: str,
    priority_fee: int,
) -> str:
    """The unsigned transaction, base64."""
    payer = Pubkey.from_string(user)
    # micro-lamports per compute unit, so that price x limit is the fee in lamports exactly
    micro_per_cu = priority_fee * 1_000_000 // COMPUTE_UNIT_LIMIT
    accounts = [
        AccountMeta(payer, True, True),
        AccountMeta(Pubkey.from_string(token_account(user, input_mint)), False, True),
        AccountMeta(Pubkey.from_string(token_account(user, output_mint)), False, True),
        AccountMeta(Pubkey.from_string(input_mint), False, False),
        AccountMeta(Pubkey.from_string(output_mint), False, False),
    ]
    swap = Instruction(Pubkey.from_string(program), ticket_id.encode(), accounts)
    message = MessageV0.try_compile(
        payer, [set_compute_unit_price(micro_per_cu), swap], [], Hash.from_string(blockhash)
    )
    tx = VersionedTransaction.populate(message, [Signature.default()])
    return base64.b64encode(bytes(tx)).decode()


@dataclass(frozen=True)
class SignedSwap:
    tx: VersionedTransaction
    signature: str
    signer: str
    blockhash: str
    ticket_id: str | None
    program: str | None
    priority_fee: int
    num_signatures: int
    account_keys: list[str]
    verified: bool
    message: dict[str, Any] = field(default_factory=dict)
    """Header, recent blockhash, instructions and lookups, as getTransaction shows them."""
    wrap_lamports: int | None = None
    """A wrap of native SOL (transfer to the signer's wrapped-SOL account, then SyncNative)
    rather than a swap: the lamports it moves."""


def read_swap_tx(tx: VersionedTransaction, programs: tuple[str, ...]) -> SignedSwap:
    message = tx.message
    keys = [str(k) for k in message.account_keys]
    ticket: str | None = None
    program: str | None = None
    priority = 0
    for ix in message.instructions:
        prog = keys[ix.program_id_index] if ix.program_id_index < len(keys) else ""
        data = bytes(ix.data)
        if prog == COMPUTE_BUDGET and len(data) == 9 and data[0] == _SET_PRICE:
            (micro,) = struct.unpack("<Q", data[1:])
            priority = micro * COMPUTE_UNIT_LIMIT // 1_000_000
        elif prog in programs:
            program = prog
            try:
                ticket = data.decode()
            except UnicodeDecodeError:
                ticket = None
    results = tx.verify_with_results()
    required = message.header.num_required_signatures
    wrap = None if program is not None else _wrap_lamports(keys, message.instructions)
    return SignedSwap(
        tx=tx,
        signature=str(tx.signatures[0]),
        signer=keys[0] if keys else "",
        blockhash=str(message.recent_blockhash),
        ticket_id=ticket,
        program=program,
        priority_fee=priority,
        num_signatures=len(tx.signatures),
        account_keys=keys,
        verified=bool(results) and all(results) and len(results) == required,
        message=_message_json(message, keys),
        wrap_lamports=wrap,
    )


def _message_json(message: Any, keys: list[str]) -> dict[str, Any]:
    header = message.header
    return {
        "accountKeys": keys,
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            {
                "programIdIndex": ix.program_id_index,
                "accounts": list(ix.accounts),
                "data": base58.b58encode(bytes(ix.data)).decode(),
                "stackHeight": None,
            }
            for ix in message.instructions
        ],
        "addressTableLookups": [],
    }


def _wrap_lamports(keys: list[str], instructions: list[CompiledInstruction]) -> int | None:
    """The lamports a wrap moves, when the message is one: an optional idempotent creation of
    the signer's wrapped-SOL account, a system transfer into it, SyncNative on it."""
    if not keys:
        return None
    ata = token_account(keys[0], WSOL_MINT)
    steps: list[tuple[str, bytes, list[str]]] = []
    for ix in instructions:
        prog = keys[ix.program_id_index] if ix.program_id_index < len(keys) else ""
        steps.append((prog, bytes(ix.data), [keys[i] for i in ix.accounts if i < len(keys)]))
    if steps and steps[0][0] == COMPUTE_BUDGET:
        steps = steps[1:]
    if steps and steps[0][0] == ATA_PROGRAM and steps[0][1] in (b"\x01", b""):
        steps = steps[1:]
    if len(steps) != 2:
        return None
    (move_prog, move_data, move_keys), (sync_prog, sync_data, sync_keys) = steps
    if move_prog != SYSTEM_PROGRAM or len(move_data) != 12 or move_data[:4] != _TRANSFER:
        return None
    if move_keys[:2] != [keys[0], ata] or sync_prog != TOKEN_PROGRAM:
        return None
    if sync_data != b"\x11" or sync_keys[:1] != [ata]:
        return None
    (lamports,) = struct.unpack("<Q", move_data[4:])
    return int(lamports)
