"""The faults of ``soak --faults all`` that fit a service soak, one episode at a time on the
wall clock, and the alert each one is expected to raise.

The simulator's kinds are switched on through its admin API (``POST /sim/faults``) for every
request, so the service meets each of them whatever it happens to be calling; the database
outage is another connection holding SQLite's write lock (on PostgreSQL, its relay cut);
``bot_cut`` closes the TCP relay between the service's bot and the Bot API stand-in, for
:data:`BOT_CUT_S` wall seconds (shorter on a short run: see :func:`bot_cut_wall_s`); what the
service sends meanwhile waits and goes after it, exactly once. ``restart`` is the run's planted
SIGKILLs. ``reconcile_race`` and ``hand_close`` act inside an in-process simulator's books and
have no place against a simulator in another process.

The alert engine evaluates on the wall clock (its ``for`` and windows are wall seconds) while the
day is compressed, so the run hands the service a rules file that shortens the windows of the
rules its faults should raise to a few seconds: an episode of a few wall seconds is then long
enough to raise its alert and the quiet spell after it long enough to resolve it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from rampart_testkit.simulator.weights import WINDOW_MS
from rampart_testkit.soak.faults import StoreOutage
from rampart_testkit.tcp_relay import TcpRelay

DB_OUTAGE = "db_outage"
CLOCK_STEP = "clock_step"
BOT_CUT = "bot_cut"
BOT_CUT_S = 60.0
"""The bot's network cut on a run of a simulated day: a minute of the wall clock, as a real
outage lasts (the bot's pacer and python-telegram-bot's polling retry on the wall clock)."""
BOT_CUT_SHARE = 1 / 8
"""A short run cuts the bot's network for at most this share of its wall span."""
STEP_MS = -60_000
"""The host clock set back a minute (and forward again at the episode's end): a step back
moves nothing forward, so no candle is caught up; both steps are past the 2 s tolerance."""
EXCHANGE_ALERT = "ExchangeApiErrors"
STORE_ALERT = "DatabaseDown"
PARAMS: dict[str, dict[str, Any]] = {
    "latency": {"latency_ms": 150},
    "drop": {},
    "error": {"status": 503},
    "rate_limit": {"retry_after_s": 1},
    "lost_response": {},
    "malformed": {},
    "truncated": {},
    "skew": {"skew_ms": 120_000},
}
"""Each simulator kind's parameters: every matching request, for the whole episode (a lost
answer: the orders placed or canceled, POST and DELETE)."""
EXCHANGE_ALERTS = (EXCHANGE_ALERT, "ErrorRateCritical", "ExecutionErrorRate", "OrdersFailing")
"""The exchange failing, as the operator hears of it: failed calls counted, their share of the
calls, or the orders not accepted (a lost answer is an order whose outcome is checked, not a
failed call)."""
EXPECTS: dict[str, tuple[str, ...]] = {
    "latency": (),
    "drop": EXCHANGE_ALERTS,
    "error": EXCHANGE_ALERTS,
    "rate_limit": EXCHANGE_ALERTS,
    "lost_response": EXCHANGE_ALERTS,
    "malformed": EXCHANGE_ALERTS,
    "truncated": EXCHANGE_ALERTS,
    "skew": EXCHANGE_ALERTS,
    DB_OUTAGE: (STORE_ALERT,),
    CLOCK_STEP: ("ClockJump",),
    BOT_CUT: (),
}
"""The alerts one of which each kind must raise while it lasts (latency of 150 ms is below
every alert's level: none is expected, and one raised anyway is shown; no rule watches the
bot's network: what a cut must not do is lose or repeat a message, judged on its own line)."""
SERVICE_KINDS = tuple(EXPECTS)
LEFT_OUT = ("reconcile_race", "hand_close")
"""Kinds of ``--faults all`` a simulator in another process cannot make."""
WINDOW = "3s"
ALERT_RULES: dict[str, dict[str, Any]] = {
    EXCHANGE_ALERT: {"threshold": 1, "window": WINDOW, "for": 0},
    "ExecutionErrorRate": {"window": WINDOW, "for": 0},
    "ErrorRateCritical": {"window": WINDOW, "for": 0},
    "ErrorRateElevated": {"window": WINDOW, "for": 0},
    "ErrorSpike": {"window": WINDOW},
    "OrdersFailing": {"window": WINDOW, "for": 0},
    "OrderSuccessLow": {"window": WINDOW, "for": 0},
    STORE_ALERT: {"window": WINDOW, "for": 1},
    "ClockJump": {"window": WINDOW},
    "DatabaseErrors": {"window": WINDOW, "for": 0},
}
"""The rules file the service is given: the exchange's and the store's rules on windows of a
few wall seconds (what a compressed day needs of an engine that runs on the wall clock)."""
EPISODE_S = (1.5, 6.0)
"""An exchange fault lasts until its alert has opened, and at least the first and at most the
second of these wall seconds (a fault meets no request until the service calls)."""
ORDERS_ONLY_S = 14.0
"""The longest a lost answer lasts: it meets only orders, an entry every few candles."""
OUTAGE_S = 15.0
"""The store's outage has a fixed length: the incident is written only once the store takes
writes again, and SQLite refuses a write only after its 5 s busy wait, in which the service's
loop waits with it."""
QUIET_S = (3.5, 15.0)
"""The next fault starts when every incident is resolved, and at least the first and at most
the second of these wall seconds after the last one ended."""
FIRE_SLACK_S = 3.0
"""Wall seconds after an episode in which its alert may still open (an evaluation, a retry)."""
VENUE_WINDOW_S = WINDOW_MS / 1000
"""The simulator's weight window, in wall seconds (Binance's one minute): a 429 answer tells the
service the window's count is at the limit, and its request budget rightly holds entries
until the window rolls; on a compressed day that is two business hours of entries refused."""
HOLD_S: dict[str, float] = {"rate_limit": VENUE_WINDOW_S + FIRE_SLACK_S}
"""Wall seconds after an episode of these kinds in which what it left still opens incidents
(past :data:`QUIET_S`): they are its doing, no critical failure of their own."""


