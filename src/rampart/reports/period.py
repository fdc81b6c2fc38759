"""Report periods: UTC days and ISO weeks (Monday to Sunday), as millisecond windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from rampart.domain.errors import RampartError

DAY_MS = 86_400_000
KINDS = ("daily", "weekly")
MONTHLY = "monthly"
"""Investors' own monthly reports only (calendar months, UTC)."""


class ReportError(RampartError):
    """A report cannot be made as asked (bad date, unknown kind, no such report)."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: str
    """``daily``, ``weekly`` or ``monthly``."""
    first_day: date
    start: int
    """UTC ms, inclusive."""
    end: int
    """UTC ms, exclusive."""

    @property
    def days(self) -> int:
        return (self.end - self.start) // DAY_MS

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.first_day.isoformat()
        last = self.first_day + timedelta(days=self.days - 1)
        if self.kind == MONTHLY:
            return f"{self.first_day:%Y-%m} ({self.first_day.isoformat()} to {last.isoformat()})"
        iso = self.first_day.isocalendar()
        return f"{iso.year}-W{iso.week:02d} ({self.first_day.isoformat()} to {last.isoformat()})"


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def ms_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-03-01."
        ) from None


def period_for(kind: str, day: date) -> Period:
    """The day ``day``, or the Monday-to-Sunday week that contains it."""
    if kind == "daily":
        return Period(kind, day, day_ms(day), day_ms(day) + DAY_MS)
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, day_ms(monday), day_ms(monday) + 7 * DAY_MS)
    if kind == MONTHLY:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, day_ms(first), day_ms(following))
    raise ReportError(f"There is no {kind!r} report; use daily or weekly.")


def default_period(kind: str, now_ms: int) -> Period:
    """The newest finished period at ``now_ms``: yesterday, last week, or last month."""
    today = ms_day(now_ms)
    if kind == MONTHLY:
        return period_for(kind, today.replace(day=1) - timedelta(days=1))
    return period_for(kind, today - timedelta(days=1 if kind == "daily" else 7))
