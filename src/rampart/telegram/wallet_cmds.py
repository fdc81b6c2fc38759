"""``/connect solana``: an investor's Solana wallet, pasted (base58 secret) or made here.

The message holding a secret goes through :func:`rampart.telegram.connect_cmds.on_text`,
which registers its text with the log redaction and deletes it from the chat before this
module reads it. Replies name the public key only; the keypair is stored sealed under the
master key by :mod:`rampart.security.wallets`. A stored wallet is never replaced from the
chat: it may be the only copy of the keys to the money on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from solders.keypair import Keypair
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError
from rampart.operator import credentials, routing
from rampart.operator.investors import Investor
from rampart.security import keypairs
from rampart.telegram.sender import sender_id, sender_investor

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView

log = structlog.get_logger("rampart.telegram")

CONNECT = "solana"
CREATE = "solana-new"
CHOICES = (CONNECT, CREATE)
STEP = "wallet"
CREATE_WORDS = ("new", "create")


async def connect_solana(bot: BotView, update: Update, inv: Investor, choice: str) -> None:
    """``/connect solana`` (then a secret or the Create button) and the button itself."""
    if bot.settings.venue.kind == "ccxt":
        exchange = routing.venue_name(bot.settings)
        raise RampartError(f"This service trades on {exchange}; /connect {exchange}.")
    credentials.key_box(bot.desk, "wallet keys")
    credentials.wallet_replaceable(bot.desk, inv)
    uid = sender_id(update)
    if choice == CREATE:
        bot.pending.pop(uid, None)
        await _save(bot, update, inv, Keypair(), created=True)
        return
    bot.pending[uid] = {"step": STEP}
    await bot.reply(
        update,
        "Send your Solana wallet's secret key (base58, as Phantom or Solflare export it), "
        "or tap Create for a new wallet kept by this service. I delete your message as soon "
        "as I have read it.",
        InlineKeyboardMarkup([[InlineKeyboardButton("Create", callback_data=f"connect:{CREATE}")]]),
    )


async def on_secret(bot: BotView, update: Update, text: str) -> None:
    """The message after ``/connect solana``, already deleted from the chat."""
    uid = sender_id(update)
    del bot.pending[uid]
    inv = await sender_investor(bot, update)
    if text.strip().lower() in CREATE_WORDS:
        credentials.wallet_replaceable(bot.desk, inv)
        await _save(bot, update, inv, Keypair(), created=True)
        return
    try:
        keypair = keypairs.keypair_from_text(text)
    except keypairs.WalletError as err:
        raise RampartError(
            f"{err.message} Nothing was saved; /connect solana to try again."
        ) from None
    await _save(bot, update, inv, keypair, created=False)


async def _save(
    bot: BotView, update: Update, inv: Investor, keypair: Keypair, *, created: bool
) -> None:
    await bot.reply(
        update, await credentials.connect_wallet(bot.desk, inv, keypair, created=created)
    )
