"""Killing Rampart (SIGKILL) while an order is in flight: the exchange fills what it holds
while Rampart is down, the restarted process reconciles at start, and its books then equal
the exchange exactly, with every fill stored once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.store import models as m
from rampart.store.db import open_database
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "BTC/USDT"
WAIT_S = 60.0
"""A bound on each wait for the engine process (a hang fails instead of blocking), not a
timing: a loaded machine starts a Python process that imports ccxt in seconds, not 20."""


class Proc:
    """One engine process and its stdout lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    async def expect(self, prefix: str, timeout: float = WAIT_S) -> str:
        async def read() -> str:
            assert self.proc.stdout is not None
            while True:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"engine exited waiting for {prefix!r}: {self.lines}")
                line = raw.decode().strip()
                self.lines.append(line)
                if line.startswith(prefix):
                    return line

        return await asyncio.wait_for(read(), timeout)


async def _spawn(sim: SimulatorHandle, tmp: Path, key: str, secret: str) -> Proc:
    env = {**os.environ, "RAMPART_CHAOS_KEY": key, "RAMPART_CHAOS_SECRET": secret}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.chaos.engine_proc",
        "--url",
        sim.url,
        "--db",
        str(tmp / "rampart.db"),
        "--books",
        str(tmp / "books.json"),
        "--stop",
        str(tmp / "stop"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    engine = Proc(proc)
    await engine.expect("RECONCILED")
    return engine


async def _candle(sim: SimulatorHandle, engine: Proc) -> None:
    await sim.advance(1)
    last = sim.exchange.tape_last()[0]
    await engine.expect(f"CANDLE {last.ts}")


@pytest.mark.slow
def test_sigkill_with_an_order_in_flight_then_restart_reconciles_the_books_exactly(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(30)
            key, secret = sim.create_account({"USDT": "10000"}, account_id="a1")
            first = await _spawn(sim, tmp_path, key, secret)
            for _ in range(12):  # trading: entries, brackets, exits
                await _candle(sim, first)
            # The next order the engine sends is slow to be answered: kill it meanwhile.
            slow = sim.faults.add("latency", latency_ms=1500, count=1, paths=["/api/v3/order"])
            for _ in range(30):
                await sim.advance(1)
                for _ in range(100):
                    if slow.fired:
                        break
                    await asyncio.sleep(0.01)
                if slow.fired:
                    break
            assert slow.fired, "the engine sent no order"
            first.proc.send_signal(signal.SIGKILL)
            await first.proc.wait()
            await sim.idle()  # the order in flight lands on the exchange after the kill
            await sim.advance(20)  # Rampart is down; resting orders may fill
            trades = {t.trade_id for t in sim.exchange.trades["a1"]}
            second = await _spawn(sim, tmp_path, key, secret)
            report = json.loads(second.lines[-1].split(" ", 1)[1])
            assert report["matches"], report
            assert report["repairs"], report  # it found what happened while it was down
            for _ in range(5):
                await _candle(sim, second)
            (tmp_path / "stop").touch()
            await second.expect("STOPPED")
            assert await second.proc.wait() == 0
            books = json.loads((tmp_path / "books.json").read_text())
            await sim.idle()
            state = sim.exchange.state()["accounts"]["a1"]
            totals = {a: D(b["free"]) + D(b["locked"]) for a, b in state["balances"].items()}
            assert D(books["cash"]) == totals["USDT"]
            held = D(books["positions"].get(SYMBOL, "0")) + D(books["dust"].get(SYMBOL, "0"))
            assert held == totals.get("BTC", D(0))
            open_on_exchange = {o["client_id"]: D(o["filled_qty"]) for o in state["open_orders"]}
            assert {c: D(f) for c, (_, f) in books["orders"].items()} == open_on_exchange
            assert books["violations"] == 0
            if D(books["positions"].get(SYMBOL, "0")) > 0:
                stops = [o for o in state["open_orders"] if o["type"] == "stop_market"]
                lots = D(books["positions"][SYMBOL]).quantize(D("0.00001"), rounding="ROUND_DOWN")
                assert [D(o["qty"]) for o in stops] == [lots]  # whole lots of what is held
            db = open_database(f"sqlite:///{tmp_path / 'rampart.db'}")
            with db.connect() as conn:
                fill_ids = conn.execute(sa.select(m.fills.c.fill_id)).scalars().all()
                repairs = conn.execute(sa.select(m.reconciliation_repairs.c.kind)).scalars().all()
            db.dispose()
            stored = [int(f.rsplit(":", 1)[1]) for f in fill_ids]
            assert len(stored) == len(set(stored))  # no fill booked twice
            assert set(stored) == {t.trade_id for t in sim.exchange.trades["a1"]}  # none lost
            assert trades <= set(stored)
            assert repairs  # every repair stored

    asyncio.run(go())
