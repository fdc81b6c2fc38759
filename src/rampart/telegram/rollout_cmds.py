"""Operator commands for the staged rollout: ``/rollout``, ``/approve``, ``/hold``,
``/rollback`` and ``/gonogo``.

The rollout's state lives in the store, so a controller built per command on the bot's
session sees and changes the same state as the service's scheduled evaluation.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from rampart.notices.outbox import OutboxMessenger
from rampart.rollout.controller import RolloutController
from rampart.rollout.gonogo import go_nogo
from rampart.runtime.business_time import uptime_grace_ms
from rampart.telegram.operator_cmds import operator_only

if TYPE_CHECKING:
    from rampart.telegram.bot import Handler, RampartBot

MARK = {"pass": "✅", "fail": "❌", "inconclusive": "❔"}


def _controller(bot: RampartBot) -> RolloutController:
    outbox = bot.outbox
    # A stage change that limits an investor is told through the durable outbox (paced,
    # /notify's 'stage' kind, kept across a restart), as the service's own controller does.
    told: object = bot if outbox is None else OutboxMessenger(outbox, lambda: bot)
    return RolloutController(
        bot.settings.rollout,
        bot.session.db,
        bot.clock,
        engine=bot.session.engine,
        lock=bot.operator.lock,
        messenger=lambda: told,  # type: ignore[arg-type,return-value]
        uptime_grace_ms=uptime_grace_ms(bot.settings),
    )


async def rollout(bot: RampartBot, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    s = _controller(bot).status()
    if not s.enabled:
        await bot.reply(update, "<b>Rollout</b> is off: every account trades on the open stage.")
        return
    lines = [
        f"<b>Rollout</b>: stage <b>{escape(s.stage)}</b>, "
        f"{s.in_stage_ms / 3_600_000:.1f} h of {s.min_duration_ms / 3_600_000:g} h served",
        f"Next: {escape(s.next_stage or '— (last stage)')} · approval: {s.approval}",
    ]
    if s.pending_since:
        lines.append("Promotion waiting: /approve")
    if s.held:
        lines.append(f"Held: {escape(s.hold_reason)}")
    await bot.reply(update, "\n".join(lines))


async def approve(bot: RampartBot, update: Update, args: list[str], actor: str) -> None:
    del args
    stage = await _controller(bot).approve(actor)
    await bot.reply(update, f"Promoted to <b>{escape(stage)}</b>.")


async def gonogo(bot: RampartBot, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    report = go_nogo(bot.settings, _controller(bot))
    lines = [f"<b>GO/NO-GO</b> · stage {escape(report.stage)}"] + [
        f"{MARK[c.verdict.value]} {escape(c.name)}: {escape(c.measured)} "
        f"(needs {escape(c.threshold)})"
        for c in report.criteria
    ]
    lines.append(f"<b>{escape(report.summary())}</b>")
    await bot.reply(update, "\n".join(lines))


async def hold(bot: RampartBot, update: Update, args: list[str], actor: str) -> None:
    release = bool(args) and args[0].lower() == "release"
    reason = " ".join(args[1:] if release else args)
    if not reason:
        await bot.reply(update, "Say why: /hold REASON, or /hold release REASON to lift it.")
        return
    state = await _controller(bot).hold(actor, reason, release)
    done = "lifted; promotions may go ahead" if release else "placed; no promotion until released"
    await bot.reply(update, f"Hold on <b>{escape(state.stage)}</b> {done}.")


async def rollback(bot: RampartBot, update: Update, args: list[str], actor: str) -> None:
    reason = " ".join(args)
    if not reason:
        await bot.reply(update, "Say why: /rollback REASON.")
        return
    stage = await _controller(bot).rollback(actor, reason)
    await bot.reply(update, f"Rolled back to <b>{escape(stage)}</b>; affected investors are told.")


COMMANDS: dict[str, Handler] = {
    name: operator_only(name, fn)
    for name, fn in {
        "rollout": rollout,
        "approve": approve,
        "hold": hold,
        "rollback": rollback,
        "gonogo": gonogo,
    }.items()
}
