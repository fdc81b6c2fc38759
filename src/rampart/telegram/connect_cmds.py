"""``/connect`` and ``/disconnect``: a paper account, or an exchange key proven with a balance
fetch and saved encrypted. The messages carrying the key and the secret are deleted once read,
and their text is registered with the log redaction before anything else happens.

A key typed on the ``/connect`` line itself (``/connect binance KEY``) is treated the same: the
message is deleted before anything else is done, and the answer never quotes it. A key or
secret that cannot be one for the exchange (:func:`rampart.telegram.keycheck.check_shape`) is
refused before the secret is asked or the exchange is called; nothing is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError
from rampart.observability.logging import register_secret
from rampart.operator import credentials, routing
from rampart.operator.investors import Investor
from rampart.security.secrets import Credentials
from rampart.telegram import chats, terms_cmds, wallet_cmds
from rampart.telegram.args import shown, words
from rampart.telegram.keycheck import check_shape, key_pair, looks_like_secret
from rampart.telegram.sender import sender_id, sender_investor

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView

log = structlog.get_logger("rampart.telegram")

EXCHANGES = credentials.EXCHANGES
CHOICES = frozenset({"paper", *EXCHANGES, *wallet_cmds.CHOICES})
"""What ``/connect`` takes after it: one of these words, nothing else."""
KEY_LIKE = 16
"""A word this long after /connect is taken for a key (exchange keys are far longer)."""
TYPED_KEY = (
    "I deleted your message: never put a key on the /connect line, where it would stay in the "
    "chat. Send /connect binance (or /connect solana), then the key on its own; nothing was saved."
)
BOTH_DELETED = (
    "I deleted your message: it held your API key and secret together, which should never stay "
    "in a chat."
)
STRAY_KEY = (
    "I deleted your message: it looked like a key, a secret or a recovery phrase, and nothing "
    "was waiting for one, so it was not kept anywhere. To connect an account, send /connect "
    "binance (or /connect solana) first, then the key on its own."
)


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


# -- connecting ---------------------------------------------------------------------------------


def _may_hold_a_key(args: list[str]) -> bool:
    """Whether the /connect line may carry a key: a word that is no choice after another word,
    or one as long as a key (no exchange's name is)."""
    unknown = [w for w in args if w.strip().lower() not in CHOICES]
    return bool(unknown) and (len(args) > 1 or len(unknown[0]) >= KEY_LIKE)


async def connect(bot: BotView, update: Update, args: list[str]) -> None:
    if _may_hold_a_key(args):
        # Gone from the chat before anything else is done, and never quoted.
        await _forget_typed(update, args)
        raise RampartError(TYPED_KEY)
    inv = await sender_investor(bot, update)
    choice = "".join(words("connect", args, 1)).strip().lower()
    if not choice and not await terms_cmds.gate(bot, update, inv, "connect"):
        return
    if not choice:
        await bot.reply(
            update,
            "Connect what? A paper account (virtual money) or an exchange key.",
            _buttons(
                [("Paper", "connect:paper"), ("Binance", "connect:binance")],
                [("Solana wallet", "connect:solana")],
            ),
        )
        return
    await connect_choice(bot, update, inv, choice)


async def connect_choice(bot: BotView, update: Update, inv: Investor, choice: str) -> None:
    # Terms first, for the command and its buttons alike (a wallet too).
    if not await terms_cmds.gate(bot, update, inv, "connect"):
        return
    if routing.exchange_backed(bot.settings):
        credentials.check_exchange_choice(bot.desk, inv, choice)
    if choice == "paper":
        await bot.reply(update, await credentials.connect_paper(bot.desk, inv))
        return
    if choice in wallet_cmds.CHOICES:
        await wallet_cmds.connect_solana(bot, update, inv, choice)
        return
    if choice not in EXCHANGES:
        raise RampartError(
            f"I can connect paper or {', '.join(EXCHANGES)}; not {shown(choice)}. Send "
            f"/connect paper or /connect {EXCHANGES[0]}."
        )
    credentials.key_box(bot.desk)
    bot.pending[sender_id(update)] = {"step": "key", "exchange": choice}
    await bot.reply(
        update,
        f"Send your {choice} API key (read and trade only, never withdrawals). "
        "I delete your message as soon as I have read it.",
    )


async def _forget_typed(update: Update, words: list[str]) -> None:
    message = update.effective_message
    for word in words:
        if word.strip().lower() not in CHOICES:
            register_secret(word)
    if message is not None:
        register_secret(message.text or "")
        await chats.delete(message)


async def on_text(bot: BotView, update: Update) -> None:
    uid = sender_id(update)
    state = bot.pending.get(uid)
    message = update.effective_message
    if state is None or message is None:
        if message is not None and looks_like_secret(message.text or ""):
            # A key pasted with nothing waiting for it must not stay in the chat either.
            register_secret((message.text or "").strip())
            await chats.delete(message)
            await bot.reply(update, STRAY_KEY)
            return
        await bot.reply(update, "Send a command; /help lists them.")
        return
    text = (message.text or "").strip()
    register_secret(text)
    # Delete first: whatever happens next, the key must not stay in the chat.
    await chats.delete(message)
    if state["step"] == wallet_cmds.STEP:
        await wallet_cmds.on_secret(bot, update, text)
        return
    said = ""
    if state["step"] == "key":
        pair = key_pair(state["exchange"], text)
        if pair is None:
            check_shape(state["exchange"], "API key", text)
            state.update(step="secret", key=text)
            await bot.reply(update, "Got it (message deleted). Now send the API secret.")
            return
        # Key and secret pasted together: taken as both, the message gone like any other.
        for part in pair:
            register_secret(part)
        state["key"], text = pair
        said = BOTH_DELETED + "\n\n"
    check_shape(state["exchange"], "API secret", text)
    del bot.pending[uid]
    inv = await sender_investor(bot, update)
    creds = Credentials(state["exchange"], state["key"], text)
    # A key that can withdraw is refused here, before anything is stored.
    warning = await bot.check_key(creds.exchange, creds.api_key, creds.secret)
    text = said + await credentials.connect_key(bot.desk, inv, creds)
    await bot.reply(update, f"{text}\n\n{warning}" if warning else text)


async def disconnect(bot: BotView, update: Update, args: list[str]) -> None:
    words("disconnect", args, 0)
    inv = await sender_investor(bot, update)
    bot.pending.pop(inv.telegram_id, None)
    text = await credentials.disconnect(bot.desk, inv)
    await bot.reply(update, text)
