"""Retention: keep the newest N backups, plus the newest of each day for the last D days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Dated:
    name: str
    created_at: int


def to_keep(backups: Sequence[Dated], now: int, keep_last: int, keep_daily_days: int) -> set[str]:
    """Names to keep. The newest backup is always kept, whatever the settings."""
    newest_first = sorted(backups, key=lambda b: (b.created_at, b.name), reverse=True)
    keep = {b.name for b in newest_first[: max(1, keep_last)]}
    today = now // DAY_MS
    seen_days: set[int] = set()
    for item in newest_first:
        day = item.created_at // DAY_MS
        if today - day < keep_daily_days and day not in seen_days:
            seen_days.add(day)
            keep.add(item.name)
    return keep


def to_delete(
    backups: Sequence[Dated], now: int, keep_last: int, keep_daily_days: int
) -> list[str]:
    keep = to_keep(backups, now, keep_last, keep_daily_days)
    return sorted(b.name for b in backups if b.name not in keep)
