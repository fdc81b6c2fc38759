"""Faults at random, seeded: episodes of one kind at a time, separated by quiet spells.

An episode switches one fault kind on in the simulator for a few candles, with parameters
drawn for that kind (a probability per request, or a burst count); then it is switched off
and the market runs quietly until the next one. Quiet spells are when the soak checks that
reconciliation brought the books back to exactly the exchange's figures.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rampart.domain.errors import ConfigError
from rampart_testkit.simulator import FAULT_KINDS, FaultSet

ORDER_PATHS = ["/api/v3/order", "/api/v3/orderList"]
RESTART = "restart"
"""Not a simulator fault: the engine process crashes and restarts from its last checkpoint."""
RECONCILE_RACE = "reconcile_race"
"""A protective fill lands on the exchange between an interval reconciliation's poll of the
venue and its comparison of that account's balances (:mod:`rampart_testkit.soak.faults`)."""
HAND_CLOSE = "hand_close"
"""While the engine is stopped, a person cancels a position's bracket on the exchange and sells
it by hand (sometimes buying a few coins too); then the engine restarts."""
DB_OUTAGE = "db_outage"
"""The store refuses writes for a while: another connection holds SQLite's write lock."""
DB_FLAP = "db_flap"
"""The store fails on and off: SQLite's write lock taken and let go every few candles."""
CLOCK_STEP = "clock_step"
"""The clock the engine and its venue read jumps (a wall-clock step), and jumps back later."""
HARNESS_KINDS = (RESTART, RECONCILE_RACE, HAND_CLOSE, DB_OUTAGE, DB_FLAP, CLOCK_STEP)
"""Faults the harness itself makes (the rest are switched on in the simulator)."""
BAD_CANDLES, FLAP = "bad_candles", "flap"
DIRTY_KINDS = (BAD_CANDLES, FLAP, "skew", DB_FLAP, CLOCK_STEP)
"""``--faults dirty``: bad prints on the feed, a venue and a store failing on and off, the
exchange's and the engine's clocks moved. ``clock_step`` steps the engine's clock back as well
as forward (the soak's clock source jumps; see :class:`~rampart_testkit.soak.dirty.StepClock`)."""
DIRTY_ONLY = (BAD_CANDLES, FLAP, DB_FLAP, CLOCK_STEP)
SOAK_KINDS = (
    *(k for k in FAULT_KINDS if k not in DIRTY_ONLY),
    *(k for k in HARNESS_KINDS if k not in DIRTY_ONLY),
)
"""``all``: the clean faults (skew among them), which every soak must pass today; the dirty
ones are asked for by name or with ``dirty``."""
KNOWN_KINDS = (*SOAK_KINDS, *(k for k in DIRTY_KINDS if k not in SOAK_KINDS))


def parse_faults(
    text: str,
    kinds: tuple[str, ...] = SOAK_KINDS,
    venue: str = "",
    dirty: tuple[str, ...] = DIRTY_KINDS,
) -> tuple[str, ...]:
    """``all``, ``none``, ``dirty`` or a comma list of kinds (``bad-candles`` spelt either
    way): ``kinds`` are what ``all`` means (by default the ccxt soak's clean faults: the
    simulator's and the harness's), ``dirty`` what ``dirty`` means; ``venue`` names whose
    kinds they are in the error."""
    text = text.strip().lower().replace("-", "_")
    if text in ("all", ""):
        return kinds
    if text == "none":
        return ()
    if text == "dirty" and dirty:
        return dirty
    known = (*kinds, *(k for k in dirty if k not in kinds))
    chosen = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in chosen if k not in known]
    if unknown:
        named = f"{venue} fault kind(s)" if venue else "fault kind(s)"
        extra = ", dirty" if dirty else ""
        raise ConfigError(
            f"Unknown {named} {', '.join(unknown)}; use all, none{extra} or a comma list of "
            f"{', '.join(known)}."
        )
    return chosen


@dataclass
class Episode:
    kind: str
    start: int
    end: int
    params: dict[str, Any]


class EpisodeSchedule:
    """What both soaks' fault plans share: one episode at a time, quiet spells between them
    of ``gap`` candles, each kind drawn once from a shuffled bag before any repeats (a short
    soak still meets each of them), and the harness's own kind handed over when it is due.
    The plans are dataclasses that hold these fields."""

    kinds: tuple[str, ...]
    rng: random.Random
    gap: tuple[int, int]
    active: Episode | None
    quiet_since: int
    next_start: int
    episodes: Counter[str]
    _bag: list[str]
    _due: str | None

    def __post_init__(self) -> None:
        self.next_start = self.rng.randint(*self.gap)

    @property
    def quiet(self) -> bool:
        return self.active is None

    def quiet_for(self, step: int) -> int:
        """Candles since the last episode ended (0 during one)."""
        return 0 if self.active is not None else step - self.quiet_since

    def active_kind(self) -> str | None:
        return None if self.active is None else self.active.kind

    def take_due(self) -> str | None:
        """The harness's fault kind whose episode began at this candle, if any (and forget
        it)."""
        due, self._due = self._due, None
        return due

    def _end_episode(self, step: int) -> None:
        if self.active is not None:
            self.active = None
            self.quiet_since = step
            self.next_start = step + self.rng.randint(*self.gap)

    def _draw_kind(self) -> str:
        """The next episode's kind, counted."""
        if not self._bag:
            self._bag = list(self.kinds)
            self.rng.shuffle(self._bag)
        kind = self._bag.pop()
        self.episodes[kind] += 1
        return kind


