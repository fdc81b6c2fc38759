"""Operator commands for the ML model registry: ``/models`` and ``/model_rollback``.

The registry lives in the store, so these see and change what the CLI and the API do; the
running agents switch on their next candle (at once here: the serving source is refreshed).
"""

from __future__ import annotations

import asyncio
from html import escape
from typing import TYPE_CHECKING, Any

from telegram import Update

from rampart.telegram.operator_cmds import operator_only

if TYPE_CHECKING:
    from rampart.telegram.bot_view import BotView, Handler

SHOWN = 5


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f} %"


def _ev(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:+.3f} %"


async def models(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    del args, actor
    registry = bot.operator.model_registry(bot.settings.ml.models_dir)
    versions = await asyncio.to_thread(registry.versions)
    if not versions:
        await bot.reply(
            update, "No models yet. Train one with <code>rampart models train --data FILE</code>."
        )
        return
    lines = [f"<b>Models</b> (newest {min(SHOWN, len(versions))} of {len(versions)})"]
    for mv in versions[:SHOWN]:
        s = mv.summary()
        lines.append(
            f"<code>{escape(mv.version)}</code> · {escape(mv.stage)} · {escape(mv.algorithm)}\n"
            f"  precision {_pct(s['precision'])} (always-trade {_pct(s['baseline_precision'])})"
            f", EV/trade {_ev(s['ev'])}"
        )
    status = bot.operator.model_serving()
    if status is not None:
        serving = status.get("serving") or "nothing"
        line = f"Serving: <code>{escape(str(serving))}</code>"
        if status.get("error"):
            line += f" ({escape(str(status['error']))})"
        lines.append(line)
    await bot.reply(update, "\n".join(lines))


async def model_rollback(bot: BotView, update: Update, args: list[str], actor: str) -> None:
    reason = " ".join(args) or "rolled back from Telegram"
    done = await bot.operator.rollback_model(bot.settings.ml.models_dir, actor, reason)
    await bot.reply(update, escape(done.message))


COMMANDS: dict[str, Handler] = {
    name: operator_only(name, fn)
    for name, fn in {"models": models, "model_rollback": model_rollback}.items()
}
