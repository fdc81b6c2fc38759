"""The fleet chaos run's end checks, once every worker has stopped: the store's
books against the exchange simulator's own record, fill by fill and balance by balance, and
the client order ids the simulator received twice; what the workers' logs say (when each shard
was taken, a process's last words); and the run's figures in plain lines."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from rampart.store import models as m
from rampart_testkit.fleet_chaos_plan import FREEZE, KILL, ChaosFigures
from rampart_testkit.simulator.server import SimContext
from rampart_testkit.soak import scale_verify

BASE = "BTC"
LOT = Decimal("0.00001")
"""The simulator's BTC lot: less cannot be sold, so it is dust on either side."""


def store_positions(db: sa.Engine) -> dict[str, Decimal]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(m.positions.c.account_id, m.positions.c.qty)).all()
    out: dict[str, Decimal] = {}
    for account, qty in rows:
        out[str(account)] = out.get(str(account), Decimal(0)) + Decimal(str(qty))
    return out


def books_against_venue(
    figures: ChaosFigures, db: sa.Engine, ctx: SimContext, pairs: Sequence[tuple[str, str]]
) -> None:
    """``pairs``: (Rampart account id, simulator account id). Run on the simulator's loop, so
    that its record does not move under the comparison. The simulator names its accounts
    ``sim-N``; the store names them as the settings do, so the store's rows are renamed."""
    exchange = ctx.exchange
    renamed = {ours: sim for ours, sim in pairs}
    orders, fills = scale_verify.store_records(db)
    positions = store_positions(db)
    for ours, sim in pairs:
        trades = {t.trade_id for t in exchange.trades[sim]}
        booked = fills.get(ours, Counter[int]())
        missing = trades - set(booked)
        phantom = set(booked) - trades
        twice = sum(n - 1 for n in booked.values() if n > 1)
        figures.fills_venue += len(trades)
        figures.fills_store += sum(booked.values())
        figures.lost_fills += len(missing)
        figures.phantom_fills += len(phantom) + twice
        if missing or phantom or twice:
            figures.details.append(
                f"{ours}: {len(missing)} exchange trade(s) not in the store, {len(phantom)} "
                f"stored fill(s) no exchange trade, {twice} booked twice"
            )
        sub = exchange.sub(sim)
        on_venue = {o.client_id for o in (*sub.open.values(), *sub.done.values()) if o.seq > 0}
        lost = on_venue - orders.get(ours, set())
        figures.lost_orders += len(lost)
        if lost:
            figures.details.append(
                f"{ours}: orders on the exchange not in the store: {sorted(lost)[:5]}"
            )
        balance = sub.balances().get(BASE)
        held = Decimal(0) if balance is None else balance.free + balance.locked
        booked_qty = positions.get(ours, Decimal(0))
        if held != booked_qty and abs(held - booked_qty) < LOT:
            figures.dust += 1
        elif held != booked_qty:
            figures.balance_differences.append(
                f"{ours}: the store holds {booked_qty} {BASE}, the exchange {held}"
            )
    figures.orders_venue = exchange.counters.orders
    by_sim = {sim: ours for ours, sim in renamed.items()}
    figures.sent_twice = sorted(
        f"{by_sim.get(account, account)}: {client_id} ({ctx.twice_arrivals(account, client_id)})"
        for account, client_id in ctx.sent_twice()
    )