@dataclass
class FaultPlan(EpisodeSchedule):
    faults: FaultSet
    kinds: tuple[str, ...]
    rng: random.Random
    client_timeout_ms: int = 1000
    recv_window_ms: int = 1000
    gap: tuple[int, int] = (3, 10)
    """Quiet candles between episodes (inclusive range)."""
    length: tuple[int, int] = (2, 4)
    """Candles an episode lasts (inclusive range)."""
    outage: tuple[int, int] = (12, 20)
    """Candles a database outage lasts: longer than the candles between checkpoints, so the
    store refuses at least one write."""
    flap_every: tuple[int, int] = (2, 4)
    """Candles the store is down, then up, in turn during a ``db_flap`` episode."""
    step_ms: tuple[int, int] = (60_000, 3_600_000)
    """How far a ``clock_step`` moves the engine's clock (either way)."""
    active: Episode | None = None
    quiet_since: int = 0
    next_start: int = 0
    episodes: Counter[str] = field(default_factory=Counter)
    _bag: list[str] = field(default_factory=list)
    _due: str | None = None

    def tick(self, step: int) -> None:
        """Start or end an episode at this candle."""
        if self.active is not None and step >= self.active.end:
            self.stop(step)
        if self.active is None and self.kinds and step >= self.next_start:
            self._start(step)

    def stop(self, step: int) -> None:
        self.faults.clear()
        self._end_episode(step)

    def _start(self, step: int) -> None:
        kind = self._draw_kind()
        if kind in HARNESS_KINDS:
            self._due = kind
            span = self.rng.randint(*self.outage) if kind in (DB_OUTAGE, DB_FLAP) else 1
            params: dict[str, Any] = {}
            if kind == DB_FLAP:
                params["every"] = self.rng.randint(*self.flap_every)
            elif kind == CLOCK_STEP:
                span = self.rng.randint(*self.length) * 3  # stepped back at the episode's end
                params["step_ms"] = self.rng.choice([-1, 1]) * self.rng.randint(*self.step_ms)
            self.active = Episode(kind, step, step + span, params)
            return
        params = self._params(kind)
        self.faults.add(kind, **params)
        self.active = Episode(kind, step, step + self.rng.randint(*self.length), params)

    def store_down(self, step: int) -> bool:
        """Whether the store is down at this candle: all through a database outage, on and
        off (every ``every`` candles) through a flapping one."""
        episode = self.active
        if episode is None or episode.kind not in (DB_OUTAGE, DB_FLAP):
            return False
        if episode.kind == DB_OUTAGE:
            return True
        return (step - episode.start) // episode.params["every"] % 2 == 0

    def clock_offset_ms(self) -> int:
        """How far the engine's clock is stepped now (0 outside a ``clock_step`` episode)."""
        episode = self.active
        return episode.params["step_ms"] if episode and episode.kind == CLOCK_STEP else 0

    def _params(self, kind: str) -> dict[str, Any]:
        r = self.rng
        if kind == "latency":
            if r.random() < 0.4:
                # Slower than the client waits: the request times out; a create lands after
                # the receive window (so never) — the order stays UNKNOWN until resolved.
                slow = self.client_timeout_ms + self.recv_window_ms + 200
                return {"latency_ms": slow, "count": r.randint(1, 2), "paths": ORDER_PATHS}
            return {"latency_ms": r.randint(20, 250), "probability": 0.3}
        if kind == "drop":
            return {"probability": r.uniform(0.1, 0.3)}
        if kind == "error":
            params: dict[str, Any] = {
                "probability": r.uniform(0.1, 0.3),
                "status": r.choice([500, 502, 503, 504]),
            }
            if r.random() < 0.3:
                params["code"] = -1001
            return params
        if kind == "rate_limit":
            return {"count": r.randint(3, 10), "retry_after_s": r.randint(1, 3)}
        if kind == "lost_response":
            return {"probability": r.uniform(0.2, 0.5)}
        if kind in ("malformed", "truncated"):
            return {"probability": r.uniform(0.1, 0.25)}
        if kind == "skew":
            sign = r.choice([-1, 1])
            return {"skew_ms": sign * (self.recv_window_ms + r.randint(2000, 8000))}
        if kind == FLAP:
            return {"flap_on": r.randint(1, 4), "flap_off": r.randint(2, 8), "status": 503}
        if kind == BAD_CANDLES:
            return {"variant": "random", "probability": r.uniform(0.3, 0.7)}
        raise ConfigError(f"Unknown fault kind {kind!r}.")
