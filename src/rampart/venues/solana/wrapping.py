"""Native SOL and wrapped SOL.

Wallets hold SOL natively; the network fees are paid from it. The routes are asked to trade
the wallet's wrapped-SOL token account instead (Jupiter's ``wrapAndUnwrapSol: false``), so the
SOL a position holds never mixes with the SOL that pays fees, and the books can equal the
chain to the lamport. Where SOL is what a market is quoted in, the investor funds it natively:
native SOL above ``solana.gas_reserve_sol`` is the SOL that market trades, and before a swap
that spends more wrapped SOL than the wallet holds, all of it is wrapped in one transaction
(create the wrapped-SOL account if it is missing, transfer, sync), leaving the reserve for fees.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction

from rampart.domain.errors import VenueError
from rampart.domain.fills import Balance
from rampart.venues.solana import reading
from rampart.venues.solana.landing import land
from rampart.venues.solana.rpc import RpcPool
from rampart.venues.solana.settings import WSOL_MINT
from rampart.venues.solana.signing import Wallet

TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ATA_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
WSOL = Pubkey.from_string(WSOL_MINT)
CREATE_IDEMPOTENT = bytes([1])
SYNC_NATIVE = bytes([17])
LAMPORTS = 9
GAS = "SOL.gas"
SOL = "SOL"


def wrap_transaction(owner: Pubkey, lamports: int, blockhash: str) -> VersionedTransaction:
    """Unsigned: the wrapped-SOL account made if missing, ``lamports`` moved into it, synced."""
    ata = get_associated_token_address(owner, WSOL)
    create = Instruction(
        ATA_PROGRAM,
        CREATE_IDEMPOTENT,
        [
            AccountMeta(owner, True, True),
            AccountMeta(ata, False, True),
            AccountMeta(owner, False, False),
            AccountMeta(WSOL, False, False),
            AccountMeta(SYSTEM_PROGRAM, False, False),
            AccountMeta(TOKEN_PROGRAM, False, False),
        ],
    )
    move = transfer(TransferParams(from_pubkey=owner, to_pubkey=ata, lamports=lamports))
    sync = Instruction(TOKEN_PROGRAM, SYNC_NATIVE, [AccountMeta(ata, False, True)])
    message = MessageV0.try_compile(owner, [create, move, sync], [], Hash.from_string(blockhash))
    return VersionedTransaction.populate(message, [Signature.default()])


def split_gas(balances: dict[str, Balance], reserve: Decimal, sol_is_cash: bool) -> None:
    """With SOL as a market's cash, native SOL above ``reserve`` is SOL to trade (in place)."""
    gas = balances.get(GAS)
    if not sol_is_cash or gas is None or gas.free <= reserve:
        return
    spare = gas.free - reserve
    balances[GAS] = replace(gas, free=reserve)
    held = balances.get(SOL, Balance(SOL))
    balances[SOL] = replace(held, free=held.free + spare)


class Wrapper:
    """Wraps native SOL before a swap that spends more wrapped SOL than the wallet holds."""

    def __init__(
        self,
        rpc: RpcPool,
        reserve_sol: Decimal,
        commitment: str,
        poll_s: float,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.rpc = rpc
        self.reserve = int(reserve_sol.scaleb(LAMPORTS))
        self.commitment = commitment
        self.poll_s = poll_s
        self.sleep = sleep

    async def held(self, owner: str) -> tuple[int, int]:
        """(wrapped SOL, native SOL) lamports of ``owner``."""
        accounts = await self.rpc.call(
            "getTokenAccountsByOwner",
            [owner, {"mint": WSOL_MINT}, {"encoding": "jsonParsed", "commitment": "confirmed"}],
        )
        wrapped = reading.token_balances(accounts, {WSOL_MINT: SOL}).get(SOL, Balance(SOL))
        native = await self.rpc.call("getBalance", [owner, {"commitment": "confirmed"}])
        value = native.get("value") if isinstance(native, dict) else None
        if not isinstance(value, int):
            raise VenueError("The Solana node answered a balance without lamports.", "data")
        return int(wrapped.free.scaleb(LAMPORTS)), value

    async def ensure(self, wallet: Wallet, need: int) -> None:
        """At least ``need`` lamports of wrapped SOL in ``wallet``, wrapping all its native SOL
        above the reserve when short; refused in one sentence when even that is not enough."""
        wrapped, native = await self.held(wallet.address)
        if wrapped >= need:
            return
        spare = native - self.reserve
        if wrapped + max(spare, 0) < need:
            have = Decimal(wrapped + max(spare, 0)).scaleb(-LAMPORTS)
            raise VenueError(
                f"The wallet has {have.normalize():f} SOL to swap and "
                f"{Decimal(self.reserve).scaleb(-LAMPORTS).normalize():f} SOL kept for network "
                f"fees: not enough for a swap of {Decimal(need).scaleb(-LAMPORTS).normalize():f} "
                "SOL.",
                "insufficient",
            )
        await self._wrap(wallet, spare)

    async def _wrap(self, wallet: Wallet, lamports: int) -> None:
        blockhash, last_valid = await self.rpc.latest_blockhash()
        signed = wallet.sign(wrap_transaction(wallet.pubkey, lamports, blockhash))
        what = "Wrapping SOL for the swap"
        await land(self.rpc, signed, last_valid, self.commitment, self.sleep, self.poll_s, what)


__all__ = ["Wrapper", "split_gas", "wrap_transaction"]
