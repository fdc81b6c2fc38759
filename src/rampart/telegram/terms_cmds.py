"""Terms before money: an investor accepts the terms of service and privacy policy in
effect before ``/connect`` (an exchange key, a wallet or paper) or ``/invest``.

``/start`` shows the risk disclaimer with the terms' summary: **I accept** accepts both,
**Decline** leaves the investor free to look around (``/demo`` with virtual money, the
read-only commands) and nothing more. ``/connect`` and ``/invest`` check the acceptance first
(:func:`gate`): an investor who never accepted, or accepted an older version than
:data:`rampart.operator.terms.TERMS_VERSION`, is shown the terms again with the two buttons, and
nothing else happens. Accepting and declining are calls on the operator facade
(``accept_terms``, ``decline_terms``), which records who accepted which version when and audits
it once.

Each button carries the version it showed: a tap on a message from before a change accepts
nothing and shows the terms now in effect.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.clock import ms_to_datetime
from rampart.domain.errors import RampartError, present
from rampart.operator import investors as inv_store
from rampart.operator import terms as terms_doc
from rampart.telegram import args as arg
from rampart.telegram import chats
from rampart.telegram.sender import sender_investor

if TYPE_CHECKING:
    from rampart.operator.investors import Investor
    from rampart.operator.people import TermsStatus
    from rampart.telegram.bot_view import BotView

PREFIX = "terms"
ACCEPT = "I accept"
DECLINE = "Decline"
START = "start"
"""The ``then`` of the /start message: accepting there also accepts the risk disclaimer."""
THEN = {
    START: "Next: /connect paper (or an exchange key or wallet), then /invest AMOUNT.",
    "connect": "Go on: /connect",
    "invest": "Go on: /invest AMOUNT",
    "terms": "/connect and /invest are open to you.",
}
"""What to do after accepting, by the command that asked."""

SUMMARY = (
    "• Trading crypto can lose money, all of it included; past results promise nothing.\n"
    "• Your exchange account or wallet stays yours. Use a key that can trade but never "
    "withdraw; keys are kept encrypted and never shown or logged.\n"
    "• The operator's kill switch, circuit breakers and rollout stages can stop new trades on "
    "your account; open positions keep their stop-loss and take-profit.\n"
    "• Kept: your Telegram id, settings, orders and trades, feedback and support requests. No "
    "name, e-mail or phone. /disconnect deletes your key at once.\n"
    "• Help: /support (critical within {critical}, others within {general})."
)


def _hours(hours: float) -> str:
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def summary(bot: BotView) -> str:
    """The terms in effect in a few lines, their version, and where to read them in full."""
    people = bot.settings.people
    lines = [
        f"<b>Terms of service and privacy policy</b>, version {escape(terms_doc.TERMS_VERSION)} "
        f"(in effect from {escape(terms_doc.TERMS_DATE)}). In short:",
        SUMMARY.format(
            critical=_hours(people.critical_sla_h), general=_hours(people.general_sla_h)
        ),
    ]
    tg = bot.settings.telegram
    links = [
        f'<a href="{escape(url, quote=True)}">{name}</a>'
        for name, url in (("terms", tg.terms_url), ("privacy policy", tg.privacy_url))
        if url
    ]
    if links:
        lines.append("Read them in full: " + " · ".join(links))
    else:
        lines.append("Ask through /support for the full text.")
    return "\n".join(lines)


def buttons(version: str, then: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(ACCEPT, callback_data=f"{PREFIX}:accept:{version}:{then}"),
                InlineKeyboardButton(DECLINE, callback_data=f"{PREFIX}:decline:{version}:{then}"),
            ]
        ]
    )


def _prompt(bot: BotView, status: TermsStatus, then: str) -> str:
    if status.accepted is None:
        head = "Before you connect an account or invest, accept the terms."
    else:
        head = (
            f"The terms changed since you accepted version {escape(status.accepted.version)}: "
            "accept the new version before you connect an account or invest."
        )
    tail = (
        "Tap <b>I accept</b> to go on, or <b>Decline</b>: /demo and the read-only commands "
        "still work."
    )
    return f"{head}\n\n{summary(bot)}\n\n{tail}"


async def gate(bot: BotView, update: Update, inv: Investor, then: str) -> bool:
    """True when ``inv`` accepted the terms in effect; otherwise the terms are shown with the
    two buttons, and the caller does nothing more."""
    status = await bot.operator.terms_status(inv.account_id)
    if status.current:
        return True
    await bot.reply(update, _prompt(bot, status, then), buttons(status.version, then))
    return False


def start_choice() -> str:
    """The last line of the /start message, under the disclaimer and the terms."""
    return (
        "Tap <b>I accept</b> to accept the disclaimer and the terms, or <b>Decline</b> to look "
        "around only: /demo (virtual money) and the read-only commands work; /connect and "
        "/invest ask you again."
    )


def start_markup() -> InlineKeyboardMarkup:
    return buttons(terms_doc.TERMS_VERSION, START)


def _date(ms: int) -> str:
    return f"{ms_to_datetime(ms):%Y-%m-%d %H:%M} UTC"


def _actor(update: Update) -> str:
    user = present(update.effective_user, "the sender (the router passes user messages)")
    return inv_store.owner_for(user.id)


async def on_button(bot: BotView, update: Update, data: str) -> None:
    """A tap on **I accept** or **Decline** (``terms:accept|decline:VERSION:THEN``)."""
    query = present(update.callback_query, "the button's callback query")
    _, answer, version, then = ([*data.split(":"), "", "", ""])[:4]
    uid = present(update.effective_user, "the sender").id
    inv = await bot.operator.investors.load(uid)
    if inv is None:
        raise RampartError("Send /start first.")
    status = await bot.operator.terms_status(inv.account_id)
    if version != status.version:
        # A message from before the terms changed: nothing is accepted from it.
        await bot.answer_button(update, "These terms were replaced; the new ones are below.")
        await bot.reply(
            update, _prompt(bot, status, then or "terms"), buttons(status.version, then)
        )
        return
    if then == START and not inv.accepted_disclaimer:
        # Either button: the risk disclaimer was read; the demo and reading are open.
        inv = inv.with_(accepted_disclaimer=True)
        await bot.operator.investors.save(inv)
    if answer == "accept":
        done = await bot.operator.accept_terms(inv.account_id, _actor(update), version)
        what = f"the terms and privacy policy (version {escape(done.version)})"
        head = f"Disclaimer accepted, and {what}." if then == START else f"Accepted: {what}."
        await chats.edit(query, f"{head} {THEN.get(then, THEN['terms'])}")
        return
    await bot.operator.decline_terms(inv.account_id, _actor(update), version)
    await chats.edit(
        query,
        f"You declined the terms (version {escape(version)}). /connect and /invest stay closed "
        "until you accept them (/terms shows them again); /demo and the read-only commands "
        "such as /portfolio still work.",
    )


async def after_old_disclaimer(bot: BotView, update: Update, inv: Investor) -> None:
    """A tap on the **I accept** of a /start message from before the terms were asked there
    (``disclaimer:accept``). It accepts the risk disclaimer only, so the next step named is the one
    that works ("Next: /connect paper" would send the investor to a /connect that asks for the
    terms): the terms in effect, when they are not accepted yet; else /connect or,
    once connected, /invest."""
    query = present(update.callback_query, "the button's callback query")
    status = await bot.operator.terms_status(inv.account_id)
    if not status.current:
        await chats.edit(query, "Disclaimer accepted. One more step: the terms, below.")
        await bot.reply(update, _prompt(bot, status, "connect"), buttons(status.version, "connect"))
        return
    if inv.capital > 0:
        then = "You are set up: /portfolio shows your account."
    else:
        then = "Next: /invest AMOUNT." if inv.mode else THEN[START]
    await chats.edit(query, f"Disclaimer accepted. {then}")


async def terms(bot: BotView, update: Update, args: list[str]) -> None:
    """``/terms``: the terms in effect, whether you accepted them, and the buttons if not."""
    arg.words("terms", args, 0)
    inv = await sender_investor(bot, update)
    status = await bot.operator.terms_status(inv.account_id)
    if status.current and status.accepted is not None:
        await bot.reply(
            update,
            f"You accepted version {escape(status.accepted.version)} on "
            f"{_date(status.accepted.accepted_at)}.\n\n{summary(bot)}",
        )
        return
    await bot.reply(update, _prompt(bot, status, "terms"), buttons(status.version, "terms"))
