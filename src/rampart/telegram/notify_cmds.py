"""``/notify``: which notices an investor receives; ``/incident_eta``: an operator says when an
incident is expected fixed, and the investors it affects are told.

The notices themselves are made by :mod:`rampart.notices.investor_notices` and sent by the
outbox (:mod:`rampart.notices.outbox`); the bot holds the shared preferences
(``bot.notify_prefs``) and the outbox (``bot.outbox``) when the service wired them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from rampart.clock import ms_to_datetime
from rampart.domain.errors import RampartError, present
from rampart.notices.investor_notices import INCIDENTS, KINDS, InvestorNotice, incident_text
from rampart.telegram.args import shown
from rampart.telegram.operator_cmds import operator_only

if TYPE_CHECKING:
    from rampart.notices.notify_prefs import NotifyPrefs
    from rampart.telegram.bot_view import BotView, Handler

USAGE = (
    "Use /notify to see your notices, /notify off KIND or /notify on KIND to choose "
    f"(KIND is one or more of {', '.join(KINDS)}, or all)."
)
ETA_USAGE = (
    "Use /incident_eta ID WHEN: WHEN is minutes from now (45), a UTC time today (14:30) or "
    "off to clear it."
)
MAX_ETA_MINUTES = 7 * 24 * 60


def prefs_of(bot: BotView) -> NotifyPrefs:
    """The service's preferences, or (a bot run without the outbox) a copy read now."""
    if bot.notify_prefs is None:
        bot.notify_prefs = bot.operator.notify_prefs()
    return bot.notify_prefs


def _kinds(words: list[str]) -> list[str]:
    chosen: list[str] = []
    for word in words:
        kind = word.strip(",").lower()
        if kind == "all":
            return list(KINDS)
        if kind not in KINDS:
            raise RampartError(f"There is no kind of notice called {shown(word)}. {USAGE}")
        chosen.append(kind)
    return chosen


def listing(prefs: dict[str, bool]) -> str:
    lines = [
        f"{'🔔 on ' if on else '🔕 off'} <b>{kind}</b>: {escape(KINDS[kind])}"
        for kind, on in prefs.items()
    ]
    return "<b>Your notices</b>\n" + "\n".join(lines) + f"\n\n{escape(USAGE)}"


async def notify(bot: BotView, update: Update, args: list[str]) -> None:
    uid = present(update.effective_user, "the sender").id
    found = await bot.operator.investors.load(uid)
    if found is None or not found.accepted_disclaimer:
        raise RampartError("Send /start first and accept the risk disclaimer.")
    prefs = prefs_of(bot)
    account_id = found.account_id
    if not args:
        await bot.reply(update, listing(prefs.of(account_id)))
        return
    switch = args[0].lower()
    if switch not in ("on", "off") or len(args) < 2:
        raise RampartError(USAGE)
    kinds = _kinds(args[1:])
    await prefs.set(account_id, kinds, switch == "on", bot.clock.now_ms())
    said = "You will be told about" if switch == "on" else "You will no longer be told about"
    await bot.reply(
        update, f"{said}: {escape(', '.join(kinds))}.\n\n" + listing(prefs.of(account_id))
    )


def _eta(word: str, now_ms: int) -> int | None:
    text = word.strip().lower()
    if text == "off":
        return None
    now = ms_to_datetime(now_ms)
    if text.isdigit() and 0 < int(text) <= MAX_ETA_MINUTES:
        return now_ms + int(text) * 60_000
    hour, sep, minute = text.partition(":")
    if sep and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
        at = datetime(now.year, now.month, now.day, int(hour), int(minute), tzinfo=UTC)
        if at <= now:
            at += timedelta(days=1)  # a time already past today means tomorrow's
        return int(at.timestamp() * 1000)
    raise RampartError(ETA_USAGE)


async def incident_eta(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    if len(args) != 2 or not args[0].lstrip("#").isdigit():
        raise RampartError(ETA_USAGE)
    incident_id = int(args[0].lstrip("#"))
    now = bot.clock.now_ms()
    eta = _eta(args[1], now)
    record = await bot.operator.set_incident_eta(incident_id, eta, actor, now)
    account = record.labels.get("account_id") or record.labels.get("account")
    investors = bot.operator.investors
    # A service-wide incident affects every investor.
    affected = [account] if account else [i.account_id for i in await investors.all()]
    text = incident_text(record.summary, eta)
    told = 0
    for account_id in affected:
        notice = InvestorNotice(
            f"incident|{incident_id}|{account_id}|{eta}|{now}", account_id, INCIDENTS, text, now
        )
        if bot.outbox is not None:
            bot.outbox.put(notice)
            told += 1
        elif prefs_of(bot).enabled(account_id, INCIDENTS):
            told += await bot.tell_account(account_id, text)
    when = "cleared" if eta is None else f"{ms_to_datetime(eta):%Y-%m-%d %H:%M} UTC"
    await bot.reply(
        update,
        f"Incident #{incident_id}: expected fix {escape(when)}; {told} investor notice(s) queued.",
    )


COMMANDS: dict[str, Handler] = {
    "notify": notify,
    "incident_eta": operator_only("incident_eta", incident_eta),
}
