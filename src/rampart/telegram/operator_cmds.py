"""Operator commands, for allow-listed Telegram ids only; every refusal is logged (audited)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from typing import TYPE_CHECKING, Any

import structlog
from telegram import Update

from rampart.domain.errors import RampartError, present
from rampart.operator import investors as inv_store
from rampart.runtime.health import degraded
from rampart.telegram.text import money, when

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler

log = structlog.get_logger("rampart.telegram.audit")

OpHandler = Callable[["BotView", Update, list[str], str], Awaitable[None]]


ACTIONS = frozenset(
    {"kill", "unkill", "pause_user", "resume_user", "ack", "model_rollback", "approve", "hold"}
    | {"rollback", "answer"}
)
"""Commands whose action the facade audits (once, numbered, whatever the front): the bot adds
no record of its own for them. The others (reads, and the few actions the facade does not
audit) are recorded as typed, so who looked at what stays in the log."""


def operator_only(name: str, fn: OpHandler) -> Handler:
    async def run(bot: BotView, update: Update, args: list[str]) -> None:
        user = present(update.effective_user, "the sender (the router passes user messages)")
        if not bot.is_operator(user.id):
            log.warning("operator_command_refused", command=name, telegram_id=user.id)
            await bot.operator.record(f"telegram:{user.id}", "telegram.refused", name)
            raise RampartError("That command is for operators only; this attempt was recorded.")
        actor = f"telegram-operator:{user.id}"
        log.info("operator_command", command=name, telegram_id=user.id)
        if name not in ACTIONS:
            said: dict[str, object] = {"args": " ".join(args)[:200]}
            await bot.operator.record(actor, "telegram." + name, name, said)
        await fn(bot, update, args, actor)

    return run


def _split_flatten(args: list[str]) -> tuple[str, bool]:
    words = list(args)
    flatten = bool(words) and words[-1].lower() == "flatten"
    if flatten:
        words.pop()
    return " ".join(words), flatten


async def status(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    """The service at a glance (an investor's /status is their positions: habit_cmds)."""
    del args, actor
    summaries = bot.operator.accounts()
    operator = bot.operator
    counts: dict[str, int] = {}
    for s in summaries:
        counts[s.status] = counts.get(s.status, 0) + 1
    states = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"
    lines = [
        f"<b>Status</b> ({escape(bot.settings.mode)} mode)",
        f"Kill switch: {'ENGAGED' if operator.kill_switch().engaged else 'off'}",
        f"Accounts: {len(summaries)} ({escape(states)})",
        f"Open positions: {sum(s.open_positions for s in summaries)}",
    ]
    data_until = operator.market_data_until()
    if data_until is not None:
        lines.append(f"Market data up to {when(data_until)} UTC")
    await bot.reply(update, "\n".join(lines))


async def health(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    if bot.health is None:
        raise RampartError("Health checks are not wired into the bot in this service.")
    ok, checks = await bot.health.ready()
    verdict = "ready" if ok else "NOT ready"
    if ok and degraded(checks):
        verdict = "ready, degraded"
    lines = [f"<b>Health</b>: {verdict}"] + [
        f"{'✅' if c.ok else ('❌' if c.required else '⚠️')} {escape(c.name)}: {escape(c.detail)}"
        for c in checks
    ]
    await bot.reply(update, "\n".join(lines))


async def kill(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    reason, flatten = _split_flatten(args)
    state = bot.operator.kill_switch()
    if state.engaged and not flatten:
        # Engaging again would change nothing; say whose switch it is and since when.
        since = f" since {when(state.since_ms)} UTC" if state.since_ms else ""
        who = f" by {escape(state.actor)}" if state.actor else ""
        await bot.reply(
            update,
            f"The kill switch is already engaged{since}{who}: "
            f"{escape(state.reason or 'no reason given')}. Nothing changed; /unkill "
            "REASON releases it, /kill REASON flatten also closes positions.",
        )
        return
    result = await bot.operator.engage_kill_switch(
        actor, reason or "kill switch from Telegram", flatten
    )
    await bot.reply(update, escape(result.message))


async def unkill(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    result = await bot.operator.release_kill_switch(
        actor, " ".join(args) or "released from Telegram"
    )
    await bot.reply(update, escape(result.message))


async def pause_user(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    target, flatten = _split_flatten(args)
    if not target:
        raise RampartError("Say whose account: /pause_user ACCOUNT [REASON] [flatten].")
    account_id, _, reason = target.partition(" ")
    account_id = _account_of(account_id)
    # The investor is shown this reason when they try /resume.
    result = await bot.operator.pause_account(
        account_id, actor, reason.strip() or "paused by the operator from Telegram", flatten
    )
    await bot.reply(update, escape(result.message))


async def resume_user(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    """The API's resume (``POST /api/v1/admin/accounts/{id}/resume``): the same facade call."""
    words = list(args)
    lift = bool(words) and words[-1].lower() == "breakers"
    if lift:
        words.pop()
    if not words:
        raise RampartError("Say whose account: /resume_user ACCOUNT [REASON] [breakers].")
    account_id, reason = _account_of(words[0]), " ".join(words[1:])
    result = await bot.operator.resume_account(
        account_id, actor, reason or "resumed by the operator from Telegram", lift
    )
    await bot.reply(update, escape(result.message))


def _account_of(word: str) -> str:
    """An account id, or an investor's Telegram id standing for their account."""
    return inv_store.account_id_for(int(word)) if word.isdigit() else word


async def users(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    found = await bot.operator.investors.all()
    if not found:
        await bot.reply(update, "No investors yet.")
        return
    lines = ["<b>Investors</b>"]
    for inv in found:
        if not bot.operator.is_running(inv.account_id):
            lines.append(f"{escape(inv.account_id)}: not trading ({escape(inv.mode or 'new')})")
            continue
        s = bot.operator.summary(inv.account_id)
        lines.append(
            f"{escape(inv.account_id)}: {escape(s.status)}, {escape(s.profile)}, equity "
            f"{money(s.equity, s.quote)}, {s.open_positions} open"
        )
    await bot.reply(update, "\n".join(lines))


async def incidents_cmd(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    found = await bot.operator.incidents("active", 10)
    if not found:
        await bot.reply(update, "No open incidents.")
        return
    lines = ["<b>Open incidents</b>"] + [
        f"#{i.id} [{escape(i.severity)}] {escape(i.rule)} ({escape(_state(i))}): "
        f"{escape(i.summary)}"
        for i in found
    ]
    await bot.reply(update, "\n".join(lines))


def _state(incident: Any) -> str:
    """Open, or acknowledged by whom and when (an active incident is never resolved)."""
    if incident.acknowledged_at is None:
        return str(incident.status)
    return (
        f"acknowledged by {incident.acknowledged_by or '?'} at {when(incident.acknowledged_at)} UTC"
    )


async def ack(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise RampartError("Say which incident: /ack 12.")
    record = await bot.operator.acknowledge_incident(int(args[0].lstrip("#")), actor)
    await bot.reply(update, f"Incident #{record.id} ({escape(record.rule)}) acknowledged.")


COMMANDS: dict[str, Handler] = {
    name: operator_only(name, fn)
    for name, fn in {
        "status": status,
        "health": health,
        "kill": kill,
        "unkill": unkill,
        "pause_user": pause_user,
        "resume_user": resume_user,
        "users": users,
        "incidents": incidents_cmd,
        "ack": ack,
    }.items()
}
