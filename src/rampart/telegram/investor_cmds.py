"""Investor commands. Each resolves the sender's own account from their Telegram id, so no
command can read or touch anyone else's account."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from html import escape
from typing import TYPE_CHECKING

import structlog
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from rampart.domain.errors import RampartError, present
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.operator.accounts import AccountConfig, account_spec, quote_of
from rampart.risk.profiles import DEFAULT_PROFILES, get_profile
from rampart.telegram import account_changes as changes
from rampart.telegram import chats, connect_cmds, demo, routing, vibe
from rampart.telegram import investors as inv_store
from rampart.telegram.investors import Investor
from rampart.telegram.text import (
    DISCLAIMER,
    help_text,
    money,
    pct,
    price,
    profile_text,
    qty,
    signed,
    when,
)

if TYPE_CHECKING:
    from rampart.telegram.bot import Handler, RampartBot
    from rampart.trading.account import AccountRuntime

log = structlog.get_logger("rampart.telegram")

MAX_INVEST = Decimal("1e9")
EXCHANGES = connect_cmds.EXCHANGES


def _buttons(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def _uid(update: Update) -> int:
    return present(update.effective_user, "the sender (the router passes user messages)").id


async def _investor(bot: RampartBot, update: Update) -> Investor:
    found = await inv_store.load(bot.session.db, _uid(update))
    if found is None or not found.accepted_disclaimer:
        raise RampartError("Send /start first and accept the risk disclaimer.")
    return found


def _running(bot: RampartBot, inv: Investor) -> AccountRuntime | None:
    return bot.session.engine.accounts.get(inv.account_id)


async def _account(bot: RampartBot, update: Update) -> tuple[Investor, AccountRuntime]:
    inv = await _investor(bot, update)
    acct = _running(bot, inv)
    if acct is None:
        if routing.exchange_backed(bot.settings):
            exchange = bot.settings.venue.exchange
            raise RampartError(
                f"You have no account trading yet: /connect {exchange}, then /invest AMOUNT."
            )
        raise RampartError(
            "You have no account trading yet: /connect paper, then /invest AMOUNT (or try /demo)."
        )
    return inv, acct


def _stage_check(bot: RampartBot) -> Callable[[Decimal, str], str | None]:
    stage = bot.session.engine.stage
    quote = _quote(bot)

    def check(amount: Decimal, profile: str) -> str | None:
        refusal = changes.stage_capital_refusal(stage, amount, quote)
        return refusal or changes.stage_profile_refusal(stage, profile)

    return check


async def _start_account(bot: RampartBot, inv: Investor) -> Investor:
    """Start ``inv``'s account; returns it with the capital it started with. On an
    exchange-backed service that is their own key's balance (see :mod:`routing`)."""
    if routing.exchange_backed(bot.settings):
        return await routing.start_exchange_account(bot, inv, inv.capital, _stage_check(bot))
    symbols = list(bot.settings.feed.symbols)
    cfg = AccountConfig(
        id=inv.account_id,
        agent="trend",
        profile=inv.profile,
        capital=inv.capital,
        symbols=symbols,
        owner=inv_store.owner_for(inv.telegram_id),
    )
    await bot.operator._add(account_spec(cfg, quote_of(symbols)))
    return inv


def _quote(bot: RampartBot) -> str:
    return quote_of(bot.settings.feed.symbols)


# -- registration -------------------------------------------------------------------------------


