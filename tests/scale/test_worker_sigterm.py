"""A ``rampart worker`` process sent SIGTERM while the exchange fills its orders: it exits within
the stop's 10 s, and afterwards the store holds every trade the exchange made for its accounts
(by the exchange's trade id) and every coin they hold rests under a stop on the exchange.

One worker holds every shard of a few accounts trading one-second candles on ``rampart
simulator`` (PostgreSQL and a NATS server of the test's own, ``rampart feed`` publishing the
candles). Once they hold positions, the simulator answers order requests late and loses the
answer to the next one (the exchange fills it, the worker does not hear so), and the signal goes
as that order arrives: its fill lands during the stop.

The bounds on the waits fail a hang instead of blocking CI; the one bound that is the
behaviour is the stop's 10 s."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from rampart.store import models as m
from rampart.store.db import open_database
from rampart_testkit.starve import Starve
from tests.chaos.run_process import Pacer, Sim, stop_within, wait_for
from tests.scale.nats_server import NatsServer, nats_server
from tests.scale.test_worker_processes import owners, rampart
from tests.served_command import served

ACCOUNTS = 4
SHARDS = 2
SYMBOL = "BTC/USDT"
STOP_BOUND_S = 10.0
HANG_GUARD_S = 120.0
ORDER = "/api/v3/order"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


def _settings(url: str, keys: list[tuple[str, str, str]], db_url: str, nats_url: str) -> Any:
    return {
        "mode": "testnet",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": url,
            "rate_limit_ms": 5,
            "credentials": {
                f"acct-{i}": {"api_key": k, "secret": s} for i, (_a, k, s) in enumerate(keys)
            },
        },
        "feed": {"kind": "ccxt", "symbols": [SYMBOL], "timeframe": "1s", "poll_every_s": 0.25},
        "accounts": [
            {
                "id": f"acct-{i}",
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
        "scale": {"nats_url": nats_url, "shards": SHARDS, "lease_s": 6.0, "renew_every_s": 0.5},
    }


def _booked(db: sa.Engine) -> dict[str, set[str]]:
    """Per account, the exchange trade ids of its fills in the store."""
    out: dict[str, set[str]] = {}
    with db.connect() as conn:
        for account_id, fill_id in conn.execute(sa.select(m.fills.c.account_id, m.fills.c.fill_id)):
            out.setdefault(account_id, set()).add(fill_id.rpartition(":")[2])
    return out


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("starved", [False, True], ids=["free", "starved-10x"])
def test_sigterm_of_a_worker_with_fills_arriving_books_them_and_covers_every_coin(
    tmp_path: Path, pg_url: str, nats: NatsServer, starved: bool
) -> None:
    """``starved``: from the moment the order goes out until it exits, the worker gets a tenth
    of the CPU (:mod:`rampart_testkit.starve`), as at 10x oversubscription."""
    args = ["simulator", "--port", "0", "--timeframe", "1s", "--speed", "0"]
    args += ["--accounts", str(ACCOUNTS)]
    args += ["--balance", "10000USDT", "--request-limit", "60000"]
    with served(args, max_lines=ACCOUNTS + 10) as served_sim:
        keys = re.findall(r"account (\S+): api key (\S+) secret (\S+)", "".join(served_sim.startup))
        assert len(keys) == ACCOUNTS, served_sim.startup
        sim = Sim(served_sim.proc, served_sim.url, keys[0][1], keys[0][2], (SYMBOL,))
        sim.pacer = Pacer(sim.url)
        config = tmp_path / "scale.yaml"
        config.write_text(yaml.safe_dump(_settings(sim.url, keys, pg_url, nats.url)))
        db = open_database(pg_url)
        procs: dict[str, subprocess.Popen[str]] = {}
        try:
            procs["feed"] = rampart(["feed", "--config", str(config)], tmp_path)
            worker = procs["w1"] = rampart(
                ["worker", "--config", str(config), "--name", "w1"], tmp_path
            )
            wait_for(
                lambda: len(owners(db)) == SHARDS, HANG_GUARD_S, "the worker holds every shard"
            )
            wait_for(
                lambda: any(sim.bare(a) or _holds(sim, a) for a, _k, _s in keys),
                HANG_GUARD_S,
                "a position held",
            )
            with contextlib.ExitStack() as load:
                if starved:
                    load.enter_context(Starve(worker.pid))
                sent = sim.state()["requests"].get(ORDER, 0)
                sim.fault(kind="latency", latency_ms=400, paths=[ORDER], methods=["POST"])
                sim.fault(kind="lost_response", count=1, paths=[ORDER], methods=["POST"])
                wait_for(
                    lambda: sim.state()["requests"].get(ORDER, 0) > sent,
                    HANG_GUARD_S,
                    "an order on its way to the exchange",
                )
                took = stop_within(worker, STOP_BOUND_S)
            sim.freeze()  # nothing fills after the exit: the exchange is read as it was then
            assert sim.state()["faults_fired"].get("lost_response") == 1
            traded = {a: sim.trade_ids(k, s) for a, k, s in keys}
            bare = {a: sim.bare(a) for a, _k, _s in keys}
        finally:
            sim.freeze()
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            outputs = {name: proc.communicate(timeout=60)[0] for name, proc in procs.items()}
            (tmp_path / "w1.out").write_text(outputs["w1"])
        try:
            assert worker.returncode == 0, outputs["w1"][-3000:]
            booked = _booked(db)
            for i, (sim_id, _k, _s) in enumerate(keys):
                assert booked.get(f"acct-{i}", set()) == traded[sim_id], (sim_id, outputs["w1"])
                if bare[sim_id]:
                    # The other way a clean stop may end: the shard handed over with the cover
                    # written as its next holder's first duty (a pass that ran out of time on
                    # a loaded machine), said in words naming the account and the symbol; or,
                    # when the pass did not finish reading the exchange (coins bought by a fill
                    # it never read are coins it cannot name), saying that it did not.
                    said = outputs["w1"]
                    assert "Stopping with work left" in said, (sim_id, said[-3000:])
                    unfinished = "did not finish" in said or "did not run to its end" in said
                    named = f"acct-{i} {SYMBOL}" in said
                    assert named or unfinished, (sim_id, bare[sim_id], said[-3000:])
            assert sum(map(len, traded.values())) > 0
        finally:
            db.dispose()
    trades = sum(map(len, traded.values()))
    print(f"worker exit {took:.2f} s after SIGTERM (starved: {starved}); {trades} trades booked")


def _holds(sim: Sim, account_id: str) -> bool:
    """The account holds coins under a stop on the exchange (a position, protected)."""
    account = sim.state()["accounts"][account_id]
    return any(o["type"] in ("stop_market", "stop_limit") for o in account["open_orders"])