def after_s(kind: str) -> float:
    """How long after an episode of ``kind`` ends (wall seconds) an incident is its doing."""
    return max(QUIET_S[1], HOLD_S.get(kind, 0.0))


SETTLE_S = 6.0
"""A fault starts only when the service has lived this long (its engine watches its windows)."""


def bot_cut_wall_s(hours: float, speed: float) -> float:
    """Wall seconds of the ``bot_cut``: :data:`BOT_CUT_S`, or a share of a short run's wall
    span (an hour at ×45 lasts 80 s: a minute's cut would be most of it)."""
    return round(min(BOT_CUT_S, max(hours * 3600 / speed * BOT_CUT_SHARE, 5.0)), 1)


def write_rules(path: Path) -> Path:
    path.write_text(yaml.safe_dump(ALERT_RULES, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Episode:
    kind: str
    started_wall_s: float
    start_ms: int


class FaultRunner:
    """Switches the faults on and off: one at a time, in ``kinds`` order, a quiet spell between
    them; what ran is reported as (kind, start, end) on the service's business clock."""

    def __init__(
        self,
        kinds: tuple[str, ...],
        sim_url: str,
        db_path: Path,
        clock_file: Path,
        relay: TcpRelay | None = None,
        bot_relay: TcpRelay | None = None,
        bot_cut_s: float = BOT_CUT_S,
    ) -> None:
        self.todo = list(kinds)
        self.sim_url = sim_url
        self.outage = StoreOutage(db_path)
        self.relay = relay
        """A PostgreSQL store's relay: its outage is the relay cut (SQLite's is the lock)."""
        self.bot_relay = bot_relay
        """The relay between the service's bot and the Bot API stand-in (``bot_cut``)."""
        self.bot_cut_s = bot_cut_s
        self.clock_file = clock_file
        self.active: Episode | None = None
        self.quiet_since = 0.0
        self.last: Episode | None = None
        """The fault that ended last (its alert may be written after it: see :meth:`settled`)."""
        self.errors: list[str] = []

    def due(self, now_s: float, life_age_s: float, incidents_open: int) -> bool:
        """Whether the next fault starts now: none under way, the service settled, the last
        one's incidents resolved (or the longest quiet spell over)."""
        if self.active is not None or not self.todo or life_age_s < SETTLE_S:
            return False
        quiet = now_s - self.quiet_since
        return quiet >= QUIET_S[1] or (quiet >= QUIET_S[0] and incidents_open == 0)

    def settled(self, now_s: float, incidents_open: int, last_seen: bool = True) -> bool:
        """Whether the run may end: every fault made, none under way, the last one's expected
        incident in the store (``last_seen``: a store outage's is written only once the store
        answers again, after the page) and its incidents resolved, or the longest quiet spell
        over. A short run goes on past its hours until then (within its wall-time bound)."""
        if self.active is not None or self.todo:
            return False
        quiet = now_s - self.quiet_since
        return quiet >= QUIET_S[1] or (last_seen and incidents_open == 0)

    def over(self, now_s: float, fired: bool) -> bool:
        """Whether the fault under way ends now; ``fired``: its expected alert has opened."""
        episode = self.active
        if episode is None:
            return False
        took = now_s - episode.started_wall_s
        if episode.kind == DB_OUTAGE:
            return took >= OUTAGE_S
        if episode.kind == BOT_CUT:
            return took >= self.bot_cut_s
        return took >= EPISODE_S[1] or (
            took >= EPISODE_S[0] and (fired or not EXPECTS[episode.kind])
        )

    async def start(self, http: aiohttp.ClientSession, now_s: float, business_ms: int) -> str:
        kind = self.todo.pop(0)
        self.active = Episode(kind, now_s, business_ms)
        if kind == DB_OUTAGE and self.relay is not None:
            self.relay.cut()
        elif kind == DB_OUTAGE:
            self.outage.start()
        elif kind == CLOCK_STEP:
            self._step(STEP_MS)
        elif kind == BOT_CUT:
            if self.bot_relay is not None:
                self.bot_relay.cut()
        else:
            await self._admin(http, "post", {"kind": kind, **PARAMS[kind]})
        return kind

    async def end(self, http: aiohttp.ClientSession, now_s: float) -> Episode | None:
        episode, self.active = self.active, None
        self.quiet_since = now_s
        self.last = episode or self.last
        if episode is not None and episode.kind == DB_OUTAGE and self.relay is not None:
            self.relay.restore()
        elif episode is not None and episode.kind == DB_OUTAGE:
            self.outage.stop()
        elif episode is not None and episode.kind == CLOCK_STEP:
            self._step(0)
        elif episode is not None and episode.kind == BOT_CUT:
            if self.bot_relay is not None and not self.bot_relay.open:
                self.bot_relay.restore()
        elif episode is not None:
            await self._admin(http, "delete", None)
        return episode

    def release(self) -> None:
        """Let go of the store's lock and put the clock back (the run ends during a fault)."""
        with contextlib.suppress(Exception):
            self.outage.stop()
        for relay in (self.relay, self.bot_relay):
            if relay is not None and not relay.open:
                relay.restore()
        with contextlib.suppress(OSError):
            self._step(0)

    def _step(self, offset_ms: int) -> None:
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(str(offset_ms), encoding="utf-8")
        tmp.replace(self.clock_file)

    async def _admin(self, http: aiohttp.ClientSession, method: str, body: Any) -> None:
        try:
            async with http.request(method, f"{self.sim_url}/sim/faults", json=body) as answer:
                if answer.status != 200:
                    self.errors.append(f"{method} /sim/faults: {answer.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.errors.append(f"{method} /sim/faults: {type(exc).__name__}")


__all__ = [
    "ALERT_RULES",
    "BOT_CUT",
    "EXPECTS",
    "FIRE_SLACK_S",
    "HOLD_S",
    "LEFT_OUT",
    "SERVICE_KINDS",
    "VENUE_WINDOW_S",
    "FaultRunner",
    "after_s",
    "bot_cut_wall_s",
    "write_rules",
]
