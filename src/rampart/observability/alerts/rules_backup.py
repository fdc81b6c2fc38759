"""A missed scheduled backup (plan 004): BackupMissed (P1) fires once the time by
which the next scheduled backup had to be written (``rampart_backup_due_timestamp_seconds``:
the last success plus ``backup.every_hours`` plus an hour) has passed. A failing backup job
keeps the due time where it was, so it fires too; it resolves at the next backup written."""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import AgeSignal
from rampart.observability.backup_metrics import DUE


def backup_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "BackupMissed",
            "P1",
            "The scheduled backup is overdue: no backup was written "
            "within backup.every_hours and an hour; `rampart backup list` and the logs say why.",
            AgeSignal(DUE, by=()),
            ">",
            0,
            0,
            unit="s",
            step=60,
        ),
    ]


__all__ = ["backup_rules"]
