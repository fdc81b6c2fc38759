"""What a node of the simulated chain answers about it: a wallet's holdings at the node's
commitment (``getBalance``, ``getTokenAccountsByOwner``) and a transaction's status
(``getSignatureStatuses``, ``signatureSubscribe``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rampart_testkit.solana_sim.ledger import FINALIZED_AFTER, SimTx

if TYPE_CHECKING:
    from rampart_testkit.solana_sim.chain import Chain


def holdings(
    chain: Chain, owner: str, view_slot: int, reached: Callable[[SimTx], bool] | None = None
) -> tuple[int, dict[str, int]]:
    """``owner``'s lamports and tokens as a node sees them: with ``reached`` (the node's
    commitment), the effects of this owner's landed transactions that have not reached it
    are taken back out, as a real node answers ``commitment: confirmed`` from the last
    confirmed block rather than from what has only been processed."""
    wallet = chain.wallets.get(owner)
    if wallet is None:
        return 0, {}
    lamports, tokens = wallet.lamports, dict(wallet.tokens)
    if reached is None:
        return lamports, tokens
    for tx in chain.txs.values():
        if tx.ticket.user != owner or tx.landed_slot is None or reached(tx):
            continue
        lamports += tx.pre_lamports - tx.post_lamports
        for mint, before in tx.pre_tokens.items():
            tokens[mint] = tokens.get(mint, 0) + before - tx.post_tokens.get(mint, 0)
    return lamports, tokens


def status_of(chain: Chain, signature: str, view_slot: int) -> dict[str, Any] | None:
    tx = chain.txs.get(signature)
    if tx is None:
        return None
    status = tx.status(min(view_slot, chain.slot), chain.confirm_slots)
    if status is None or tx.landed_slot is None:
        return None
    age = min(view_slot, chain.slot) - tx.landed_slot
    return {
        "slot": tx.landed_slot,
        "confirmations": None if age >= FINALIZED_AFTER else age,
        "err": tx.err,
        "status": {"Err": tx.err} if tx.err else {"Ok": None},
        "confirmationStatus": status,
    }
