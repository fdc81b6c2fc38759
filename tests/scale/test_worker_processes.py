"""Three ``rampart worker`` processes and one ``rampart feed`` trading accounts on the exchange
simulator through PostgreSQL and a NATS server of the test's own: one worker is
killed with SIGKILL while trading, another is frozen with SIGSTOP past its lease and then
thawed. The killed worker's shards move to the others, the frozen one's late writes and orders
are refused by the fence, and at the end the books equal the exchange's: every fill booked
once, every position the size the exchange holds and protected by a stop resting there.

What is asserted is outcomes; the waits are bounded only so that a broken run fails instead of
hanging (the failover time is measured by bench/scale.py, not here)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from rampart.clock import WallClock
from rampart.domain.shards import shard_of
from rampart.messaging.commands import CommandSender, FanOut
from rampart.messaging.nats_link import command_stream, connect
from rampart.operator.fleet import Fleet
from rampart.security.secrets import generate_key
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import lease_table
from tests.scale.nats_server import NatsServer, nats_server
from tests.served_command import served

MASTER_KEY = generate_key()
ACCOUNTS = int(os.environ.get("RAMPART_SCALE_ACCOUNTS", "12"))
SHARDS = 6
LEASE_S = 6.0
HANG_GUARD_S = 120.0
SYMBOL = "BTC/USDT"
DUST = Decimal("0.00001")
"""The simulator's BTC lot: less than this cannot be sold, and is dust on both sides."""


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


def settings_for(sim_url: str, startup: list[str], db_url: str, nats_url: str) -> dict[str, Any]:
    keys = re.findall(r"account (\S+): api key (\S+) secret (\S+)", "".join(startup))
    assert len(keys) == ACCOUNTS, startup
    return {
        "mode": "testnet",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": sim_url,
            "rate_limit_ms": 5,
            "credentials": {
                f"acct-{i:02d}": {"api_key": k, "secret": s} for i, (_a, k, s) in enumerate(keys)
            },
        },
        "feed": {
            "kind": "ccxt",
            "symbols": [SYMBOL],
            "timeframe": "1s",
            "poll_every_s": 0.25,
            "stale_after_s": 10,
        },
        "accounts": [
            {
                "id": f"acct-{i:02d}",
                "agent": "trend",
                "params": {"fast": 2, "slow": 4, "atr_period": 3, "atr_k": 1.0},
                "profile": "aggressive",
                "symbols": [SYMBOL],
                "capital": 1000,
            }
            for i in range(ACCOUNTS)
        ],
        # One-second candles move little: tight stops must be allowed for trades to happen.
        "profiles": {
            "aggressive": {"min_stop": "0.0002", "min_rr": "1", "consecutive_losses": 1000}
        },
        "store": {"url": db_url, "checkpoint_every": 5},
        "engine": {"history": 60},
        "alerts": {"enabled": False},
        "api": {"enabled": False},
        "scale": {
            "nats_url": nats_url,
            "shards": SHARDS,
            "lease_s": LEASE_S,
            "renew_every_s": 0.5,
            "market_keep": 200,
        },
    }


def rampart(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    code = "from rampart.cli.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200", "RAMPART_MASTER_KEY": MASTER_KEY},
    )


def wait_for(what: str, done: Callable[[], bool], detail: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} {detail()}")
        time.sleep(0.2)  # polling other processes' state, not waiting on an event of ours


def owners(db: sa.Engine) -> dict[int, str]:
    now = int(time.time() * 1000)
    return {s: h.owner for s, h in lease_table(db).items() if h.live(now)}


def exchange(url: str) -> Any:
    with urllib.request.urlopen(f"{url}/sim/state", timeout=10) as answer:
        return json.load(answer)


async def kill_and_flatten(db: sa.Engine, nats_url: str) -> FanOut:
    nc = await connect(nats_url, "test-operator")
    try:
        sender = CommandSender(nc, await command_stream(nc), WallClock())
        fleet = Fleet(db, sender, WallClock(), shards=SHARDS, ack_timeout_s=30.0)
        return await fleet.kill("test", "end of the test", flatten=True)
    finally:
        await nc.close()


def not_flat(state: Any) -> dict[str, Any]:
    """Accounts that hold more than dust or have an order resting on the exchange."""
    found = {}
    for name, a in state["accounts"].items():
        btc = a["balances"].get("BTC", {"free": "0", "locked": "0"})
        if a["open_orders"] or Decimal(btc["free"]) >= DUST or Decimal(btc["locked"]) > 0:
            found[name] = (btc, [(o["type"], o["side"]) for o in a["open_orders"]])
    return found


def fills_by_account(db: sa.Engine) -> Counter[str]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(m.fills.c.account_id)).scalars()
        return Counter(rows)


def unbooked(db: sa.Engine, state: Any, sim_ids: list[str]) -> dict[str, tuple[int, int]]:
    """Accounts whose fills in the store differ from the exchange's trades (store, exchange)."""
    booked = fills_by_account(db)
    found = {}
    for i, sim_id in enumerate(sim_ids):
        account_id = f"acct-{i:02d}"
        trades = state["accounts"][sim_id]["trades"]
        if booked[account_id] != trades:
            found[account_id] = (booked[account_id], trades)
    return found


