"""``/connect`` and ``/disconnect``: a paper account, or an exchange key proven with a balance
fetch and saved encrypted. The messages carrying the key and the secret are deleted once read,
and their text is registered with the log redaction before anything else happens."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import structlog
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError
from rampart.ops.logging import register_secret
from rampart.security.secrets import Credentials, delete_credentials, save_credentials
from rampart.telegram import investors as inv_store
from rampart.telegram.investors import Investor

if TYPE_CHECKING:
    from rampart.telegram.bot import RampartBot

log = structlog.get_logger("rampart.telegram")

EXCHANGES = ("binance",)


def _uid(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id


async def _investor(bot: RampartBot, update: Update) -> Investor:
    from rampart.telegram.investor_cmds import _investor as find

    return await find(bot, update)


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


# -- connecting ---------------------------------------------------------------------------------


async def connect(bot: RampartBot, update: Update, args: list[str]) -> None:
    inv = await _investor(bot, update)
    choice = (args[0] if args else "").strip().lower()
    if not choice:
        await bot.reply(
            update,
            "Connect what? A paper account (virtual money) or an exchange key.",
            _buttons([("Paper", "connect:paper"), ("Binance", "connect:binance")]),
        )
        return
    await connect_choice(bot, update, inv, choice)


async def connect_choice(bot: RampartBot, update: Update, inv: Investor, choice: str) -> None:
    if choice == "paper":
        await inv_store.save(bot.session.db, inv.with_(mode="paper"))
        await bot.reply(
            update,
            "Paper account connected: virtual money, real prices. "
            "Pick a profile with /risk and start with /invest AMOUNT.",
        )
        return
    if choice not in EXCHANGES:
        raise RampartError(f"I can connect paper or {', '.join(EXCHANGES)}; not {choice!r}.")
    if bot.key_box is None:
        raise RampartError(
            "This service has no master key to protect exchange keys; ask the operator, "
            "or use /connect paper."
        )
    bot.pending[_uid(update)] = {"step": "key", "exchange": choice}
    await bot.reply(
        update,
        f"Send your {choice} API key (read and trade only, never withdrawals). "
        "I delete your message as soon as I have read it.",
    )


async def on_text(bot: RampartBot, update: Update) -> None:
    uid = _uid(update)
    state = bot.pending.get(uid)
    message = update.effective_message
    if state is None or message is None:
        await bot.reply(update, "Send a command; /help lists them.")
        return
    text = (message.text or "").strip()
    register_secret(text)
    # Delete first: whatever happens next, the key must not stay in the chat.
    await message.delete()
    if state["step"] == "key":
        state.update(step="secret", key=text)
        await bot.reply(update, "Got it (message deleted). Now send the API secret.")
        return
    del bot.pending[uid]
    inv = await _investor(bot, update)
    creds = Credentials(state["exchange"], state["key"], text)
    await bot.check_key(creds.exchange, creds.api_key, creds.secret)
    assert bot.key_box is not None
    save_credentials(bot.session.db, bot.key_box, inv.account_id, creds, bot.clock.now_ms())
    await inv_store.save(bot.session.db, inv.with_(mode=creds.exchange))
    log.info("exchange_key_saved", telegram_id=uid, exchange=creds.exchange)
    await bot.reply(
        update,
        f"Your {escape(creds.exchange)} key {escape(creds.masked_key())} works and is saved "
        f"encrypted. This service trades in {escape(bot.settings.mode)} mode.",
    )


async def disconnect(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    inv = await _investor(bot, update)
    gone = delete_credentials(bot.session.db, inv.account_id)
    bot.pending.pop(inv.telegram_id, None)
    if inv.mode in EXCHANGES:
        await inv_store.save(bot.session.db, inv.with_(mode="paper"))
    await bot.reply(
        update, "Your exchange key is forgotten." if gone else "No exchange key was stored."
    )