def judge(figures: ChaosFigures, resume_limit_s: float, lease_s: float) -> None:
    """The issue's outcomes, each failed one a sentence in ``failures``. The times are the
    goal's: trading back within ``resume_limit_s`` (p95) of a kill -9; after a SIGSTOP, whose
    worker cannot be told from a slow one until its lease runs out (taking its shards sooner
    would let it trade them too on waking), every shard claimed within the lease and 2 s and
    trading back within ``resume_limit_s`` of the lease's end."""
    f = figures
    if f.lost_fills or f.phantom_fills or f.fills_store != f.fills_venue:
        f.failures.append(
            f"fills: the store holds {f.fills_store}, the exchange made {f.fills_venue} "
            f"({f.lost_fills} missing, {f.phantom_fills} phantom or twice)"
        )
    if f.lost_orders:
        f.failures.append(f"{f.lost_orders} order(s) on the exchange are not in the store")
    if f.balance_differences:
        f.failures.append(
            f"{len(f.balance_differences)} account(s) hold a different {BASE} balance than "
            f"the exchange: {f.balance_differences[:3]}"
        )
    if f.sent_twice:
        f.failures.append(f"{len(f.sent_twice)} client order id(s) sent twice: {f.sent_twice[:3]}")
    if f.wedged:
        f.failures.append(f"wedged at the end: {f.wedged}")
    if f.never_resumed:
        f.failures.append(f"never traded again after the fault: {f.never_resumed[:5]}")
    limits = {KILL: (resume_limit_s, None), FREEZE: (lease_s + resume_limit_s, lease_s + 2)}
    for fault, (resume_limit, claim_limit) in limits.items():
        resumed = [s for s, kind, *_ in f.moves if kind.startswith(fault)]
        p95 = percentile(resumed, 95)
        if resumed and p95 > resume_limit:
            f.failures.append(
                f"trading resumed p95 {p95:.1f} s after a {fault} (goal ≤ {resume_limit:g} s)"
            )
        claimed = [s for s, kind in f.claims if kind.startswith(fault)]
        p95 = percentile(claimed, 95)
        if claim_limit is not None and claimed and p95 > claim_limit:
            f.failures.append(
                f"shards claimed p95 {p95:.1f} s after a {fault} (goal ≤ {claim_limit:g} s)"
            )
    if f.exits:
        f.failures.append(f"exited by themselves: {f.exits}")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def spread(values: Sequence[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {percentile(values, 50):.1f} s, p95 {percentile(values, 95):.1f} s, "
        f"max {max(values):.1f} s over {len(values)}"
    )


def lines(f: ChaosFigures) -> list[str]:
    faults = ", ".join(f"{k} ×{n}" for k, n in f.faults.items()) or "none"
    resume = (
        f"p50 {percentile(f.resume_s, 50):.1f} s, p95 {percentile(f.resume_s, 95):.1f} s, "
        f"max {max(f.resume_s):.1f} s over {len(f.resume_s)} shard moves"
        if f.resume_s
        else "no shard moved"
    )
    return [
        f"faults injected: {faults} ({f.seconds:.0f} s in all)",
        f"fills store vs venue: {f.fills_store} vs {f.fills_venue} ({f.lost_fills} missing, "
        f"{f.phantom_fills} phantom or twice); orders on the exchange {f.orders_venue}, "
        f"{f.lost_orders} not in the store",
        f"  (as the fleet left them, before a fresh worker took every shard over: "
        f"{f.before_heal.removeprefix('fills store vs venue: ')})",
        f"balances differing from the exchange: {len(f.balance_differences)} (by less than a "
        f"lot, dust: {f.dust})",
        f"requests the exchange answered: {f.requests} ({f.requests / max(f.seconds, 1):.0f}/s)",
        f"client order ids sent twice: {len(f.sent_twice)}",
        *(f"  {twice}" for twice in f.sent_twice[:10]),
        f"wedged shards: {len(f.wedged)} {f.wedged[:5] if f.wedged else ''}".rstrip(),
        f"longest unheld: {f.longest_unheld_s:.1f} s (shard {f.longest_unheld_shard})",
        *(
            f"shards claimed after a {kind}: {spread(seconds)}"
            for kind, seconds in sorted(f.claims_by.items())
        ),
        f"trading resumed after a kill -9 or SIGSTOP: {resume}"
        + (f"; never: {f.never_resumed}" if f.never_resumed else ""),
        *(f"  after a {kind}: {spread(seconds)}" for kind, seconds in sorted(f.resume_by.items())),
        *(
            f"  slow: shard {shard} {seconds:.1f} s after {label}"
            for seconds, _kind, label, shard in sorted(f.moves, reverse=True)[:3]
        ),
        f"processes that exited by themselves: {f.exits or 'none'}",
        *f.bare,
    ]


def last_line(path: Path) -> str:
    """What a process said last (its error, when it exited by itself)."""
    try:
        said = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "?"
    return said[-1].strip()[:300] if said else "nothing"


def claimed_at(logs: Path) -> dict[int, list[float]]:
    """When each shard was claimed (every worker's ``shard_claimed`` log lines), wall
    seconds."""
    out: dict[int, list[float]] = {}
    for path in logs.glob("rampart-worker-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if '"shard_claimed"' not in line:
                continue
            with contextlib.suppress(ValueError, KeyError, TypeError):
                entry = json.loads(line)
                when = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
                out.setdefault(int(entry["shard"]), []).append(when.timestamp())
    return out


def claims(
    moves: list[tuple[str, float, int]], claimed: dict[int, list[float]], kinds: dict[str, str]
) -> list[tuple[float, str]]:
    """Per shard a fault moved: the fault until a worker had claimed it (not yet opened, nor
    traded), and the fault's kind (``kinds``: by the fault's label)."""
    out = []
    for label, t0, shard in moves:
        after = [t for t in claimed.get(shard, []) if t > t0]
        if after:
            out.append((min(after) - t0, kinds[label]))
    return out


__all__ = [
    "books_against_venue",
    "claimed_at",
    "claims",
    "judge",
    "last_line",
    "lines",
    "percentile",
    "store_positions",
]
