"""Faults the simulator injects into its Binance endpoints, switchable at run time.

Each fault has a kind, a probability per matching request, an optional count (it stops after
firing that many times) and an optional scope (path prefixes and HTTP methods). Kinds:

``latency``       wait ``latency_ms`` before handling the request;
``drop``          close the connection without answering (nothing is done);
``error``         answer HTTP ``status`` (default 503) without doing anything: a plain-text
                  body, or Binance's JSON ``{"code": code, ...}`` when ``code`` is set
                  (e.g. -1001 "Internal error", which ccxt maps by code, not by status);
``rate_limit``    answer 429 with ``Retry-After: retry_after_s`` and code -1003; with ``ban``,
                  a request that comes back before that time gets 418 (Binance's IP ban);
``lost_response`` do the request (the order is placed), then close the connection unanswered;
``malformed``     do the request, answer 200 with a body that is not valid JSON;
``truncated``     do the request, announce the full Content-Length, send half and close;
``skew``          move the server's clock by ``skew_ms`` (``time`` and the recvWindow check);
``flap``          the venue failing on and off: of the matching requests, ``flap_on`` in a row
                  are answered as ``error`` answers them (``status``, ``code``), then
                  ``flap_off`` in a row are served, and so on (``probability`` is not drawn);
``bad_candles``   the klines answer (and nothing else) spoiled by ``variant``, one of
                  :data:`~rampart_testkit.simulator.bad_candles.VARIANTS` or ``random``
                  (:mod:`rampart_testkit.simulator.bad_candles`); each spoiled row is recorded
                  in :attr:`FaultSet.corrupted`. With ``/ws`` among its ``paths`` the market
                  stream's closed candles are spoiled too (a price variant each).

By default ``lost_response`` applies to requests that change something (POST and DELETE).
Draws use their own seeded random generator, so a run with the same seed fires identically.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from rampart.domain.errors import ConfigError
from rampart_testkit.simulator.bad_candles import Corrupted, check_variant

KINDS = (
    "latency",
    "drop",
    "error",
    "rate_limit",
    "lost_response",
    "malformed",
    "truncated",
    "skew",
    "flap",
    "bad_candles",
)
BEFORE = ("drop", "error", "rate_limit", "flap")
"""Kinds that answer instead of the handler (so the request does nothing)."""
AFTER = ("lost_response", "malformed", "truncated")
"""Kinds that let the handler run and then spoil its answer."""


@dataclass
class Fault:
    kind: str
    probability: float = 1.0
    count: int | None = None
    paths: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    latency_ms: int = 200
    status: int = 503
    retry_after_s: int = 1
    ban: bool = False
    skew_ms: int = 0
    code: int | None = None
    flap_on: int = 3
    flap_off: int = 3
    variant: str = "random"
    id: int = 0
    fired: int = 0
    seen: int = 0
    """Matching requests so far (a ``flap`` fault's phase)."""

    def matches(self, path: str, method: str) -> bool:
        if self.paths and not any(path.startswith(p) for p in self.paths):
            return False
        return not self.methods or method.upper() in self.methods

    @property
    def spent(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["paths"], out["methods"] = list(self.paths), list(self.methods)
        return out


_PARAMS = {f for f in Fault.__dataclass_fields__ if f not in ("kind", "id", "fired", "seen")}
KLINES = ("/api/v3/klines", "/api/v3/uiKlines")
CORRUPTED_KEPT = 100_000
"""Spoiled rows remembered until a harness takes them (bounded: a soak's memory is measured)."""


@dataclass
class FaultSet:
    seed: int | None = None
    faults: dict[int, Fault] = field(default_factory=dict)
    fired: dict[str, int] = field(default_factory=dict)
    retry_until_wall_ms: int = 0
    """After a 429 with ``ban``: requests before this wall time get 418."""
    corrupted: deque[Corrupted] = field(default_factory=lambda: deque(maxlen=CORRUPTED_KEPT))
    """Klines rows ``bad_candles`` spoiled, oldest first (a harness takes them as it goes)."""
    holes: set[tuple[str, int]] = field(default_factory=set)
    """(symbol, open time) of candles a ``gap`` took out of the klines answers."""

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._next = 0

    @property
    def rng(self) -> random.Random:
        """The faults' seeded generator (a ``random`` variant is drawn from it)."""
        return self._rng

    def add(self, kind: str, **params: Any) -> Fault:
        """Switch a fault on; raises ConfigError (one sentence) on a bad kind or parameter."""
        if kind not in KINDS:
            raise ConfigError(f"Unknown fault kind {kind!r}; use one of {', '.join(KINDS)}.")
        unknown = sorted(set(params) - _PARAMS)
        if unknown:
            raise ConfigError(f"Unknown fault parameter(s): {', '.join(unknown)}.")
        try:
            fault = Fault(kind, **_coerce(params))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"A fault parameter has the wrong type: {exc}.") from None
        if not 0.0 <= fault.probability <= 1.0:
            raise ConfigError("A fault's probability must be between 0 and 1.")
        if fault.count is not None and fault.count < 1:
            raise ConfigError("A fault's count must be at least 1 (or absent for no limit).")
        if kind == "error" and not 500 <= fault.status <= 599:
            raise ConfigError("An error fault's status must be an HTTP 5xx code.")
        if kind == "lost_response" and not fault.methods and not fault.paths:
            fault.methods = ("POST", "DELETE")
        if kind == "flap" and (fault.flap_on < 1 or fault.flap_off < 0):
            raise ConfigError("A flap fault fails flap_on ≥ 1 requests, then serves flap_off ≥ 0.")
        if kind == "flap" and not 500 <= fault.status <= 599:
            raise ConfigError("A flap fault's status must be an HTTP 5xx code.")
        if kind == "bad_candles":
            try:
                fault.variant = check_variant(fault.variant)
            except ValueError as exc:
                raise ConfigError(f"A bad_candles fault's {exc}.") from None
            fault.paths = fault.paths or KLINES
        self._next += 1
        fault.id = self._next
        self.faults[fault.id] = fault
        return fault

    def clear(self, kind: str | None = None, fault_id: int | None = None) -> int:
        """Switch faults off: one by id, all of a kind, or all; returns how many."""
        doomed = [
            f.id
            for f in self.faults.values()
            if (fault_id is None or f.id == fault_id) and (kind is None or f.kind == kind)
        ]
        for i in doomed:
            del self.faults[i]
        if kind in (None, "rate_limit") and fault_id is None:
            self.retry_until_wall_ms = 0
        if not any(f.kind == "bad_candles" for f in self.faults.values()):
            self.holes.clear()  # the exchange's history whole again
        return len(doomed)

    def list(self) -> list[Fault]:
        return list(self.faults.values())

    def skew_ms(self) -> int:
        return sum(f.skew_ms for f in self.faults.values() if f.kind == "skew")

    def draw(self, path: str, method: str) -> list[Fault]:
        """The faults firing on this request (counts are consumed), in ``KINDS`` order."""
        firing: list[Fault] = []
        for fault in list(self.faults.values()):
            if fault.kind in ("skew", "bad_candles") or fault.spent:
                continue
            if not fault.matches(path, method):
                continue
            if fault.kind == "flap":
                fault.seen += 1
                if (fault.seen - 1) % (fault.flap_on + fault.flap_off) >= fault.flap_on:
                    continue  # the venue's "on" spell: this request is served
            elif fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            self._fire(fault)
            firing.append(fault)
        firing.sort(key=lambda f: KINDS.index(f.kind))
        return firing

    def draw_bad_candles(self, path: str) -> tuple[Fault, ...]:
        """The ``bad_candles`` faults firing on this klines answer (counts are consumed): drawn
        by the klines handler, not before it, since only its answer is theirs to spoil."""
        firing: tuple[Fault, ...] = ()
        for fault in tuple(self.faults.values()):
            if fault.kind != "bad_candles" or fault.spent or not fault.matches(path, "GET"):
                continue
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            self._fire(fault)
            firing += (fault,)
        return firing

    def take_corrupted(self) -> tuple[Corrupted, ...]:
        """The spoiled rows recorded since the last call (and forget them)."""
        out = tuple(self.corrupted)
        self.corrupted.clear()
        return out

    def _fire(self, fault: Fault) -> None:
        fault.fired += 1
        self.fired[fault.kind] = self.fired.get(fault.kind, 0) + 1


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for name in ("paths", "methods"):
        value = out.get(name)
        if isinstance(value, str):
            value = [value]
        if value is not None:
            out[name] = tuple(str(v).upper() if name == "methods" else str(v) for v in value)
    for name in ("latency_ms", "status", "retry_after_s", "skew_ms", "flap_on", "flap_off"):
        if name in out:
            out[name] = int(out[name])
    for name in ("count", "code"):
        if out.get(name) is not None:
            out[name] = int(out[name])
    if "probability" in out:
        out["probability"] = float(out["probability"])
    if "ban" in out:
        out["ban"] = bool(out["ban"])
    if "variant" in out:
        out["variant"] = str(out["variant"])
    return out
