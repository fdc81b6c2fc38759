"""Every day, date, time of day and duration a message holds, read and checked against one clock.

:func:`off_clock` finds each one in a text and says which do not fit the span of simulated time a
test ran on (``first_ms`` to ``last_ms``, the service's one clock): an ISO date or date and time,
the bot's short ``MM-DD HH:MM``, a weekday's name, an "N min/h/days" duration, and an epoch in
milliseconds in a JSON answer. A test sets that clock years away from the wall clock, so a
figure read from the wall clock is never inside the span.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

DAY_MS = 86_400_000
AHEAD_MS = 60 * DAY_MS
"""How far past the clock's last moment a shown time may lie: what is yet to come (a hold's or a
cooldown's end, an intent's expiry, a next report) is told ahead of now."""
BEHIND_DAYS = 35
"""How far before the clock's first moment a shown date may lie: a weekly report's revenue table
lists the weeks before the one it reports, counted back from it."""
LONGEST_MIN = 366 * 24 * 60
"""The longest duration a message may state in minutes: a setting's window or a stage's length is
far shorter; a duration measured between the clock and the wall clock (years apart) is longer."""

ISO_DATE = re.compile(r"(?<![\d.])(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?")
SHORT = re.compile(r"(?<![\d\-.,:/])(\d{2})-(\d{2}) (\d{2}):(\d{2})(?![\d:])")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY = re.compile(r"\b(" + "|".join(WEEKDAYS) + r")\b")
DURATION = re.compile(
    r"(-|−)?\b(\d[\d,]*(?:\.\d+)?)\s?(min|minutes?|h|hours?|days?|d)\b(?!/)", re.IGNORECASE
)
EPOCH_MS = re.compile(r"\"(\w*(?:_at|_ts|ts|_ms|time|since|until|start|end)\w*)\": ?(\d{13})\b")
TAGS = re.compile(r"<[^>]+>")

_PER_MIN = {"min": 1, "minute": 1, "minutes": 1, "h": 60, "hour": 60, "hours": 60}


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _minutes(unit: str) -> int:
    unit = unit.lower()
    return _PER_MIN.get(unit, 24 * 60)


def off_clock(text: str, first_ms: int, last_ms: int, documents: tuple[str, ...] = ()) -> list[str]:
    """What in ``text`` is not on the clock that ran from ``first_ms`` to ``last_ms``.

    A week is told from its Monday, so days from the Monday of ``first_ms``'s week count;
    ``documents`` are dates a text quotes that no clock gave (the terms' "in effect from")."""
    plain = TAGS.sub(" ", text)
    for fixed in documents:
        plain = plain.replace(fixed, " ")
    first = _day(first_ms)
    monday = first - timedelta(days=first.weekday())
    lo, hi = monday - timedelta(days=BEHIND_DAYS), _day(last_ms + AHEAD_MS)
    found: list[str] = []
    for m in ISO_DATE.finditer(plain):
        year, month, day = (int(g) for g in m.groups()[:3])
        try:
            when = date(year, month, day)
        except ValueError:
            continue  # "2024-02-31" quoted back as not a date
        if not lo <= when <= hi:
            found.append(m.group(0))
    for m in SHORT.finditer(plain):
        month, day = int(m.group(1)), int(m.group(2))
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        if not any(d.month == month and d.day == day for d in days):
            found.append(m.group(0))
    # A weekday names a day lived (today, yesterday's report), not one ahead.
    span = (_day(last_ms) - monday).days + 1  # from the week's Monday
    lived = {WEEKDAYS[(monday + timedelta(days=i)).weekday()] for i in range(span)}
    found += [m.group(0) for m in WEEKDAY.finditer(plain) if m.group(1) not in lived]
    for m in DURATION.finditer(plain):
        amount = float(m.group(2).replace(",", ""))
        if m.group(1) or amount * _minutes(m.group(3)) > LONGEST_MIN:
            found.append(m.group(0))
    for m in EPOCH_MS.finditer(text):
        ms = int(m.group(2))
        if not first_ms - AHEAD_MS <= ms <= last_ms + AHEAD_MS:
            found.append(m.group(0))
    return found


def wall_marks(now: datetime) -> list[str]:
    """How the wall clock's today would read in a message with its year (a month and day alone
    may be one the simulated run lived too; :func:`off_clock` judges those)."""
    return [now.strftime("%Y-%m-%d")]


def times_in(text: str) -> int:
    """How many dates, times and epochs :func:`off_clock` reads in ``text``."""
    plain = TAGS.sub(" ", text)
    return sum(len(p.findall(plain)) for p in (ISO_DATE, SHORT)) + len(EPOCH_MS.findall(text))
