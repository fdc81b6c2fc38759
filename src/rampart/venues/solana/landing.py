"""Sending one signed transaction that is not a swap (a wrap of native SOL, a partner-fee
claim) and waiting until it lands at the venue's commitment or can no longer land."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable

from solders.transaction import VersionedTransaction

from rampart.domain.errors import VenueError
from rampart.venues.solana import reading
from rampart.venues.solana.rpc import RpcPool


async def land(
    rpc: RpcPool,
    signed: VersionedTransaction,
    last_valid: int,
    commitment: str,
    sleep: Callable[[float], Awaitable[None]],
    poll_s: float,
    what: str,
) -> str:
    """The signature of ``signed`` once it landed cleanly; a VenueError naming ``what`` when
    it failed on chain or its blockhash ran out first."""
    signature = str(signed.signatures[0])
    await rpc.send_transaction(base64.b64encode(bytes(signed)).decode())
    while True:
        height = await rpc.block_height()  # before the status: see attempts.settle
        [status] = await rpc.signature_statuses([signature])
        if status is not None and reading.reached(status, commitment):
            if status.get("err") is not None:
                raise VenueError(
                    f"{what} failed on chain ({json.dumps(status['err'])}).", "failed_on_chain"
                )
            return signature
        if status is None and height > last_valid:
            raise VenueError(f"{what} did not land before its blockhash expired.", "expired")
        await sleep(poll_s)


__all__ = ["land"]
