"""Readiness probes: the database, the venue, the feed's freshness and the workers.

Each factory returns an ``async () -> Check`` for :class:`rampart.runtime.health.Health`. Probes
say what is wrong in words, so the operator reading ``/health/ready`` and the load balancer
acting on its 503 see the same reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from rampart.clock import Clock
from rampart.runtime.health import Check, Probe


def _one_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__).rstrip(".")


def database_probe(
    db: sa.Engine | Callable[[], sa.Engine | None],
    refused: Callable[[], str | None] | None = None,
    down: Callable[[BaseException], bool] | None = None,
    refusal_is_outage: Callable[[], bool] | None = None,
) -> Probe:
    """``SELECT 1`` in a worker thread (a hung database must not stall the event loop).

    ``db`` may be a callable returning the current engine, for services that reopen it.
    ``refused``: why the store refuses writes now (None while they land). A full disk or a
    locked file still answers ``SELECT 1``; the writer's last refusal is the truth then, and
    the service is not ready until a write lands again.
    ``down``: whether a failed ``SELECT 1`` means the database does not answer
    (:func:`rampart.store.errors.not_answering`); one that does not (every pooled connection
    busy, a statement time-out) fails as ``slow``: not ready, but not the database down.
    Without it every failure is the database down. ``refusal_is_outage``: whether the
    writer's refusal says the store does not take writes at all (else the store refused those
    rows for their own reason: not ready, but slow rather than down); default yes.
    """

    def select_one() -> Check:
        engine = db() if callable(db) and not isinstance(db, sa.Engine) else db
        if engine is None:
            return Check("database", False, "the database is not open")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).scalar_one()
        except Exception as exc:  # any driver error means not ready, said in one line
            if down is not None and not down(exc):
                detail = f"the database answers but the probe failed: {_one_line(exc)}"
                return Check("database", False, detail, slow=True)
            return Check("database", False, f"cannot query the database: {_one_line(exc)}")
        return Check("database", True, f"{engine.dialect.name} answers")

    async def probe() -> Check:
        why = refused() if refused is not None else None
        if why:
            outage = refusal_is_outage is None or refusal_is_outage()
            return Check("database", False, f"the database refuses writes: {why}", slow=not outage)
        return await asyncio.to_thread(select_one)

    return probe


def patient(probe: Probe, clock: Clock, deadline_s: float, down_after_s: float) -> Probe:
    """``probe`` without ever waiting longer than ``deadline_s`` for it, and without calling a
    late answer an outage: a probe still running past the deadline is *slow* (``slow``) until
    it has run ``down_after_s`` on ``clock``, then it is down (the database does not answer).
    The running probe is not abandoned: the next call waits on the same one, so a database
    that answers in 3 s on a loaded machine reads slow, one that never answers reads down."""
    running: list[tuple[asyncio.Task[Check], int]] = []

    async def ask() -> Check:
        if not running:
            running.append((asyncio.ensure_future(probe()), clock.now_ms()))
        task, since = running[0]
        done, _ = await asyncio.wait({task}, timeout=deadline_s)
        if done:
            running.clear()
            return task.result()
        waited_s = (clock.now_ms() - since) / 1000
        if waited_s >= down_after_s:
            return Check("database", False, f"no answer for {waited_s:.0f} s")
        return Check("database", False, f"no answer yet after {waited_s:.1f} s", slow=True)

    return ask


def venue_probe(venue: Any, account_id: str | None = None) -> Probe:
    """The venue answers: ``ping()`` when it has one, else balances of ``account_id`` for a
    remote venue; an in-process (paper) venue is always reachable."""

    async def probe() -> Check:
        name = getattr(venue, "name", type(venue).__name__)
        try:
            if hasattr(venue, "ping"):
                await venue.ping()
            elif hasattr(venue, "poll") and account_id is not None:
                await venue.fetch_balances(account_id)
            else:
                return Check("venue", True, f"{name} runs in process")
        except Exception as exc:  # a venue error is a readiness failure, not a crash
            message = getattr(exc, "message", None) or _one_line(exc)
            return Check("venue", False, f"{name} does not answer: {message}")
        return Check("venue", True, f"{name} answers")

    return probe


def feed_probe(
    engine: Any, clock: Clock, max_age_s: float, symbols: Iterable[str] | None = None
) -> Probe:
    """Stale when a traded symbol has had no new candle for ``max_age_s`` on ``clock``, or the
    engine has marked it stale (entries on it are then refused).

    Freshness is measured from when the probe saw the symbol's last candle time change, on the
    ops clock, so it works whatever clock the candles' own timestamps follow (a simulated
    paper feed or an exchange's). A symbol with no candle yet is not fresh.
    """
    seen: dict[str, tuple[int, int]] = {}
    """symbol → (last candle ts seen, ops time it was first seen)."""
    wanted = tuple(symbols) if symbols is not None else None
    bound_ms = int(max_age_s * 1000)

    async def probe() -> Check:
        now = clock.now_ms()
        names = wanted if wanted is not None else tuple(engine.symbols())
        problems = []
        for symbol in names:
            if symbol in engine.stale_symbols:
                problems.append(f"{symbol} is marked stale")
                continue
            ts = engine.data_ts.get(symbol)
            if ts is None:
                problems.append(f"no candle for {symbol} yet")
                continue
            last = seen.get(symbol)
            if last is None or last[0] != ts:
                seen[symbol] = (ts, now)
                continue
            age_s = (now - last[1]) / 1000
            if now - last[1] > bound_ms:
                problems.append(f"no new candle for {symbol} in {age_s:.0f} s")
        if not names:
            return Check("feed", True, "no symbol is traded")
        if problems:
            return Check("feed", False, "; ".join(problems))
        return Check("feed", True, f"{len(names)} symbols fresh")

    return probe


def workers_probe(status_fn: Callable[[], Mapping[str, Any]]) -> Probe:
    """Every supervised component is up. ``status_fn`` maps names to objects with ``up`` (and
    optionally ``state``), such as :meth:`rampart.runtime.supervisor.Supervisor.status`, or to
    booleans."""

    async def probe() -> Check:
        status = status_fn()
        down = []
        for name, item in status.items():
            up = item if isinstance(item, bool) else bool(getattr(item, "up", False))
            if not up:
                state = getattr(item, "state", "down")
                down.append(f"{name} ({state})")
        if not status:
            return Check("workers", False, "no worker is running")
        if down:
            return Check("workers", False, "down: " + ", ".join(down))
        return Check("workers", True, f"{len(status)} workers up")

    return probe
