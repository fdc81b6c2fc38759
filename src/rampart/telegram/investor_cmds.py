"""Investor commands. Each resolves the sender's own account from their Telegram id, so no
command can read or touch anyone else's account."""

from __future__ import annotations

import secrets
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

import structlog
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError, present
from rampart.operator import capital as changes
from rampart.operator import investors as inv_store
from rampart.operator import routing
from rampart.operator.investors import Investor
from rampart.risk.profiles import DEFAULT_PROFILES, get_profile
from rampart.telegram import args as arg
from rampart.telegram import chats, connect_cmds, demo, intent_cmds, terms_cmds
from rampart.telegram.portfolio_view import paused_by_operator, portfolio_text
from rampart.telegram.sender import (
    quote_asset,
    running_account,
    sender_account,
    sender_id,
    sender_investor,
    stage_check,
    start_account,
)
from rampart.telegram.text import (
    DISCLAIMER,
    help_text,
    money,
    profile_text,
    when,
)

if TYPE_CHECKING:
    from rampart.operator.names import AccountRuntime
    from rampart.telegram.bot_view import BotView, Handler

log = structlog.get_logger("rampart.telegram")

MAX_INVEST = Decimal("1e9")
EXCHANGES = connect_cmds.EXCHANGES


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


# -- registration -------------------------------------------------------------------------------


async def start(bot: BotView, update: Update, args: list[str]) -> None:
    del args
    uid = sender_id(update)
    book = bot.operator.investors
    inv = await book.load(uid)
    if inv is None:
        inv = Investor(uid, inv_store.account_id_for(uid), created_at=bot.clock.now_ms())
        await book.save(inv)
        log.info("investor_registered", telegram_id=uid, account_id=inv.account_id)
    if inv.accepted_disclaimer:
        await bot.reply(update, "Welcome back. /help lists what I can do.")
        return
    text = f"{DISCLAIMER}\n\n{terms_cmds.summary(bot)}\n\n{terms_cmds.start_choice()}"
    await bot.reply(update, text, terms_cmds.start_markup())


async def help_(bot: BotView, update: Update, args: list[str]) -> None:
    arg.words("help", args, 0)
    await bot.reply(update, help_text(bot.is_operator(sender_id(update))))


# -- settings -----------------------------------------------------------------------------------


async def risk(bot: BotView, update: Update, args: list[str]) -> None:
    inv = await sender_investor(bot, update)
    overrides = bot.settings.profiles or None
    if not arg.words("risk", args, 1):
        lines = [f"Your profile: <b>{escape(inv.profile)}</b>"]
        lines += [profile_text(get_profile(n, overrides)) for n in DEFAULT_PROFILES]
        await bot.reply(update, "\n\n".join(lines))
        return
    name = args[0].strip().lower()
    if name not in DEFAULT_PROFILES:
        raise RampartError(
            f"There is no {arg.shown(name)} profile; choose {', '.join(DEFAULT_PROFILES)}."
        )
    acct = running_account(bot, inv)
    note = ""
    if acct is not None and acct.spec.profile != name:
        await changes.change_profile(bot.desk, acct, name, _actor(update))
        note = " Open positions keep their stop-loss and target; new trades use the new limits."
    elif acct is None and (refusal := changes.stage_profile_refusal(bot.desk.stage, name)):
        raise RampartError(refusal)
    await bot.operator.investors.save(inv.with_(profile=name))
    await bot.reply(update, "Profile set. " + profile_text(get_profile(name, overrides)) + note)


def parse_amount(raw: str) -> Decimal:
    amount = arg.amount(raw)
    if amount is None:
        raise arg.refuse("invest", f"{arg.shown(raw)} is not an amount written plainly.")
    if amount <= 0:
        raise RampartError("The amount must be positive, like /invest 300.")
    if amount > MAX_INVEST:
        raise RampartError(
            "That is more than Rampart accepts; the most is 1,000,000,000. Send /invest with a "
            "smaller amount."
        )
    if amount < 10:
        raise RampartError("That is too little to trade; invest at least 10, like /invest 300.")
    return amount


