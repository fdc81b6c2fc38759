"""``/feedback`` and ``/support`` for investors, ``/answer`` and ``/tickets`` for operators. Each is
one call on the operator facade (``record_feedback``, ``open_ticket``,
``answer_ticket``, ``tickets``), which checks what was typed, keeps it and tells whom it
concerns: a new ticket goes to the operator chat, an answer to the investor as a notice through
the outbox, whether it was given here or on the panel's People page.

What people write keeps its line breaks: it is read from the message itself, not from the
words Telegram's command parser split it into.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from rampart.domain.errors import RampartError
from rampart.operator.names import OPEN
from rampart.operator.people import PRIORITY_WORDS
from rampart.telegram import args as arg
from rampart.telegram.operator_cmds import operator_only
from rampart.telegram.sender import sender_investor

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler

WRITTEN = frozenset({"feedback", "support", "answer"})
"""Commands that carry what a person wrote: the facade's own limits apply to them (a support
request may fill a Telegram message), not the bot's limit on command arguments."""
SHOWN = 20
"""Open tickets ``/tickets`` lists, oldest first."""


def _rest(update: Update, skip: int) -> str:
    """The message's text after the command and ``skip`` more words, line breaks kept."""
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    parts = text.split(None, 1 + skip)
    return parts[1 + skip] if len(parts) > 1 + skip else ""


def _hours(ms: int) -> str:
    hours = ms / 3_600_000
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def _age(ms: int) -> str:
    minutes = ms // 60_000
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.0f} h" if minutes < 48 * 60 else f"{minutes / 1440:.0f} days"


async def feedback(bot: BotView, update: Update, args: list[str]) -> None:
    if not args:
        raise arg.refuse("feedback", "Give a score, and a few words if you like.")
    inv = await sender_investor(bot, update)
    done = await bot.operator.record_feedback(inv.account_id, args[0], _rest(update, 1))
    await bot.reply(update, f"{escape(done.message)} It helps the operator see what to improve.")


async def support(bot: BotView, update: Update, args: list[str]) -> None:
    inv = await sender_investor(bot, update)
    if not args:
        raise arg.refuse("support", "Say what is wrong, in a few words or a few lines.")
    flagged = args[0].strip().lower() in PRIORITY_WORDS
    ticket = await bot.operator.open_ticket(
        inv.account_id, _rest(update, 1 if flagged else 0), args[0] if flagged else None
    )
    within = _hours(bot.settings.people.sla_ms()[ticket.priority])
    await bot.reply(
        update,
        f"Ticket #{ticket.id} opened ({ticket.priority}). The operator's team answers within "
        f"{within}; the answer comes to this chat.",
    )


async def answer(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    if not args:
        raise arg.refuse("answer", "Say which ticket and the answer.")
    ticket = await bot.operator.answer_ticket(args[0], actor, _rest(update, 1))
    told = (
        "it reaches the investor as a notice"
        if bot.operator.investor_notices is not None
        else "this service sends no notices, so tell the investor yourself"
    )
    await bot.reply(update, f"Ticket #{ticket.id} ({escape(ticket.account_id)}) answered; {told}.")


async def tickets(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del actor
    if args:
        raise RampartError("/tickets takes nothing after it. Usage: /tickets")
    found = (await bot.operator.tickets(OPEN, SHOWN))[::-1]
    if not found:
        await bot.reply(update, "No open support tickets.")
        return
    now, sla = bot.clock.now_ms(), bot.settings.people.sla_ms()
    lines = ["<b>Open support tickets</b> (oldest first)"]
    for t in found:
        late = " <b>OVERDUE</b>" if t.overdue(now, sla) else ""
        excerpt = " ".join(t.text.split())[:120]
        lines.append(
            f"#{t.id} {t.priority} · {escape(t.account_id)} · {_age(t.age_ms(now))} old{late}: "
            f"{escape(excerpt)}"
        )
    lines.append("/answer ID YOUR ANSWER answers one.")
    await bot.reply(update, "\n".join(lines))


COMMANDS: dict[str, Handler] = {
    "feedback": feedback,
    "support": support,
    "answer": operator_only("answer", answer),
    "tickets": operator_only("tickets", tickets),
}
