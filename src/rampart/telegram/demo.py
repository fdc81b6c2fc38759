"""``/demo``: a paper account with a fixed virtual balance and a guided first trade.

Three messages in all: one explains the three prices of every Rampart trade (entry, stop-loss,
take-profit), the next proposes a trade with Confirm and Cancel buttons as ``/vibe`` does, and
after Confirm (which sends it through the risk engine like any intent, the proposal's message
showing the outcome) the last shows ``/portfolio`` with the position's stop and target and what
to try next (nine short messages were too many to read). No money is at stake: the account is
paper, with ``telegram.demo_capital`` (kept inside the rollout stage's capital bounds, so the
stage does not refuse the trade).
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError, present
from rampart.operator import intents
from rampart.telegram import portfolio_view, vibe
from rampart.telegram.sender import running_account, sender_account, sender_investor, start_account
from rampart.telegram.text import money, pct, price

if TYPE_CHECKING:
    from rampart.domain.stages import Stage
    from rampart.operator.names import AccountRuntime
    from rampart.telegram.bot_view import BotView

DEMO = "demo"


def demo_capital(bot: BotView, stage: Stage) -> Decimal:
    amount = bot.settings.telegram.demo_capital
    if stage.max_capital is not None:
        amount = min(amount, stage.max_capital)
    if stage.min_capital is not None:
        amount = max(amount, stage.min_capital)
    return amount


def _lesson(p: vibe.Proposal, quote: str) -> str:
    return "\n\n".join(
        [
            "<b>Step 1 of 3 · the entry</b>\n"
            f"The entry is the price you buy at. {escape(p.symbol)} trades near "
            f"{price(p.entry)} {escape(quote)} right now, so that is where this trade starts.",
            "<b>Step 2 of 3 · the stop-loss</b>\n"
            f"The stop-loss sells automatically if the price falls to {price(p.stop_loss)} "
            f"(−{pct(p.stop_pct)}). It caps what one trade can lose; Rampart never opens a "
            "position without one, and your risk profile sizes the trade so that hitting it costs "
            "only a small share of your account.",
            "<b>Step 3 of 3 · the take-profit</b>\n"
            f"The take-profit sells automatically if the price rises to {price(p.take_profit)} "
            f"(+{pct(p.target_pct)}), banking the gain. Reward:risk {p.reward_risk:.2f} means "
            "the possible gain is that many times the possible loss.",
        ]
    )


async def demo(bot: BotView, update: Update, args: list[str]) -> None:
    from rampart.telegram.args import words
    from rampart.telegram.intent_cmds import DEMO_HOLD

    words("demo", args, 0)

    inv = await sender_investor(bot, update)
    acct = running_account(bot, inv)
    if acct is not None and inv.mode != DEMO:
        raise RampartError("You already have an account trading; see /portfolio.")
    if acct is None:
        stage = bot.desk.stage
        if not stage.allows_profile(inv.profile):
            # The demo is there to show the flow; the stage's own profile keeps it tradable.
            inv = inv.with_(profile=sorted(stage.profiles or ())[0])
        inv = inv.with_(mode=DEMO, capital=demo_capital(bot, stage))
        # Held before it starts: the agent never gets a candle on an account not set up yet.
        intents.hold_before_start(bot.desk, inv.account_id, DEMO_HOLD)
        await start_account(bot, inv)
        await bot.operator.investors.save(inv)
        acct = bot.desk.require(inv.account_id)
        # The demo is the investor's own: its agent trades it only once they choose (/allow).
        await intents.hold_all(bot.desk, inv.account_id, DEMO_HOLD)
        await bot.operator.save_now()
        ready = (
            f"<b>Demo account ready</b>: {money(inv.capital, acct.spec.quote)} of virtual "
            f"money on the {escape(inv.profile)} profile, real prices, nothing at "
            "stake. Let's make a first trade together."
        )
        await propose(bot, update, acct, ready)
        return
    await propose(bot, update, acct)


async def propose(bot: BotView, update: Update, acct: AccountRuntime, greeting: str = "") -> None:
    marks, ticks = intents.market(bot.desk, acct.account_id)
    priced = [s for s in acct.spec.symbols if marks.get(s, Decimal(0)) > 0]
    if not priced:
        raise RampartError("There are no prices yet; try /demo again in a minute.")
    symbol = priced[0]
    proposal = vibe.parse(f"long {symbol}", acct.spec.symbols, marks, acct.profile, ticks)
    lesson = _lesson(proposal, acct.spec.quote)
    await bot.reply(update, f"{greeting}\n\n{lesson}" if greeting else lesson)
    user = present(update.effective_user, "the sender (the router passes user messages)")
    token = secrets.token_hex(6)
    bot.proposals[token] = (user.id, (DEMO, proposal))
    await bot.reply(
        update,
        f"<b>Your first trade</b>: buy {escape(proposal.symbol)} at about "
        f"{price(proposal.entry)}, stop-loss {price(proposal.stop_loss)}, take-profit "
        f"{price(proposal.take_profit)}. The risk engine checks it and sizes it before it is "
        "placed. Go ahead?",
        InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Confirm", callback_data=f"demo:yes:{token}"),
                    InlineKeyboardButton("Cancel", callback_data=f"demo:no:{token}"),
                ]
            ]
        ),
    )


async def confirmed(bot: BotView, update: Update, result: str) -> None:
    """After Confirm placed (or the risk engine refused) the demo trade: the portfolio, then
    what to try next."""
    if not result.startswith("Order placed"):
        return
    inv, acct = await sender_account(bot, update)
    await bot.reply(
        update,
        await portfolio_view.portfolio_text(bot, inv, acct)
        + "\n\nThe order buys at the next opening price, as a real account would after the "
        "price it decided on: /portfolio then shows the position with its stop-loss and target, "
        "watched on every price from then on. That is the whole flow. Next: /trades once it "
        "closes, /why if something is refused, /risk to compare profiles, and /connect when "
        "you want to trade for real.",
    )