async def invest(bot: BotView, update: Update, args: list[str]) -> None:
    (raw,) = arg.words("invest", args, 1, 1)
    amount = parse_amount(raw)
    inv = await sender_investor(bot, update)
    if not await terms_cmds.gate(bot, update, inv, "invest"):
        return
    if not inv.mode:
        if routing.exchange_backed(bot.settings):
            raise RampartError(f"Connect first: /connect {routing.venue_name(bot.settings)}.")
        raise RampartError("Connect first: /connect paper (or an exchange key).")
    acct = running_account(bot, inv)
    if acct is not None:
        capital, q = acct.spec.capital, acct.spec.quote
        share = bot.settings.telegram.large_withdrawal_pct / 100
        if capital - amount > capital * share:
            # A large withdrawal (or a typo) is never acted on without a second look.
            changes.check_capital(bot.desk, acct, amount)
            token = secrets.token_hex(6)
            bot.proposals[token] = (inv.telegram_id, ("invest", amount))
            await bot.reply(
                update,
                f"That takes {money(capital - amount, q)} out of your {money(capital, q)} "
                f"capital ({(capital - amount) / capital:.0%}), leaving {money(amount, q)}. "
                "Take it out?",
                _buttons([("Confirm", f"invest:yes:{token}"), ("Cancel", f"invest:no:{token}")]),
            )
            return
        await bot.reply(update, await _set_capital(bot, inv, acct, amount))
        return
    if routing.exchange_backed(bot.settings):
        await _invest_on_exchange(bot, update, inv, amount)
        return
    refusal = stage_check(bot)(amount, inv.profile)
    if refusal:
        raise RampartError(refusal)
    inv = inv.with_(capital=amount)
    await start_account(bot, inv)
    await bot.operator.investors.save(inv)
    await bot.reply(
        update,
        f"Investing {money(amount, quote_asset(bot))} on the <b>{escape(inv.profile)}</b> profile"
        f"{_virtual(bot, inv)}. Trading has started; see /portfolio.",
    )


def _virtual(bot: BotView, inv: Investor) -> str:
    """On a paper service: that the money is virtual (also after an exchange key was given)."""
    if routing.exchange_backed(bot.settings):
        return ""
    key = (
        f"; your {escape(inv.mode.capitalize())} key is only kept, not traded with"
        if inv.mode in EXCHANGES
        else ""
    )
    return f" (paper trading: virtual money at real prices, no real money moves{key})"


async def _set_capital(bot: BotView, inv: Investor, acct: AccountRuntime, amount: Decimal) -> str:
    delta = await changes.change_capital(bot.desk, acct, amount, f"telegram:{inv.telegram_id}")
    await bot.operator.investors.save(inv.with_(capital=amount))
    q = acct.spec.quote
    moved = (
        (f"{money(delta, q)} added" if delta > 0 else f"{money(-delta, q)} taken out")
        if delta
        else "unchanged"
    )
    return f"Capital set to {money(amount, q)} ({moved}){_virtual(bot, inv)}. See /portfolio."


async def _invest_on_exchange(bot: BotView, update: Update, inv: Investor, amount: Decimal) -> None:
    started = await start_account(bot, inv.with_(capital=amount))
    await bot.operator.investors.save(started)
    q, name = quote_asset(bot), routing.venue_name(bot.settings)
    holder = "Solana wallet" if routing.on_chain(bot.settings) else f"{name} account"
    note = (
        f" That is all your {escape(holder)} holds, less than the {money(amount, q)} you named."
        if started.capital < amount
        else ""
    )
    where = "with real money" if bot.settings.mode == "live" else f"in {bot.settings.mode} mode"
    await bot.reply(
        update,
        f"Investing {money(started.capital, q)} on the <b>{escape(inv.profile)}</b> profile, "
        f"on {escape(name)} {escape(where)}, with your own {routing.key_word(bot.settings)}."
        f"{note} Trading has started; see /portfolio.",
    )


async def mode(bot: BotView, update: Update, args: list[str]) -> None:
    inv = await sender_investor(bot, update)
    wanted = "".join(arg.words("mode", args, 1)).strip().lower()
    if wanted not in ("paper", "live"):
        raise RampartError("Choose /mode paper or /mode live.")
    if wanted == "live":
        if inv.mode not in EXCHANGES:
            raise RampartError(
                "Live trading needs an exchange key or a wallet: "
                f"/connect {routing.venue_name(bot.settings)} first."
            )
        if bot.settings.mode != "live":
            raise RampartError(
                f"This service runs in {bot.settings.mode} mode; live trading needs the "
                "operator to run it live. Ask the team with /support."
            )
        if running_account(bot, inv) is None:
            await bot.reply(
                update,
                "Live trading uses your own exchange key: /invest AMOUNT starts it with what "
                "your exchange account holds.",
            )
            return
        await bot.reply(update, "You trade live, with real money, on your exchange.")
        return
    if routing.exchange_backed(bot.settings):
        raise RampartError(routing.no_paper_here(bot.settings))
    await bot.operator.investors.save(inv.with_(mode=inv.mode or "paper"))
    await bot.reply(update, "You trade on paper: virtual money, real prices.")


# -- reading ------------------------------------------------------------------------------------


