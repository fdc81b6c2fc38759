"""Operator commands for the staged rollout: ``/rollout``, ``/approve``, ``/hold``,
``/rollback`` and ``/gonogo``.

Every command goes through the rollout desk the fronts share on the facade
(:mod:`rampart.rollout.desk`), as the API's and the panel's do, and answers with its sentence.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from rampart.notices.stage_notices import OutboxMessenger
from rampart.runtime.business_time import uptime_grace_ms
from rampart.telegram.operator_cmds import operator_only

if TYPE_CHECKING:
    from rampart.rollout.desk import RolloutDesk
    from rampart.telegram.bot_view import BotView, Handler

MARK = {"pass": "✅", "fail": "❌", "inconclusive": "❔"}


def _desk(bot: BotView) -> RolloutDesk:
    desk: RolloutDesk = bot.operator.rollout_desk()
    if desk.messenger is None:
        # A stage change that limits an investor is told through the durable outbox (paced,
        # /notify's 'stage' kind, kept across a restart), as the service's own controller does.
        def told() -> object:
            outbox = bot.outbox
            return bot if outbox is None else OutboxMessenger(outbox, lambda: bot)

        desk.messenger = told
        desk.uptime_grace_ms = uptime_grace_ms(bot.settings)
        if desk.settings is None:
            desk.settings = bot.settings
    return desk


async def rollout(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    s = _desk(bot).status()
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
    if s.ramp:
        step = s.ramp["step"]
        symbols = ", ".join(step["symbols"] or ["every symbol"])
        capital = f"{step['capital']} in all" if step["capital"] else "no total"
        lines.append(f"Ramp: step {step['step']} ({escape(symbols)}; {capital})")
        if s.ramp["waiting"]:
            lines.append(f"Next: {escape(s.ramp['waiting'])}")
    if s.relax:
        lines.append(f"Limits: {s.relax['scale']} of the profiles' (level {s.relax['level']} "
                     f"of {s.relax['levels']})")  # fmt: skip
    await bot.reply(update, "\n".join(lines))


async def approve(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args
    done = await _desk(bot).approve(actor)
    await bot.reply(update, escape(done.message))


async def gonogo(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    report = _desk(bot).go_nogo(bot.settings)
    lines = [f"<b>GO/NO-GO</b> · stage {escape(report.stage)}"] + [
        f"{MARK[c.verdict.value]} {escape(c.name)}: {escape(c.measured)} "
        f"(needs {escape(c.threshold)})"
        for c in report.criteria
    ]
    lines.append(f"<b>{escape(report.summary())}</b>")
    await bot.reply(update, "\n".join(lines))


async def hold(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    release = bool(args) and args[0].lower() == "release"
    reason = " ".join(args[1:] if release else args)
    if not reason:
        await bot.reply(update, "Say why: /hold REASON, or /hold release REASON to lift it.")
        return
    done = await _desk(bot).hold(actor, reason, release)
    await bot.reply(update, escape(done.message))


async def rollback(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    reason = " ".join(args)
    if not reason:
        await bot.reply(update, "Say why: /rollback REASON.")
        return
    done = await _desk(bot).rollback(actor, reason)
    await bot.reply(update, escape(done.message))


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
