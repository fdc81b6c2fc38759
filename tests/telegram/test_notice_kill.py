"""A real kill -9 after money notices went out: a trading process is killed
at whatever point it has reached once it has sent some "Bought"/"Sold" notices; every order and
trade it announced is in the database the killed process left (after a demo service's kill -9
investors held "Bought" notices for orders the restarted books did not hold)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from rampart.store import models as m

ROOT = Path(__file__).resolve().parents[2]
ANNOUNCED = 4
"""Money notices sent before the kill."""
POLLS = 60_000


def test_every_order_announced_before_a_kill_9_is_in_the_books(tmp_path: Path) -> None:
    db, sent = tmp_path / "r.db", tmp_path / "sent.txt"
    sent.touch()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.telegram.kill_child", str(db), str(sent)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with sent.open(encoding="utf-8") as lines:
            told: list[str] = []
            for _ in range(POLLS):  # a bound on polls, not a time: ends when enough are told
                line = lines.readline()
                if line:
                    told.append(line)
                    if len(told) >= ANNOUNCED:
                        break
                elif child.poll() is not None:
                    raise AssertionError(child.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
                else:
                    time.sleep(0.01)  # a poll's pause, so the child has the core
            else:
                raise AssertionError(f"the child told {len(told)} notices, not {ANNOUNCED}")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
        assert child.stderr is not None
        child.stderr.close()
    told = sent.read_text(encoding="utf-8").splitlines()
    bought = [re.search(r"Bought (\S+)</b>", t) for t in told]
    sold = [re.search(r"Sold (\S+)</b>", t) for t in told]
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            entries = (
                conn.execute(
                    sa.select(m.orders.c.symbol).where(
                        m.orders.c.role == "entry", m.orders.c.status == "filled"
                    )
                )
                .scalars()
                .all()
            )
            trades = conn.execute(sa.select(m.trades.c.symbol)).scalars().all()
    finally:
        engine.dispose()
    for symbol in {b.group(1) for b in bought if b}:
        assert entries.count(symbol) >= sum(1 for b in bought if b and b.group(1) == symbol)
    for symbol in {s.group(1) for s in sold if s}:
        assert trades.count(symbol) >= sum(1 for s in sold if s and s.group(1) == symbol)
    assert len(told) >= ANNOUNCED