def unprotected(db: sa.Engine) -> int:
    """Candles after which an open position had no live stop-loss (the engine's own check)."""
    c = m.account_events.c
    with db.connect() as conn:
        query = sa.select(sa.func.count()).where(c.kind == "invariant", c.new == "stop_loss")
        return int(conn.execute(query).scalar_one())


def positions(db: sa.Engine) -> dict[str, Decimal]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(m.positions.c.account_id, m.positions.c.qty)).all()
    return {a: Decimal(str(q)) for a, q in rows if Decimal(str(q)) != 0}


@pytest.mark.slow
def test_workers_on_the_simulator_survive_a_kill_and_a_freeze(
    tmp_path: Path, pg_url: str, nats: NatsServer
) -> None:
    simulator = [
        "simulator",
        "--port",
        "0",
        "--timeframe",
        "1s",
        "--accounts",
        str(ACCOUNTS),
        "--balance",
        "10000USDT",
        # Twelve accounts polling every one-second candle from one address: more than Binance's
        # default 6,000 a minute allows (the shared request budget would hold polls back).
        "--request-limit",
        "60000",
    ]
    with served(simulator, max_lines=ACCOUNTS + 10) as sim:
        config = tmp_path / "scale.yaml"
        config.write_text(yaml.safe_dump(settings_for(sim.url, sim.startup, pg_url, nats.url)))
        sim_ids = re.findall(r"account (\S+): api key", "".join(sim.startup))
        procs: dict[str, subprocess.Popen[str]] = {}
        db = open_database(pg_url)
        try:
            procs["feed"] = rampart(["feed", "--config", str(config)], tmp_path)
            for name in ("w1", "w2", "w3"):
                procs[name] = rampart(["worker", "--config", str(config), "--name", name], tmp_path)
            wait_for(
                "every shard held by the three",
                lambda: (
                    set(owners(db).values()) == {"w1", "w2", "w3"} and len(owners(db)) == SHARDS
                ),
            )
            wait_for("trading", lambda: exchange(sim.url)["fills"] >= 10)

            # SIGKILL: w1's shards go to w2 and w3 once its leases run out.
            held_by_w1 = [s for s, o in owners(db).items() if o == "w1"]
            procs["w1"].kill()
            procs["w1"].wait()
            wait_for(
                "w1's shards taken over",
                lambda: all(owners(db).get(s) in ("w2", "w3") for s in held_by_w1),
            )
            before = exchange(sim.url)["fills"]
            wait_for("trading after the takeover", lambda: exchange(sim.url)["fills"] > before + 5)

            # SIGSTOP past the lease: w2's shards go to w3; thawed, w2 is refused, not obeyed.
            procs["w2"].send_signal(signal.SIGSTOP)
            wait_for(
                "w2's shards taken over",
                lambda: set(owners(db).values()) == {"w3"} and len(owners(db)) == SHARDS,
            )
            procs["w2"].send_signal(signal.SIGCONT)
            before = exchange(sim.url)["fills"]
            wait_for("trading after the thaw", lambda: exchange(sim.url)["fills"] > before + 5)

            # The kill switch, flattening, through the command stream: every owning worker
            # applies it, and then nothing rests or is held on the exchange.
            fan_out = asyncio.run(kill_and_flatten(db, nats.url))
            assert fan_out.complete, fan_out.sentence()
            assert fan_out.answers and set(fan_out.answers) <= {"w2", "w3"}
            wait_for(
                "every account flat, nothing resting",
                lambda: not not_flat(exchange(sim.url)),
                lambda: str(not_flat(exchange(sim.url))),
            )
            # The workers still running book what the exchange did (polls, checkpoints).
            wait_for(
                "the books to catch up with the exchange",
                lambda: not unbooked(db, exchange(sim.url), sim_ids),
                lambda: str(unbooked(db, exchange(sim.url), sim_ids)),
            )
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                    proc.send_signal(signal.SIGTERM)
            outputs = {name: proc.communicate(timeout=60)[0] for name, proc in procs.items()}
            for name, out in outputs.items():
                print(f"--- {name}\n{out[-4000:]}")
        state = exchange(sim.url)
    try:
        for name in ("w2", "w3", "feed"):
            assert procs[name].returncode == 0, outputs[name][-3000:]
        booked = fills_by_account(db)
        held = positions(db)
        for i in range(ACCOUNTS):
            account_id = f"acct-{i:02d}"
            on_exchange = state["accounts"][sim_ids[i]]
            # Every fill the exchange made for the account is booked, and booked once; what is
            # left is dust on both sides.
            assert booked[account_id] == on_exchange["trades"], account_id
            assert held.get(account_id, Decimal(0)) < DUST, account_id
        assert sum(booked.values()) >= 20
        # Every position had a live stop-loss after every candle, whoever traded it.
        assert unprotected(db) == 0
        assert {shard_of(f"acct-{i:02d}", SHARDS) for i in range(ACCOUNTS)} == set(range(SHARDS))
    finally:
        db.dispose()
