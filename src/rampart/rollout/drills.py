"""The launch checklist's two drills: a test alert through every channel, and a kill-switch
engage-and-release. Each is recorded (``ops_records``) only when it fully worked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.observability.alerts.build import build_notifiers
from rampart.observability.alerts.settings import AlertsConfig
from rampart.observability.notify import FIRING, FanOut, Notice
from rampart.operator.control import Conflict, Operator
from rampart.store import ops_records


@dataclass(frozen=True, slots=True)
class DrillResult:
    kind: str
    ts: int
    detail: dict[str, Any]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ts": self.ts, "detail": self.detail, "message": self.message}


def _channel(notifier: object) -> str:
    return str(getattr(notifier, "name", type(notifier).__name__))


async def alert_test(
    alerts: AlertsConfig, db: sa.Engine, clock: Clock, actor: str, fanout: FanOut | None = None
) -> DrillResult:
    """Send a test notice to every configured channel; recorded only when all delivered.

    Raises NotifyError (one sentence naming each failed channel) and records nothing when any
    channel failed. ``fanout`` is the running service's (Telegram included); otherwise the
    channels are built from the ``alerts`` section (log, webhook)."""
    own = fanout is None
    channels = build_notifiers(alerts, clock) if fanout is None else fanout
    now = clock.now_ms()
    notice = Notice(
        kind=FIRING,
        rule="AlertTest",
        severity="P2",
        key="alert-test",
        summary=f"Test alert sent by {actor}: every channel should show this; no action needed.",
        value=None,
        threshold=0.0,
        comparison="",
        ts=now,
        opened_at=now,
    )
    try:
        await channels.send(notice)
    finally:
        if own:
            await channels.aclose()
    names = [_channel(n) for n in channels.notifiers]
    detail = {"channels": names}
    ops_records.record_event(db, ops_records.ALERT_TEST, now, actor, detail)
    return DrillResult(
        ops_records.ALERT_TEST,
        now,
        detail,
        f"Test alert delivered to {len(names)} channel(s): {', '.join(names)}.",
    )


async def kill_drill(operator: Operator, db: sa.Engine, clock: Clock, actor: str) -> DrillResult:
    """Engage the kill switch (no flatten) and release it at once, timing nothing on wall
    time: the drill proves the switch and its notices work end to end."""
    if operator.kill_switch().engaged:
        raise Conflict(
            "The kill switch is engaged for real; a drill would release it. Release it first."
        )
    engaged = await operator.engage_kill_switch(actor, "drill")
    try:
        released = await operator.release_kill_switch(actor, "drill over")
    except RampartError:  # pragma: no cover - released by someone else in between
        released = None
    now = clock.now_ms()
    detail = {
        "accounts": engaged.accounts,
        "entries_canceled": engaged.entries_canceled,
        "released": released is not None,
    }
    ops_records.record_event(db, ops_records.KILL_DRILL, now, actor, detail)
    return DrillResult(
        ops_records.KILL_DRILL,
        now,
        detail,
        f"Kill-switch drill: engaged on {engaged.accounts} account(s), "
        f"{engaged.entries_canceled} working entry order(s) canceled, released again.",
    )
