"""What the operators are told as a deploy moves (the launch plan's "Deployment
Start" and "Deployment Complete" templates, with a step and a rollback beside them).

Each change of a deploy (start, step, finish, rollback) puts one operator notice in the
notices outbox, in the store: ``rampart deploy`` runs as a command of its own, without the
bot, and the ``rampart serve`` holding the ops lease sends it to the operator chat, once per
change (keyed by the deploy, the action and the step), whichever process made the change (an
operator's command, or the deploy's own gates rolling it back). The words come from
:data:`TEMPLATES`; nothing else words them.
"""

from __future__ import annotations

from html import escape
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.notices.investor_notices import OPERATOR, InvestorNotice
from rampart.notices.outbox import insert_new

log = structlog.get_logger("rampart.deploy")

OPERATORS = "operators"
"""The notices' account: the operator chat, not an investor."""

TEMPLATES = {
    "start": (
        "🚀 Deployment {id} started: {old} → {new}\n"
        "- Step 1 of {steps}: {percent} of the shards on {new}, held {hold}\n"
        "- 100 % on {new} in {eta} at the soonest, each step gated\n"
        "- Started by {actor}. Watch: <code>rampart deploy status</code>, the panel's "
        "Operations page"
    ),
    "step": (
        "➡️ Deployment {id}: step {step} of {steps}, {percent} of the shards on {new}, held {hold}\n"
        "- The gates of the step before passed. Moved by {actor}"
    ),
    "finish": (
        "✅ Deployment {id} complete: {new} runs every shard ({old} retired)\n"
        "- {steps} steps in {took}, every step's gates met\n"
        "- Trading goes on: no restart, no order sent twice. Finished by {actor}"
    ),
    "rollback": (
        "⚠️ Deployment {id} rolled back: every shard back on {old} ({new} stopped at step "
        "{step} of {steps})\n- Why: {reason}\n- By {actor}; an incident records it"
    ),
}


def _duration(seconds: float) -> str:
    if seconds < 120:  # a short hold in seconds, never "0 min"
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def deploy_notice(action: str, deploy: Any, now_ms: int) -> InvestorNotice:
    """The notice for ``action`` on ``deploy`` (a
    :class:`rampart.rollout.deploy_state.DeployState`)."""
    step = deploy.step
    fields = {
        "id": deploy.id,
        "old": deploy.old,
        "new": deploy.new,
        "steps": len(deploy.steps),
        "step": step + 1,
        "percent": f"{deploy.steps[step] * 100:.0f} %",
        "hold": _duration(deploy.holds_s[step]),
        "eta": _duration(sum(deploy.holds_s[:-1])),
        "took": _duration(max(now_ms - deploy.started_ms, 0) / 1000),
        "actor": deploy.actor or "the system",
        "reason": deploy.reason or "no reason given",
    }
    # Telegram HTML: what an operator typed (a reason, a version label) is shown as written.
    text = TEMPLATES[action].format(**{k: escape(str(v)) for k, v in fields.items()})
    key = f"{OPERATOR}|deploy|{deploy.id}|{action}|{step}"
    return InvestorNotice(key, OPERATORS, OPERATOR, text, now_ms)


def tell_operators(db: sa.Engine, action: str, deploy: Any, now_ms: int) -> None:
    """Put the notice in the outbox; a failure is logged (the deploy row is the record)."""
    try:
        insert_new(db, now_ms, [deploy_notice(action, deploy, now_ms)])
    except Exception as err:
        log.warning("deploy_notice_not_saved", action=action, error=str(err))


__all__ = ["TEMPLATES", "deploy_notice", "tell_operators"]
