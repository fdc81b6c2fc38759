"""One request budget per exchange and egress address, shared by every account's client.

Exchanges count request weight per IP address, not per API key: Binance publishes its limits
in ``exchangeInfo.rateLimits`` (``REQUEST_WEIGHT`` per minute, ``RAW_REQUESTS``), reports what
the address has used in ``X-MBX-USED-WEIGHT-<n><unit>`` headers, answers 429 past the limit and
bans (418) an address that keeps sending after 429s. A ccxt client's own limiter only knows its
own requests: a thousand investor clients behind one address, each pacing itself, would be
banned together. This budget counts every request of every client on the address:

- **limits** come from the venue's published ``rateLimits`` (:meth:`RequestBudget.learn`),
  until then from ccxt's own pace (``rateLimit``); the weight of a request is ccxt's cost for
  its endpoint scaled to the published limit (Binance: cost 0.2 = weight 1);
- **the exchange's count wins**: a used-weight header above ours raises ours (another worker
  or another program on the same address), and a 429 or 418 marks the address spent until its
  ``Retry-After`` (:meth:`RequestBudget.observe`);
- **spent in lanes** (:mod:`rampart.venues.budget_lanes`): market data, protective orders,
  reconciliation reads and entries each spend a reserved share of the limit first, then a
  spare pool; no lane can spend another's reservation. Polling is skipped at once when its
  lane and the spare pool are full; other calls wait for the next window on the Clock, each
  for at most its lane's wait, then are refused (nothing was sent);
- **shared** through a :class:`Ledger`: in process (:class:`MemoryLedger`, the single-process
  default) or a row per window and lane in the database, each spend one atomic update, for
  several workers (:mod:`rampart.store.request_budget`, wrapped in :class:`SharedLedger`).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.venues.budget_lanes import EPS, ROWS, SPARE, BudgetPolicy, Lane
from rampart.venues.budget_ledgers import Ledger, MemoryLedger, SharedLedger
from rampart.venues.rate_limits import retry_after_s, used_weights

log = structlog.get_logger("rampart.venues.budget")


INTERVAL_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
COUNTED = ("REQUEST_WEIGHT", "RAW_REQUESTS")
"""Limits counted per address. Binance counts ``ORDERS`` per account, so they are not pooled."""
WEIGHT_PER_COST = {"binance": 5.0}
"""Exchange weight per ccxt cost unit, where ccxt states it (binance.py: "1 IP (api) => cost =
0.2", 6000 a minute at one unit per 50 ms)."""
REFRESH_MS = 1_000
"""How often an answer's used-weight header reads the ledger's count when it is no higher than
the count known (the gauges' freshness; a higher one is always taken at once)."""
_RATE_LIMITS = re.compile(r'"rateLimits"\s*:\s*(\[[^\]]*\])')


@dataclass(frozen=True, slots=True)
class Window:
    """One published limit: ``limit`` per ``window_ms``, counted in fixed windows."""

    kind: str
    window_ms: int
    limit: float

    def start(self, now_ms: int) -> int:
        return now_ms - now_ms % self.window_ms


def published_windows(rate_limits: Iterable[Any]) -> list[Window]:
    """The per-address limits among an exchange's published ``rateLimits``."""
    out: list[Window] = []
    for item in rate_limits:
        if not isinstance(item, Mapping) or item.get("rateLimitType") not in COUNTED:
            continue
        unit = INTERVAL_MS.get(str(item.get("interval")))
        try:
            num, limit = int(item.get("intervalNum", 1)), float(item["limit"])
        except (KeyError, TypeError, ValueError):
            continue
        if unit is None or num < 1 or limit <= 0:
            continue
        out.append(Window(str(item["rateLimitType"]), unit * num, limit))
    out.sort(key=lambda w: (w.kind != "REQUEST_WEIGHT", w.window_ms))
    return out


class BudgetRefused(Exception):
    """The budget held a request back past its lane's wait; nothing was sent."""

    def __init__(self, budget: RequestBudget, lane: Lane, wait_s: float) -> None:
        super().__init__(
            f"Rampart held this request back: the request budget for {budget.exchange} at "
            f"address {budget.address} has no room in its {lane} lane or its spare pool for "
            f"{math.ceil(wait_s)} s."
        )
        self.lane = lane
        self.wait_s = wait_s


class RequestBudget:
    def __init__(
        self,
        exchange: str,
        address: str,
        clock: Clock,
        *,
        ledger: Ledger | None = None,
        windows: Iterable[Window] | None = None,
        policy: BudgetPolicy | None = None,
        rate_limit_ms: float | None = None,
    ) -> None:
        """``windows``: known limits (learned from the venue otherwise); ``rate_limit_ms``:
        ccxt's default pace for the exchange, which scales its costs to weights."""
        self.exchange = exchange
        self.address = address
        self.clock = clock
        self.ledger: Ledger = ledger if ledger is not None else MemoryLedger()
        self.policy = policy or BudgetPolicy()
        self.windows: list[Window] = list(windows or [])
        self.published = bool(self.windows)
        self.rate_limit_ms = rate_limit_ms
        self.blocked_until_ms = 0
        self.seen: dict[tuple[str, int], float] = {}
        """The latest count known per (row key, window start): for the gauges."""
        self.held: Counter[tuple[str, str]] = Counter()
        """Requests held back, by (lane, ``waited`` or ``refused``)."""
        self.spent: defaultdict[str, float] = defaultdict(float)
        """Weight this process spent per lane, since start."""
        self.borrowed: defaultdict[str, float] = defaultdict(float)
        """Of that, the weight taken from the spare pool."""
        self.waited_s: defaultdict[str, float] = defaultdict(float)
        """Seconds requests of each lane spent waiting for room, since start."""
        self.refusals = 0
        """429 and 418 answers seen on this address."""
        self.refreshed: dict[str, int] = {}
        """When each window's count was last read from the ledger (by an answer's headers)."""

    # -- limits -------------------------------------------------------------------------------

    def set_rate(self, rate_limit_ms: float) -> None:
        """ccxt's default pace for the exchange (its clients' ``rateLimit``), once known."""
        if self.rate_limit_ms is None and rate_limit_ms > 0:
            self.rate_limit_ms = rate_limit_ms

    def _limits(self) -> list[Window]:
        if not self.windows:
            # Nothing published yet: ccxt's own pace (a cost unit per rateLimit), as weight.
            rate = self.rate_limit_ms or 1000.0
            per_cost = WEIGHT_PER_COST.get(self.exchange, 1.0)
            return [Window("REQUEST_WEIGHT", 60_000, 60_000 / rate * per_cost)]
        return self.windows

    def learn(self, rate_limits: Iterable[Any]) -> None:
        """Take the exchange's published limits (``exchangeInfo.rateLimits``)."""
        windows = published_windows(rate_limits)
        if windows and windows != self.windows:
            self.windows, self.published = windows, True
            log.info(
                "request_budget_limits",
                exchange=self.exchange,
                address=self.address,
                limits=[f"{w.kind} {w.limit:g}/{w.window_ms // 1000}s" for w in windows],
            )

    def weight(self, cost: float | None) -> float:
        """A ccxt cost as the exchange's weight. ccxt prices each endpoint so that one client
        at its ``rateLimit`` pace stays inside the exchange's real limit: for Binance a cost of
        0.2 is one weight (:data:`WEIGHT_PER_COST`). For another exchange that publishes its
        limits, the cost units are spread over them; otherwise the unit is ccxt's own."""
        units = 1.0 if cost is None else float(cost)
        known = WEIGHT_PER_COST.get(self.exchange)
        if known is not None:
            return units * known
        if not self.published or self.rate_limit_ms is None:
            return units
        first = self.windows[0]
        return max(units * first.limit * self.rate_limit_ms / first.window_ms, 0.0)

    @staticmethod
    def _cost(window: Window, weight: float) -> float:
        return 1.0 if window.kind == "RAW_REQUESTS" else weight

    def _key(self, window: Window, row: str) -> str:
        """The ledger row of ``window``'s count for one lane or the spare pool."""
        return f"{self.exchange}|{self.address}|{window.kind}|{window.window_ms}|{row}"

    def _cap(self, window: Window, row: str) -> float:
        # Rounded: 0.15 x 300 is 44.99999999999999 in floats, and the store compares exactly.
        return round(window.limit * self.policy.share(row), 6)

    # -- spending -----------------------------------------------------------------------------

    def _spend_row(self, window: Window, start: int, cost: float, lane: Lane) -> str | None:
        """Take ``cost`` from the lane's reservation, else from the spare pool: the row
        charged, or None when neither has room. Each is one atomic step of the ledger."""
        for row in (lane.value, SPARE):
            cap = self._cap(window, row)
            if cap <= EPS:
                continue
            total = self.ledger.spend(self._key(window, row), start, cost, cap)
            if total is not None:
                self.seen[(self._key(window, row), start)] = total
                return row
        if cost > self._cap(window, lane) + self._cap(window, SPARE):
            # Larger than the lane could ever hold: sent only into the lane's empty window.
            key = self._key(window, lane)
            total = self.ledger.spend(key, start, cost, cost)
            if total is not None:
                self.seen[(key, start)] = total
                return lane.value
        return None

    def try_spend(self, weight: float, lane: Lane) -> float | None:
        """Spend ``weight`` in ``lane`` if there is room: None, or the seconds until there may
        be room."""
        now = self.clock.now_ms()
        if now < self.blocked_until_ms:
            return (self.blocked_until_ms - now) / 1000
        done: list[tuple[Window, int, float, str]] = []
        for window in self._limits():
            start, cost = window.start(now), self._cost(window, weight)
            row = self._spend_row(window, start, cost, lane)
            if row is None:
                for w, s, c, r in done:  # give back what the other windows took
                    self.ledger.spend(self._key(w, r), s, -c, 1e18)
                self._read(window, start)  # full: say how full
                return max(start + window.window_ms - now, 1) / 1000
            done.append((window, start, cost, row))
        self.spent[lane.value] += weight
        if done and done[0][3] == SPARE:
            self.borrowed[lane.value] += weight
        if len(self.seen) > 64 * len(ROWS):
            self._forget(now)
        return None

    def _read(self, window: Window, start: int) -> list[float]:
        """Every row of ``window`` as the ledger counts them now (one read)."""
        keys = [self._key(window, row) for row in ROWS]
        counts = self.ledger.used_many(keys, start)
        for key, count in zip(keys, counts, strict=True):
            self.seen[(key, start)] = count
        return counts

    def _forget(self, now: int) -> None:
        """Keep the counts the gauges read (this window and the last) and no older ones."""
        keep = {
            (self._key(w, row), s)
            for w in self._limits()
            for s in (w.start(now), w.start(now) - w.window_ms)
            for row in ROWS
        }
        for key in [k for k in self.seen if k not in keep]:
            del self.seen[key]

    async def acquire(self, weight: float, lane: Lane, *, poll: bool = False) -> None:
        """Spend ``weight`` in ``lane``, waiting on the Clock up to the lane's wait (a poll
        never waits); else raise :class:`BudgetRefused`."""
        waited = 0.0
        limit = self.policy.wait_s(lane, poll=poll)
        while True:
            wait = self.try_spend(weight, lane)
            if wait is None:
                if waited:
                    self.held[(lane.value, "waited")] += 1
                return
            if waited + wait > limit:
                self.held[(lane.value, "refused")] += 1
                log.info(
                    "request_budget_refused",
                    exchange=self.exchange,
                    address=self.address,
                    lane=lane.value,
                    poll=poll,
                    wait_s=round(wait, 3),
                )
                raise BudgetRefused(self, lane, wait)
            await self.clock.sleep(wait)
            waited += wait
            self.waited_s[lane.value] += wait

    # -- what the exchange says ---------------------------------------------------------------

    def observe(self, status: int, headers: Mapping[str, Any] | None, body: Any = None) -> None:
        """An answer: its used-weight headers, a 429/418 with its ``Retry-After``, and the
        published limits when the body carries them."""
        if isinstance(body, str) and '"rateLimits"' in body[:4096]:
            match = _RATE_LIMITS.search(body[:4096])
            if match is not None:
                with contextlib.suppress(ValueError):
                    self.learn(json.loads(match.group(1)))
        now = self.clock.now_ms()
        for span, used in used_weights(headers).items():
            for window in self._limits():
                if window.kind == "REQUEST_WEIGHT" and window.window_ms == span:
                    self._take_count(window, now, used)
        if status in (418, 429):
            self.refusals += 1
            retry = retry_after_s(headers, now / 1000)
            self.block(now + int(max(retry or 1.0, 1.0) * 1000))

    def _take_count(self, window: Window, now: int, used: float) -> None:
        """The exchange counted ``used`` in this window: what the rows do not hold (another
        program on the address) is charged to the spare pool first, then to the lanes'
        reservations, protective orders' last."""
        start, tag = window.start(now), f"{window.kind}|{window.window_ms}"
        known = sum(self.seen.get((self._key(window, row), start), 0.0) for row in ROWS)
        # At or under the count already known the rows change nothing: a shared ledger is
        # read only for a higher count, or once a second for the gauges.
        fresh = now - self.refreshed.get(tag, -REFRESH_MS) < REFRESH_MS
        if used <= known + EPS and fresh:
            return
        self.refreshed[tag] = now
        counts = self._read(window, start)
        missing = used - sum(counts)
        for row, count in zip(ROWS, counts, strict=True):
            if missing <= EPS:
                break
            take = min(missing, self._cap(window, row) - count)
            if take > EPS:
                key = self._key(window, row)
                self.seen[(key, start)] = self.ledger.raise_to(key, start, count + take)
                missing -= take

    def block(self, until_ms: int) -> None:
        """The exchange refused the address until ``until_ms``: nothing is sent before then,
        and the windows it covers are spent for every worker sharing the ledger."""
        self.blocked_until_ms = max(self.blocked_until_ms, until_ms)
        now = self.clock.now_ms()
        for window in self._limits():
            # The exchange's count of its weight window is at the limit now; later windows
            # are spent when the refusal covers them to their end (RAW_REQUESTS' 5 minutes
            # stay open after a 429 for the minute).
            start = window.start(now)
            while start < until_ms:
                current = start == window.start(now) and window.kind == "REQUEST_WEIGHT"
                if not current and start + window.window_ms > until_ms:
                    break
                for row in ROWS:
                    key = self._key(window, row)
                    cap = self._cap(window, row)
                    self.seen[(key, start)] = self.ledger.raise_to(key, start, cap)
                start += window.window_ms
        log.warning(
            "request_budget_blocked",
            exchange=self.exchange,
            address=self.address,
            until_ms=until_ms,
        )

    # -- gauges -------------------------------------------------------------------------------

    def _total(self, window: Window, start: int) -> float:
        return sum(self.seen.get((self._key(window, row), start), 0.0) for row in ROWS)

    def used_ratio(self) -> float:
        """The busiest limit's use in its current window (0 to 1, or more when overrun)."""
        now = self.clock.now_ms()
        ratios = [self._total(w, w.start(now)) / w.limit for w in self._limits()]
        return max(ratios, default=0.0)

    def headroom(self) -> float:
        """The smaller share left of the busiest limit in this window and at the end of the
        last one: a budget that runs dry every window keeps reading low across its turns."""
        now = self.clock.now_ms()
        worst = 0.0
        for w in self._limits():
            start = w.start(now)
            for s in (start, start - w.window_ms):
                worst = max(worst, self._total(w, s) / w.limit)
        return max(1.0 - worst, 0.0)

    def lane_used_ratio(self, row: str) -> float:
        """How much of a lane's reservation (or the spare pool) is used in the current window
        of the first limit, as last known (0 for a lane that reserves nothing)."""
        window = self._limits()[0]
        cap = self._cap(window, row)
        if cap <= EPS:
            return 0.0
        start = window.start(self.clock.now_ms())
        return self.seen.get((self._key(window, row), start), 0.0) / cap

    def limit(self) -> float:
        return self._limits()[0].limit

    def published_limit(self, window_ms: int) -> float | None:
        """The weight limit the exchange published for windows of ``window_ms``; None until
        it has (ccxt's pace is Rampart's reckoning, not the exchange's word)."""
        if not self.published:
            return None
        weights = (w for w in self.windows if w.kind == "REQUEST_WEIGHT")
        return next((w.limit for w in weights if w.window_ms == window_ms), None)


_SHARED: dict[tuple[str, ...], RequestBudget] = {}


def shared_budget(key: tuple[str, ...], make: Callable[[], RequestBudget]) -> RequestBudget:
    """The process's one budget for ``key`` (exchange, address, endpoint, ledger): the venue's
    clients and the feed's pay from the same one."""
    found = _SHARED.get(key)
    if found is None:
        found = _SHARED[key] = make()
    return found


def shared_budgets() -> list[RequestBudget]:
    """Every budget this process shares (what the gauges report)."""
    return list(_SHARED.values())


__all__ = [
    "BudgetPolicy",
    "BudgetRefused",
    "Lane",
    "Ledger",
    "MemoryLedger",
    "RequestBudget",
    "SharedLedger",
    "Window",
    "published_windows",
    "shared_budget",
    "shared_budgets",
]
