"""``/connect solana``: an investor's Solana wallet, pasted (base58 secret) or made here.

The message holding a secret goes through :func:`rampart.telegram.connect_cmds.on_text`,
which registers its text with the log redaction and deletes it from the chat before this
module reads it. Replies name the public key only; the keypair is stored sealed under the
master key by :mod:`rampart.security.wallets`. A stored wallet is never replaced from the
chat: it may be the only copy of the keys to the money on it.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import structlog
from solders.keypair import Keypair
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError, present
from rampart.security import wallets
from rampart.security.secrets import KeyBox
from rampart.store.audit import record_safely
from rampart.telegram import investors as inv_store
from rampart.telegram import routing
from rampart.telegram.investors import Investor

if TYPE_CHECKING:
    from rampart.telegram.bot import RampartBot

log = structlog.get_logger("rampart.telegram")

CONNECT = "solana"
CREATE = "solana-new"
CHOICES = (CONNECT, CREATE)
STEP = "wallet"
CREATE_WORDS = ("new", "create")


def _uid(update: Update) -> int:
    return present(update.effective_user, "the sender (the router passes user messages)").id


def _box(bot: RampartBot) -> KeyBox:
    if bot.key_box is None:
        raise RampartError(
            "This service has no master key to protect wallet keys; ask the operator, "
            "or use /connect paper."
        )
    return bot.key_box


def _replace_or_refuse(bot: RampartBot, inv: Investor) -> bool:
    """Whether the account's stored credentials may be replaced: an exchange key may (the
    exchange keeps it), a Solana wallet may not. Raises the refusal for a wallet."""
    try:
        held = wallets.show_wallet(bot.session.db, _box(bot), inv.account_id)
    except wallets.WalletError:
        return True  # an exchange key: the investor can make another at the exchange
    if held is None:
        return False
    raise RampartError(
        f"Your Solana wallet {held.pubkey} is connected already; it stays as it is. "
        "Ask the operator to replace it."
    )


async def connect_solana(bot: RampartBot, update: Update, inv: Investor, choice: str) -> None:
    """``/connect solana`` (then a secret or the Create button) and the button itself."""
    if bot.settings.venue.kind == "ccxt":
        exchange = routing.venue_name(bot.settings)
        raise RampartError(f"This service trades on {exchange}; /connect {exchange}.")
    _box(bot)
    _replace_or_refuse(bot, inv)
    uid = _uid(update)
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


async def on_secret(bot: RampartBot, update: Update, text: str) -> None:
    """The message after ``/connect solana``, already deleted from the chat."""
    uid = _uid(update)
    del bot.pending[uid]
    from rampart.telegram.investor_cmds import _investor

    inv = await _investor(bot, update)
    if text.strip().lower() in CREATE_WORDS:
        _replace_or_refuse(bot, inv)
        await _save(bot, update, inv, Keypair(), created=True)
        return
    try:
        keypair = wallets.keypair_from_text(text)
    except wallets.WalletError as err:
        raise RampartError(
            f"{err.message} Nothing was saved; /connect solana to try again."
        ) from None
    await _save(bot, update, inv, keypair, created=False)


async def _save(
    bot: RampartBot, update: Update, inv: Investor, keypair: Keypair, *, created: bool
) -> None:
    replace = _replace_or_refuse(bot, inv)
    now = bot.clock.now_ms()
    wallet = wallets.store_keypair(
        bot.session.db, _box(bot), inv.account_id, keypair, now, replace=replace
    )
    await inv_store.save(bot.session.db, inv.with_(mode=CONNECT))
    uid = _uid(update)
    log.info("solana_wallet_saved", telegram_id=uid, pubkey=wallet.pubkey, created=created)
    said = {"exchange": CONNECT, "key": wallet.pubkey, "created": created}
    await record_safely(
        bot.session.db, now, f"telegram:{uid}", "credential.connect", inv.account_id, said
    )
    if bot.settings.venue.kind == CONNECT:
        after = "/invest AMOUNT starts trading with it."
    else:
        after = "Your account trades on paper here; the wallet is only kept."
    made = (
        "Your new Solana wallet is ready; its secret is kept encrypted here and never shown."
        if created
        else "Your Solana wallet is saved encrypted (message deleted)."
    )
    await bot.reply(
        update,
        f"{made} Public key: <code>{escape(wallet.pubkey)}</code>. Fund it with SOL for "
        f"network fees and the tokens you trade. {after}",
    )