async def start(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    uid = _uid(update)
    db = bot.session.db
    inv = await inv_store.load(db, uid)
    if inv is None:
        inv = Investor(uid, inv_store.account_id_for(uid), created_at=bot.clock.now_ms())
        await inv_store.save(db, inv)
        log.info("investor_registered", telegram_id=uid, account_id=inv.account_id)
    if inv.accepted_disclaimer:
        await bot.reply(update, "Welcome back. /help lists what I can do.")
        return
    await bot.reply(update, DISCLAIMER, _buttons([("I accept", "disclaimer:accept")]))


async def help_(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    await bot.reply(update, help_text(bot.is_operator(_uid(update))))


# -- settings -----------------------------------------------------------------------------------


async def risk(bot: RampartBot, update: Update, args: list[str]) -> None:
    inv = await _investor(bot, update)
    overrides = bot.settings.profiles or None
    if not args:
        lines = [f"Your profile: <b>{escape(inv.profile)}</b>"]
        lines += [profile_text(get_profile(n, overrides)) for n in DEFAULT_PROFILES]
        await bot.reply(update, "\n\n".join(lines))
        return
    name = args[0].strip().lower()
    if name not in DEFAULT_PROFILES:
        raise RampartError(f"There is no {name!r} profile; choose {', '.join(DEFAULT_PROFILES)}.")
    acct = _running(bot, inv)
    note = ""
    if acct is not None and acct.spec.profile != name:
        await changes.change_profile(bot, acct, name)
        note = " Open positions keep their stop-loss and target; new trades use the new limits."
    elif acct is None and (
        refusal := changes.stage_profile_refusal(bot.session.engine.stage, name)
    ):
        raise RampartError(refusal)
    await inv_store.save(bot.session.db, inv.with_(profile=name))
    await bot.reply(update, "Profile set. " + profile_text(get_profile(name, overrides)) + note)


def parse_amount(raw: str) -> Decimal:
    try:
        amount = Decimal(raw.replace(",", ""))
    except (InvalidOperation, ValueError):
        raise RampartError(f"{raw!r} is not an amount; send a number, like /invest 300.") from None
    if not amount.is_finite() or amount <= 0:
        raise RampartError("The amount must be positive, like /invest 300.")
    if amount > MAX_INVEST:
        raise RampartError("That is more than Rampart accepts; the most is 1,000,000,000.")
    if amount < 10:
        raise RampartError("That is too little to trade; invest at least 10.")
    return amount


async def invest(bot: RampartBot, update: Update, args: list[str]) -> None:
    if len(args) != 1:
        raise RampartError("Say how much, like /invest 300.")
    amount = parse_amount(args[0])
    inv = await _investor(bot, update)
    if not inv.mode:
        if routing.exchange_backed(bot.settings):
            raise RampartError(f"Connect first: /connect {bot.settings.venue.exchange}.")
        raise RampartError("Connect first: /connect paper (or an exchange key).")
    acct = _running(bot, inv)
    if acct is not None:
        delta = await changes.change_capital(bot, acct, amount, f"telegram:{inv.telegram_id}")
        await inv_store.save(bot.session.db, inv.with_(capital=amount))
        q = acct.spec.quote
        moved = (
            (f"{money(delta, q)} added" if delta > 0 else f"{money(-delta, q)} taken out")
            if delta
            else "unchanged"
        )
        await bot.reply(update, f"Capital set to {money(amount, q)} ({moved}). See /portfolio.")
        return
    if routing.exchange_backed(bot.settings):
        await _invest_on_exchange(bot, update, inv, amount)
        return
    refusal = _stage_check(bot)(amount, inv.profile)
    if refusal:
        raise RampartError(refusal)
    inv = inv.with_(capital=amount)
    await _start_account(bot, inv)
    await inv_store.save(bot.session.db, inv)
    await bot.reply(
        update,
        f"Investing {money(amount, _quote(bot))} on the <b>{escape(inv.profile)}</b> profile. "
        "Trading has started; see /portfolio.",
    )


async def _invest_on_exchange(
    bot: RampartBot, update: Update, inv: Investor, amount: Decimal
) -> None:
    started = await _start_account(bot, inv.with_(capital=amount))
    await inv_store.save(bot.session.db, started)
    q, v = _quote(bot), bot.settings.venue
    note = (
        f" That is all your {escape(v.exchange)} account holds, less than the "
        f"{money(amount, q)} you named."
        if started.capital < amount
        else ""
    )
    where = "with real money" if bot.settings.mode == "live" else f"in {bot.settings.mode} mode"
    await bot.reply(
        update,
        f"Investing {money(started.capital, q)} on the <b>{escape(inv.profile)}</b> profile, "
        f"on {escape(v.exchange)} {escape(where)}, with your own key.{note} Trading has "
        "started; see /portfolio.",
    )


async def mode(bot: RampartBot, update: Update, args: list[str]) -> None:
    inv = await _investor(bot, update)
    wanted = (args[0] if args else "").strip().lower()
    if wanted not in ("paper", "live"):
        raise RampartError("Choose /mode paper or /mode live.")
    if wanted == "live":
        if inv.mode not in EXCHANGES:
            raise RampartError("Live trading needs an exchange key: /connect binance first.")
        if bot.settings.mode != "live":
            raise RampartError(
                f"This service runs in {bot.settings.mode} mode; live trading needs the "
                "operator to run it live."
            )
        if _running(bot, inv) is None:
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
    await inv_store.save(bot.session.db, inv.with_(mode=inv.mode or "paper"))
    await bot.reply(update, "You trade on paper: virtual money, real prices.")


# -- reading ------------------------------------------------------------------------------------


async def portfolio(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    inv, acct = await _account(bot, update)
    views = bot.operator.views
    p = await views.portfolio(inv.account_id)
    q = p.quote
    state = "paused" if p.paused else p.state
    lines = [
        f"<b>Portfolio</b> ({escape(state)}{', kill switch on' if p.kill_switch else ''})",
        f"Equity {money(p.equity, q)} · cash {money(p.cash, q)}",
        f"PnL today {signed(p.pnl_today, q)} · total {signed(p.equity - p.capital, q)}",
    ]
    positions = views.positions(inv.account_id)
    if not positions:
        lines.append("No open positions.")
    for pos in positions:
        lines.append(
            f"<b>{escape(pos.symbol)}</b> {qty(pos.qty)} @ {price(pos.avg_price)} · "
            f"stop-loss {price(pos.stop_loss)} · target {price(pos.take_profit)} · "
            f"{signed(pos.unrealized_pnl, q)}"
        )
    del acct
    await bot.reply(update, "\n".join(lines))


async def why(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    inv, _ = await _account(bot, update)
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
    return inv_store.owner_for(_uid(update))


async def pause(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    inv, acct = await _account(bot, update)
    if acct.paused:
        raise RampartError("Your account is already paused; /resume starts it again.")
    await bot.operator.pause_account(inv.account_id, _actor(update), "paused by the investor")
    await bot.reply(
        update,
        "Paused: no new positions. Open ones keep their stop-loss and target; /close closes them.",
    )


async def resume(bot: RampartBot, update: Update, args: list[str]) -> None:
    del args
    inv, _ = await _account(bot, update)
    result = await bot.operator.resume_account(
        inv.account_id, _actor(update), "resumed by the investor"
    )
    if result.account.state != "active":
        await bot.reply(
            update,
            "Resumed, but a circuit breaker still holds your account after losses; it "
            "lifts on its own (see /why).",
        )
        return
    await bot.reply(update, "Resumed: your account may open positions again.")


async def close(bot: RampartBot, update: Update, args: list[str]) -> None:
    _, acct = await _account(bot, update)
    what = (args[0] if args else "").strip().upper()
    if not what:
        raise RampartError("Say what to close: /close BTC/USDT or /close all.")
    held = sorted(acct.ledger.positions)
    if what == "ALL":
        symbols = held
    elif what in held or f"{what}/{acct.spec.quote}" in held:
        symbols = [what if what in held else f"{what}/{acct.spec.quote}"]
    else:
        raise RampartError(f"You hold no {what} position.")
    if not symbols:
        raise RampartError("You hold no positions.")
    token = secrets.token_hex(6)
    bot.proposals[token] = (_uid(update), ("close", symbols))
    await bot.reply(
        update,
        f"Close {escape(', '.join(symbols))} at market?",
        _buttons([("Confirm", f"close:yes:{token}"), ("Cancel", f"close:no:{token}")]),
    )


async def vibe_cmd(bot: RampartBot, update: Update, args: list[str]) -> None:
    _, acct = await _account(bot, update)
    engine = bot.session.engine
    ticks = {s: engine.venue.instrument(s).tick_size for s in acct.spec.symbols}
    proposal = await vibe.propose(
        " ".join(args),
        acct.spec.symbols,
        engine.marks,
        acct.profile,
        ticks,
        llm=getattr(bot.session, "llm", None),
    )
    token = secrets.token_hex(6)
    bot.proposals[token] = (_uid(update), ("vibe", proposal))
    text = (
        f"<b>Proposed trade</b>: buy {escape(proposal.symbol)} at about "
        f"{price(proposal.entry)}\nStop-loss {price(proposal.stop_loss)} "
        f"(−{pct(proposal.stop_pct)}) · target {price(proposal.take_profit)} "
        f"(+{pct(proposal.target_pct)}) · reward:risk {proposal.reward_risk:.2f}\n"
        f"Size: the most your {escape(acct.spec.profile)} profile allows."
    )
    await bot.reply(
        update,
        text,
        _buttons([("Confirm", f"vibe:yes:{token}"), ("Cancel", f"vibe:no:{token}")]),
    )


async def on_button(bot: RampartBot, update: Update, data: str) -> None:
    query = present(update.callback_query, "the button's callback query")
    uid = _uid(update)
    if data == "disclaimer:accept":
        inv = await inv_store.load(bot.session.db, uid)
        if inv is None:
            raise RampartError("Send /start first.")
        await inv_store.save(bot.session.db, inv.with_(accepted_disclaimer=True))
        await chats.edit(query, "Disclaimer accepted. Next: /connect paper")
        return
    if data.startswith("connect:"):
        await connect_cmds.connect_choice(
            bot, update, await _investor(bot, update), data.split(":", 1)[1]
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
    _, acct = await _account(bot, update)
    if kind == "vibe":
        await chats.settle(bot, update, token, await _place(bot, acct, what[1]))
    elif kind == demo.DEMO:
        result = await _place(bot, acct, what[1])
        await chats.settle(bot, update, token, result)
        await demo.confirmed(bot, update, result)
    elif kind == "close":
        async with bot.lock:
            for symbol in what[1]:
                if symbol in acct.ledger.positions:
                    await bot.session.engine.executor.exit_position(acct, symbol, "investor")
        await chats.settle(bot, update, token, f"Closing {escape(', '.join(what[1]))} at market.")


async def _place(bot: RampartBot, acct: AccountRuntime, p: vibe.Proposal) -> str:
    engine = bot.session.engine
    intent = Intent(
        account_id=acct.account_id,
        symbol=p.symbol,
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=p.entry,
        stop_loss=p.stop_loss,
        take_profit=p.take_profit,
        agent="vibe",
        rationale="investor /vibe",
        ts=bot.clock.now_ms(),
    )
    async with bot.lock:
        approved = await engine.handle_intent(acct, intent)
    if not approved:
        reason = acct.rejections[-1].message if acct.rejections else "the risk engine refused it"
        return f"Not placed: {escape(reason)}"
    return f"Order placed: buy {escape(p.symbol)} with stop-loss and target. See /portfolio."


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
    "close": close,
    "vibe": vibe_cmd,
}