async def portfolio(bot: BotView, update: Update, args: list[str]) -> None:
    arg.words("portfolio", args, 0)
    inv, acct = await sender_account(bot, update)
    await bot.reply(update, await portfolio_text(bot, inv, acct))


async def why(bot: BotView, update: Update, args: list[str]) -> None:
    arg.words("why", args, 0)
    inv, _ = await sender_account(bot, update)
    found = await bot.operator.views.rejections(inv.account_id, limit=5)
    if not found:
        await bot.reply(update, "Nothing was refused lately.")
        return
    lines = ["<b>Why orders were refused</b>"] + [
        f"{when(r.ts)} {escape(r.symbol)}: {escape(r.message)}" for r in found
    ]
    await bot.reply(update, "\n".join(lines))


# -- acting -------------------------------------------------------------------------------------


def _actor(update: Update) -> str:
    return inv_store.owner_for(sender_id(update))


async def pause(bot: BotView, update: Update, args: list[str]) -> None:
    arg.words("pause", args, 0)
    inv, acct = await sender_account(bot, update)
    if acct.paused and paused_by_operator(bot, acct):
        raise RampartError(
            f"Your account is already paused by the operator: {acct.pause_reason.rstrip('.')}. "
            "Only the operator can resume it; /support reaches the team."
        )
    if acct.paused:
        raise RampartError("Your account is already paused; /resume starts it again.")
    await bot.operator.pause_account(inv.account_id, _actor(update), "paused by the investor")
    await bot.reply(
        update,
        "Paused: no new positions. Open ones keep their stop-loss and target; /close closes them.",
    )


async def resume(bot: BotView, update: Update, args: list[str]) -> None:
    arg.words("resume", args, 0)
    inv, _ = await sender_account(bot, update)
    result = await bot.operator.resume_account(
        inv.account_id, _actor(update), "resumed by the investor", owner=True
    )
    if result.account.state != "active":
        await bot.reply(
            update,
            "Resumed, but a circuit breaker still holds your account after losses; it "
            "lifts on its own (see /why).",
        )
        return
    await bot.reply(update, "Resumed: your account may open positions again.")


async def on_button(bot: BotView, update: Update, data: str) -> None:
    present(update.callback_query, "the button's callback query")
    uid = sender_id(update)
    if data.startswith(f"{terms_cmds.PREFIX}:"):
        await terms_cmds.on_button(bot, update, data)
        return
    if data == "disclaimer:accept":
        # A /start message from before the terms were asked there: the disclaimer only.
        inv = await bot.operator.investors.load(uid)
        if inv is None:
            raise RampartError("Send /start first.")
        await bot.operator.investors.save(inv.with_(accepted_disclaimer=True))
        await terms_cmds.after_old_disclaimer(bot, update, inv)
        return
    if data.startswith("connect:"):
        await connect_cmds.connect_choice(
            bot, update, await sender_investor(bot, update), data.split(":", 1)[1]
        )
        return
    kind, answer, token = ([*data.split(":"), "", ""])[:3]
    if await chats.answer_again(bot, update, token, uid):
        return  # tapped before: it acted once; this tap shows what it came to
    owner, what = bot.proposals.get(token, (None, None))
    if what is None:
        # A stale or forged button: a notice on the tap; the message is left as it is.
        await bot.answer_button(update, chats.EXPIRED)
        return
    if owner != uid:
        # Someone else's proposal (a tap in a group): theirs stays open, nothing happens.
        await bot.answer_button(update, chats.NOT_YOURS)
        return
    del bot.proposals[token]
    if answer != "yes":
        await chats.settle(bot, update, token, "Canceled; nothing was placed.")
        return
    inv, acct = await sender_account(bot, update)
    if kind == "vibe":
        await chats.settle(bot, update, token, await intent_cmds.place(bot, acct, what[1]))
    elif kind == "invest":
        await chats.settle(bot, update, token, await _set_capital(bot, inv, acct, what[1]))
    elif kind == demo.DEMO:
        result = await intent_cmds.place(bot, acct, what[1])
        await chats.settle(bot, update, token, result)
        await demo.confirmed(bot, update, result)
    elif kind == "close":
        closing = await intent_cmds.close_confirmed(bot, acct, what[1])
        await chats.settle(bot, update, token, closing)


COMMANDS: dict[str, Handler] = {
    "start": start,
    "help": help_,
    "connect": connect_cmds.connect,
    "disconnect": connect_cmds.disconnect,
    "risk": risk,
    "invest": invest,
    "mode": mode,
    "demo": demo.demo,
    "portfolio": portfolio,
    "why": why,
    "pause": pause,
    "resume": resume,
    "close": intent_cmds.close,
    "allow": intent_cmds.allow,
    "vibe": intent_cmds.vibe_cmd,
}
