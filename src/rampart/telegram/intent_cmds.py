"""What an investor decides by hand and the agent must respect: ``/close``, ``/allow`` and
``/vibe``.

``/close SYMBOL`` (confirmed) closes at market and *holds* the symbol for the account's agent
(:mod:`rampart.trading.investor_holds`) for ``telegram.investor_close_cooldown_h`` hours of
business time or until ``/allow SYMBOL``; the reply says which. ``/vibe`` proposes only what
the account's risk profile allows: the proposal is checked by the very risk engine that will
check it again on Confirm, and a refusal is said before any button is shown.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.operator import intents
from rampart.operator.names import ALL
from rampart.telegram import args as arg
from rampart.telegram import vibe
from rampart.telegram.sender import sender_account, sender_id
from rampart.telegram.text import pct, price, when

if TYPE_CHECKING:
    from rampart.operator.names import AccountRuntime
    from rampart.telegram.bot_view import BotView

DEMO_HOLD = "a /demo account is traded only by you"


def _buttons(kind: str, token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Confirm", callback_data=f"{kind}:yes:{token}"),
                InlineKeyboardButton("Cancel", callback_data=f"{kind}:no:{token}"),
            ]
        ]
    )


def _symbol(acct: AccountRuntime, word: str, command: str) -> str:
    """``ETH`` or ``ETH/USDT`` as one of the account's symbols, or the usage line."""
    what = word.strip().upper()
    for symbol in acct.spec.symbols:
        if what in (symbol, symbol.split("/")[0]):
            return symbol
    carried = ", ".join(s.split("/")[0] for s in acct.spec.symbols)
    raise arg.refuse(command, f"Your account trades {carried}; not {arg.shown(word)}.")


# -- /close and the hold it leaves ---------------------------------------------------------------


async def close(bot: BotView, update: Update, args: list[str]) -> None:
    _, acct = await sender_account(bot, update)
    (word,) = arg.words("close", args, 1, 1)
    held = sorted(acct.ledger.positions)
    if word.strip().lower() == "all":
        symbols = held
        if not symbols:
            raise RampartError("You hold no positions; /portfolio shows your account.")
    else:
        symbol = _symbol(acct, word, "close")
        if symbol not in held:
            raise RampartError(f"You hold no {symbol} position; /status lists the open ones.")
        symbols = [symbol]
    token = secrets.token_hex(6)
    bot.proposals[token] = (sender_id(update), ("close", symbols))
    await bot.reply(
        update,
        f"Close {escape(', '.join(symbols))} now, at the market price? The agent will then leave "
        f"{'them' if len(symbols) > 1 else 'it'} alone for a while (you will be told how long).",
        _buttons("close", token),
    )


def hold_text(bot: BotView, symbols: list[str], until_ms: int | None) -> str:
    names = escape(", ".join(symbols))
    lift = escape(" or ".join(f"/allow {s.split('/')[0]}" for s in symbols))
    if until_ms is None:
        return f"The agent will not buy {names} again until you say so: {lift}."
    hours = bot.settings.telegram.investor_close_cooldown_h
    return (
        f"The agent will not buy {names} again until {when(until_ms)} UTC (a {hours:g} h "
        f"cool-down), unless you say so earlier: {lift}."
    )


async def close_confirmed(bot: BotView, acct: AccountRuntime, symbols: list[str]) -> str:
    """Close ``symbols`` at market and hold them for the agent; the sentence saying both."""
    hours = bot.settings.telegram.investor_close_cooldown_h
    until = await intents.close(bot.desk, acct.account_id, symbols, hours, acct.spec.owner)
    return f"Closing {escape(', '.join(symbols))} at market. " + hold_text(bot, symbols, until)


async def allow(bot: BotView, update: Update, args: list[str]) -> None:
    _, acct = await sender_account(bot, update)
    if not args:
        active = intents.holds(bot.desk, acct.account_id)
        if not active:
            await bot.reply(update, "The agent may trade every coin of your account.")
            return
        lines = ["<b>Held from the agent</b>"]
        for s, h in sorted(active.items()):
            until = "you allow it" if h.until_ms is None else f"{when(h.until_ms)} UTC"
            name = "everything" if s == ALL else escape(s)
            lines.append(f"{name}: until {until} ({escape(h.reason)})")
        lines.append(f"Lift: {escape(arg.USAGE['allow'])}")
        await bot.reply(update, "\n".join(lines))
        return
    (word,) = arg.words("allow", args, 1, 1)
    symbol = ALL if word.strip().lower() == "all" else _symbol(acct, word, "allow")
    if not await intents.allow(bot.desk, acct.account_id, symbol, acct.spec.owner):
        raise RampartError(
            f"The agent is not held from {symbol}: it may trade it already; /status shows what "
            "it holds."
        )
    what = "every coin" if symbol == ALL else escape(symbol)
    await bot.reply(update, f"The agent ({escape(acct.spec.agent)}) may trade {what} again.")


# -- /vibe ---------------------------------------------------------------------------------------


def intent_for(acct: AccountRuntime, p: vibe.Proposal, ts: int) -> Intent:
    return Intent(
        account_id=acct.account_id,
        symbol=p.symbol,
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=p.entry,
        stop_loss=p.stop_loss,
        take_profit=p.take_profit,
        agent="vibe",
        rationale="investor /vibe",
        ts=ts,
    )


def _shown(fraction: Decimal) -> Decimal:
    """A percentage to 0.01 %: the model's prices make fractions with 28 digits."""
    return fraction.quantize(Decimal("0.0001"))


async def vibe_cmd(bot: BotView, update: Update, args: list[str]) -> None:
    _, acct = await sender_account(bot, update)
    marks, ticks = intents.market(bot.desk, acct.account_id)
    proposal = await vibe.propose(
        " ".join(args),
        acct.spec.symbols,
        marks,
        acct.profile,
        ticks,
        llm=intents.llm(bot.desk),
        timeout_s=bot.settings.telegram.vibe_response_s,
    )
    # The same (pure) check Confirm will meet: a proposal the profile refuses is never shown.
    refused = intents.check(bot.desk, intent_for(acct, proposal, intents.now_ms(bot.desk)))
    if refused is not None:
        raise RampartError(
            f"I cannot propose that trade now: {refused} Try another with /vibe, or /why later."
        )
    token = secrets.token_hex(6)
    bot.proposals[token] = (sender_id(update), ("vibe", proposal))
    text = (
        f"<b>Proposed trade</b>: buy {escape(proposal.symbol)} at about "
        f"{price(proposal.entry)}\nStop-loss {price(proposal.stop_loss)} "
        f"(−{pct(_shown(proposal.stop_pct))}) · target {price(proposal.take_profit)} "
        f"(+{pct(_shown(proposal.target_pct))}) · reward:risk {proposal.reward_risk:.2f}\n"
        f"Size: the most your {escape(acct.spec.profile)} profile allows."
    )
    await bot.reply(update, text, _buttons("vibe", token))


async def place(bot: BotView, acct: AccountRuntime, p: vibe.Proposal) -> str:
    intent = intent_for(acct, p, bot.clock.now_ms())
    placed = await intents.place(bot.desk, intent, acct.spec.owner)
    if not placed.approved:
        return f"Not placed: {escape(placed.reason)}"
    return f"Order placed: buy {escape(p.symbol)} with stop-loss and target. See /portfolio."
