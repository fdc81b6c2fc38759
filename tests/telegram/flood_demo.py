"""The investors' flood, shared by its test and ``bench/telegram.py``: investors sending six
commands each while others press Confirm on ``/demo``, against the Bot API stand-in with its
flood limits on (edits counted)."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.operator import investors as inv_store
from tests.telegram.conftest import TgService

SIX = ["/portfolio", "/profit", "/balance", "/status", "/performance", "/count"]
SORRY = "Something went wrong"


async def demo_ready(svc: TgService, ids: list[int]) -> dict[int, tuple[str, int]]:
    """``ids`` registered (disclaimer and terms accepted) and each sent ``/demo``; the Confirm
    button's (callback data, message id) of each."""
    for uid in ids:
        svc.api.meet(uid)
        inv = inv_store.Investor(uid, inv_store.account_id_for(uid), accepted_disclaimer=True)
        await inv_store.save(svc.session.db, inv)
        version = (await svc.operator.terms_status(inv.account_id)).version
        await svc.operator.accept_terms(inv.account_id, inv_store.owner_for(uid), version)
    last = 0
    for uid in ids:
        last = svc.api.push_text(uid, "/demo")
    await svc.until(lambda: svc.bot.processed >= last, limit_s=120)
    return {uid: svc.api.button(uid, "Confirm") for uid in ids}


@dataclass
class Outcome:
    confirmed: int
    placed: int
    """Confirmers told "Order placed" (on the proposal, or in a new message)."""
    sorry: int
    """Confirmers told something went wrong."""
    buttons_left: int
    """Proposals still showing Confirm and Cancel after the tap."""
    answered: int
    """Of the flooders' commands, answered with something other than an apology."""
    asked: int


async def flood_and_confirm(
    svc: TgService, flooders: list[int], confirmers: dict[int, tuple[str, int]]
) -> Outcome:
    """Every flooder's six commands and every confirmer's tap, interleaved, all at once."""
    marks = {uid: len(svc.api.texts(uid)) for uid in [*flooders, *confirmers]}
    taps = list(confirmers.items())
    last = 0
    for n, command in enumerate(SIX):
        for uid in flooders:
            last = svc.api.push_text(uid, command)
            if n == 0 and taps:
                tapper, (data, message_id) = taps.pop()
                last = svc.api.push_button(tapper, data, message_id)
    for tapper, (data, message_id) in taps:
        last = svc.api.push_button(tapper, data, message_id)
    await svc.until(lambda: svc.bot.processed >= last, limit_s=300)
    placed = sorry = left = 0
    for uid, (_, message_id) in confirmers.items():
        told = svc.api.texts(uid)[marks[uid] :]
        placed += any("Order placed" in t for t in told)
        sorry += any(SORRY in t for t in told)
        left += svc.api.messages[(uid, message_id)][1] is not None
    answered = sum(
        1 for uid in flooders for t in svc.api.texts(uid)[marks[uid] :] if SORRY not in t
    )
    return Outcome(len(confirmers), placed, sorry, left, answered, len(flooders) * len(SIX))
