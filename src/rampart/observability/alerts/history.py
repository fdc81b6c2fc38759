"""The history of the counters the alert rules read, recorded at each evaluation (split from
:mod:`~rampart.observability.alerts.signals`, which says how windowed increases are computed
from it)."""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable, Mapping

Labels = tuple[tuple[str, str], ...]
"""A sorted label set, usable as a dict key."""
Samples = dict[str, list[tuple[dict[str, str], float]]]
"""Sample name → every series of that name with its labels and value."""


def labels_key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


SeriesKey = tuple[str, Labels]
SPACING_SHARE = 60
"""A record ``a`` ms old is kept only if the one before it is more than ``a / SPACING_SHARE`` ms
older: a window of any length then starts at a record at most 1/60 of the window before the
moment asked (a 1-hour window at most a minute early), and an hour of history is a few hundred
records whatever the evaluation pace, instead of one per evaluation (7,200 at 0.5 s)."""


class History:
    """The counters the rules need, recorded at each evaluation, as reset-adjusted totals.

    Each record holds, per series, the sum of its rises since it was first seen: a rise is
    ``value − previous`` when the value did not drop, and the whole ``value`` when it did (a
    restart began again from zero, as Prometheus's ``increase()`` reads a drop). A window's
    increase is then the difference of two records and can never be negative. A series that
    vanished and came back counts from zero again.

    With ``process_label`` the samples come from several processes, each series labelled with
    the one it was scraped from (past one machine: :mod:`~rampart.observability.alerts.fleet`).
    Their counters did not start when this history did, so a process's series seen in its first
    scrape are where counting starts (as Prometheus counts from its first scrape), while a
    series born in a process already watched counts from zero. A series missing from a record
    (a scrape that failed) is compared with its last value seen when it comes back: a missed
    scrape is not a restart.
    """

    def __init__(self, keep_ms: int, process_label: str | None = None) -> None:
        self.keep_ms = keep_ms
        self.process_label = process_label
        self._times: deque[int] = deque()
        self._raw: deque[dict[SeriesKey, float]] = deque()
        self._values: deque[dict[SeriesKey, float]] = deque()
        self._last: dict[SeriesKey, float] = {}
        """Scraped: each series' last value seen, whichever record it was in."""
        self._processes: set[str] = set()
        """Scraped: the processes seen so far."""
        self._undo: tuple[dict[SeriesKey, float], set[str]] = ({}, set())
        """Scraped: ``_last`` and ``_processes`` before the newest record (a record at the same
        time replaces it)."""
        self._keys: dict[SeriesKey, SeriesKey] = {}
        """The series keys of the newest record, each one object: every record refers to the
        same key (and label strings) instead of a fresh copy made by each scrape."""

    def record(self, now_ms: int, samples: Samples, names: Iterable[str]) -> None:
        keys = self._keys
        raw: dict[SeriesKey, float] = {}
        for name in names:
            for labels, value in samples.get(name, ()):
                key = (name, labels_key(labels))
                raw[keys.get(key, key)] = value
        self._keys = {key: key for key in raw}
        if self._times and now_ms <= self._times[-1]:
            self._times.pop()
            self._raw.pop()
            self._values.pop()
            self._last, self._processes = self._undo
        last_raw = self._raw[-1] if self._raw else {}
        # Totals of series that vanished are carried, so a window reaching back past their
        # last sample still subtracts the right amount.
        totals = dict(self._values[-1]) if self._values else {}
        if self.process_label is None:
            for key, value in raw.items():
                before = last_raw.get(key)
                rise = value if before is None or value < before else value - before
                totals[key] = totals.get(key, 0.0) + rise
        else:
            self._record_scraped(raw, totals, samples)
        self._times.append(now_ms)
        self._raw.append(raw)
        self._values.append(totals)
        # Keep the newest record at or before the oldest moment any window may ask for.
        while len(self._times) > 1 and self._times[1] <= now_ms - self.keep_ms:
            self._times.popleft()
            self._raw.popleft()
            self._values.popleft()
        self._thin(now_ms)

    def _thin(self, now_ms: int) -> None:
        """Drop each record whose neighbours are close enough for its age (see
        :data:`SPACING_SHARE`); the oldest and the newest are always kept. Totals are
        cumulative, so a dropped record loses no count."""
        times = self._times
        if len(times) < 3:
            return
        keep = [0]
        for i in range(1, len(times) - 1):
            gap = times[i + 1] - times[keep[-1]]
            if gap * SPACING_SHARE > now_ms - times[i + 1]:
                keep.append(i)
        keep.append(len(times) - 1)
        if len(keep) == len(times):
            return
        self._times = deque(times[i] for i in keep)
        self._raw = deque(self._raw[i] for i in keep)
        self._values = deque(self._values[i] for i in keep)

    def _record_scraped(
        self, raw: dict[SeriesKey, float], totals: dict[SeriesKey, float], samples: Samples
    ) -> None:
        label = self.process_label or ""
        self._undo = (dict(self._last), set(self._processes))
        for key, value in raw.items():
            process = dict(key[1]).get(label, "")
            before = self._last.get(key)
            if before is None:
                rise = value if process in self._processes else 0.0
            else:
                rise = value if value < before else value - before
            self._last[key] = value
            totals[key] = totals.get(key, 0.0) + rise
        # Every process that answered, whatever it sent: a counter it starts later is new.
        self._processes |= {
            labels.get(label, "") for rows in samples.values() for labels, _ in rows
        }

    def raw_at(self, ts_ms: int) -> dict[SeriesKey, float]:
        """The values as sampled by the record last at or before ``ts_ms`` (no reset
        adjustment: what a gauge read then); empty if none."""
        index = bisect.bisect_right(self._times, ts_ms) - 1
        return self._raw[index] if index >= 0 else {}

    def at(self, ts_ms: int) -> dict[SeriesKey, float]:
        """The reset-adjusted totals recorded last at or before ``ts_ms``; empty (all zero)
        if none."""
        index = bisect.bisect_right(self._times, ts_ms) - 1
        return self._values[index] if index >= 0 else {}


__all__ = ["History", "Labels", "Samples", "SeriesKey", "labels_key"]
