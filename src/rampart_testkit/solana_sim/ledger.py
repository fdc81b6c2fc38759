"""Records of the stand-in's chain: wallets, swap tickets, transactions, JSON-RPC errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LAMPORTS_PER_SIGNATURE = 5000
VALID_SLOTS = 150
FINALIZED_AFTER = 32
SLIPPAGE_ERR = {"InstructionError": [1, {"Custom": 6001}]}
INSUFFICIENT_ERR = {"InstructionError": [1, {"Custom": 1}]}


class RpcError(Exception):
    """A JSON-RPC error object (answered with HTTP 200)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


@dataclass
class Wallet:
    lamports: int = 0
    tokens: dict[str, int] = field(default_factory=dict)


@dataclass
class Ticket:
    """One /swap call: what the user agreed to, priced again when the transaction lands."""

    id: str
    route: str
    symbol: str
    user: str
    base_in: bool
    input_mint: str
    output_mint: str
    mode: str
    amount: int
    """The fixed side: the input for ExactIn, the output for ExactOut."""
    quoted_in: int
    quoted_out: int
    threshold: int
    platform_bps: int
    priority_fee: int


@dataclass
class TxFaults:
    never_lands: bool = False
    """Never lands, however often it is sent (``expire``: its blockhash runs out)."""
    dropped: bool = False
    """Lost on its way (``drop``): sent again, the same transaction can still land."""
    delay_slots: int = 0
    slippage_bps: int = 0
    kinds: tuple[str, ...] = ()


@dataclass
class SimTx:
    signature: str
    ticket: Ticket
    node: str
    sent_slot: int
    land_slot: int
    blockhash: str
    last_valid_height: int
    fee_lamports: int
    num_signatures: int
    account_keys: list[str]
    faults: TxFaults
    message: dict[str, Any] = field(default_factory=dict)
    """The message as getTransaction's ``json`` encoding shows it (header, instructions)."""
    landed_slot: int | None = None
    landed_ms: int | None = None
    gone: bool = False
    """Will not land as things stand (dropped, expired, or its payer could not pay the fee);
    a dropped one sent again before its blockhash expires is on its way once more."""
    dropped: bool = False
    err: dict[str, Any] | None = None
    in_amount: int = 0
    out_amount: int = 0
    platform_fee: int = 0
    fee_mint: str = ""
    pre_lamports: int = 0
    post_lamports: int = 0
    pre_tokens: dict[str, int] = field(default_factory=dict)
    post_tokens: dict[str, int] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)

    def status(self, view_slot: int, confirm_slots: int) -> str | None:
        """processed / confirmed / finalized as seen at ``view_slot``, None before landing."""
        if self.landed_slot is None or view_slot < self.landed_slot:
            return None
        age = view_slot - self.landed_slot
        if age >= FINALIZED_AFTER:
            return "finalized"
        if age >= confirm_slots:
            return "confirmed"
        return "processed"

    def state(self, slot: int, confirm_slots: int) -> dict[str, Any]:
        if self.landed_slot is None:
            status = "dropped" if self.gone else "pending"
        else:
            status = self.status(slot, confirm_slots) or "pending"
        return {
            "signature": self.signature,
            "route": self.ticket.route,
            "status": status,
            "err": self.err,
            "slot": self.landed_slot,
            "in_amount": self.in_amount,
            "out_amount": self.out_amount,
            "platform_fee": self.platform_fee,
            "fee_mint": self.fee_mint,
            "fee_lamports": self.fee_lamports if self.landed_slot is not None else 0,
            "quote_id": self.ticket.id,
            "faults": list(self.faults.kinds),
        }
