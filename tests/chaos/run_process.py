"""``rampart run`` as an operator runs it, against ``rampart simulator``, both real processes.

The simulator's market is on one-second candles (``--timeframe 1s``) so that ``rampart run``,
which takes each candle as it closes on the wall clock, trades within seconds of its start
instead of at the next minute. Everything read back comes from outside the process: the
exchange's trades through the real ccxt client, its open orders and balances from the
simulator's state, the books from the store's ``fills`` table.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from rampart_testkit.simulator import ccxt_client

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
STOP_TYPES = frozenset({"stop_market", "stop_limit"})
DUST_USDT = Decimal("5")
"""Coins worth less than this are not a position (no exchange filter lets a stop hold them)."""


def rampart(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("rampart")
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-c", "from rampart.cli.main import main; main()", *args]


def wait_for(check: Callable[[], Any], within_s: float, what: str) -> Any:
    """Polls ``check`` until it returns something truthy; fails after ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {within_s:g} s"
        time.sleep(0.05)


@dataclass
class Sim:
    proc: subprocess.Popen[str]
    url: str
    key: str
    secret: str
    symbols: tuple[str, ...] = SYMBOLS
    pacer: Pacer | None = None

    def freeze(self) -> None:
        """The market stands still from now on (see :class:`Pacer`)."""
        if self.pacer is not None:
            self.pacer.freeze()

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/sim/state", timeout=5) as resp:
            return dict(json.load(resp))

    def fault(self, **spec: Any) -> None:
        body = json.dumps(spec).encode()
        req = urllib.request.Request(f"{self.url}/sim/faults", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5):
            pass

    def trade_ids(self, key: str = "", secret: str = "") -> set[str]:
        """Every trade of the account (the first one's unless a key is given), by the
        exchange's id, read with the real ccxt client."""

        async def read() -> set[str]:
            client = ccxt_client(
                self.url, key or self.key, secret or self.secret, enableRateLimit=False
            )
            try:
                out: set[str] = set()
                for symbol in self.symbols:
                    out |= {str(t["id"]) for t in await client.fetch_my_trades(symbol, limit=1000)}
                return out
            finally:
                await client.close()

        return asyncio.run(read())

    def bare(self, account_id: str = "") -> list[str]:
        """``symbol qty``: coins held on the exchange that no resting sell stop covers (in the
        only account unless one is named)."""
        state = self.state()
        accounts = state["accounts"]
        (account,) = [accounts[account_id]] if account_id else accounts.values()
        covered: dict[str, Decimal] = {}
        for order in account["open_orders"]:
            if order["side"] == "sell" and order["type"] in STOP_TYPES:
                left = Decimal(order["qty"]) - Decimal(order["filled_qty"])
                covered[order["symbol"]] = covered.get(order["symbol"], Decimal(0)) + left
        out = []
        for asset, amounts in account["balances"].items():
            symbol = f"{asset}/USDT"
            if symbol not in state["prices"]:
                continue
            held = Decimal(amounts["free"]) + Decimal(amounts["locked"])
            uncovered = held - covered.get(symbol, Decimal(0))
            if uncovered * Decimal(state["prices"][symbol]) >= DUST_USDT:
                out.append(f"{symbol} {uncovered}")
        return out


class Pacer:
    """Moves a simulator started with ``--speed 0`` along the wall clock, a candle as each one
    closes (what it does by itself without ``--speed``), until :meth:`freeze`: from then on
    its market stands still, so nothing fills after the moment a test reads the exchange for."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._frozen = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-pacer", daemon=True)
        self._thread.start()

    def _advance(self, candles: int) -> int:
        body = json.dumps({"candles": candles}).encode()
        req = urllib.request.Request(f"{self.url}/sim/advance", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(json.load(resp)["time"])

    def _run(self) -> None:
        market_ms = self._advance(0)
        while not self._frozen.wait(0.05):  # the pace of the market, not a wait on an event
            behind = time.time_ns() // 1_000_000_000 - market_ms // 1000
            if behind > 0:
                market_ms = self._advance(behind)

    def freeze(self) -> None:
        self._frozen.set()
        self._thread.join(timeout=10)


def _lines(proc: subprocess.Popen[str]) -> Queue[str]:
    queue: Queue[str] = Queue()
    threading.Thread(
        target=lambda: [queue.put(line) for line in proc.stdout or ()], daemon=True
    ).start()
    return queue


@contextmanager
def simulator(cwd: Path, balance: str = "500USDT") -> Iterator[Sim]:
    proc = subprocess.Popen(
        rampart(
            "simulator",
            "--port",
            "0",
            "--synthetic",
            ",".join(SYMBOLS),
            "--accounts",
            "1",
            "--balance",
            balance,
            "--timeframe",
            "1s",
            "--speed",
            "0",
        ),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pacer: Pacer | None = None
    try:
        queue, seen = _lines(proc), ""
        while "Ctrl-C stops" not in seen:
            try:
                seen += queue.get(timeout=60)
            except Empty:
                raise AssertionError(f"the simulator did not start: {seen}") from None
        url = re.search(r"http://127\.0\.0\.1:\d+", seen)
        keys = re.search(r"api key (\w+) secret (\w+)", seen)
        assert url and keys, seen
        pacer = Pacer(url.group(0))
        yield Sim(proc, url.group(0), keys.group(1), keys.group(2), pacer=pacer)
    finally:
        if pacer is not None:
            pacer.freeze()
        end(proc, signal.SIGINT)


def end(proc: subprocess.Popen[Any], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sim_yaml(url: str) -> str:
    return f"""\
mode: testnet
store:
  url: sqlite:///var/sim.db
  allow_sqlite_on_exchange: true
venue:
  kind: ccxt
  exchange: binance
  api_url: {url}
  bracket_mode: oco
feed:
  kind: ccxt
  symbols: [{", ".join(SYMBOLS)}]
  timeframe: 1s
  poll_every_s: 1
accounts:
  - id: alice
    agent: mean_reversion
    profile: conservative
    capital: 500
    symbols: [{", ".join(SYMBOLS)}]
    params: {{bb_period: 2, bb_k: 0.01, oversold: 99, exit_rsi: 99.9}}
"""


def start_run(cwd: Path, sim: Sim, **env_extra: str) -> subprocess.Popen[str]:
    """``rampart run --config sim.yaml`` in ``cwd``, output in ``cwd/run.out``."""
    (cwd / "sim.yaml").write_text(sim_yaml(sim.url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    master = subprocess.run(
        rampart("secrets", "generate"), capture_output=True, text=True, check=True
    )
    env.update(
        RAMPART_VENUE__CREDENTIALS__ALICE__API_KEY=sim.key,
        RAMPART_VENUE__CREDENTIALS__ALICE__SECRET=sim.secret,
        RAMPART_MASTER_KEY=master.stdout.strip(),
        RAMPART_API__PORT="0",
        COLUMNS="200",
        **env_extra,
    )
    with (cwd / "run.out").open("w") as out:
        return subprocess.Popen(
            rampart("run", "--config", "sim.yaml"),
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def booked_trade_ids(cwd: Path) -> set[str]:
    """The exchange trade ids of the fills in the store (a fill's id is ``client_id:trade``)."""
    db = cwd / "var" / "sim.db"
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT fill_id FROM fills").fetchall()
        except sqlite3.OperationalError:  # not migrated yet
            return set()
    return {fill_id.rpartition(":")[2] for (fill_id,) in rows}


def log_events(cwd: Path, name: str) -> list[dict[str, Any]]:
    """The log's events called ``name`` (a line still being written is left out)."""
    path = cwd / "var" / "rampart.log"
    lines = path.read_text().splitlines() if path.exists() else []
    events = [json.loads(line) for line in lines if line.startswith("{") and line.endswith("}")]
    return [e for e in events if e.get("event") == name]


def stop_within(proc: subprocess.Popen[str], bound_s: float) -> float:
    """SIGTERM, then the seconds until it exited; fails (and kills it) past ``bound_s``."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=bound_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"still running {bound_s:g} s after SIGTERM") from None
    return time.monotonic() - sent


class BareSpells:
    """The longest time coins sat on the exchange without a resting stop, sampled."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.since: float | None = None
        self.longest = 0.0
        self.samples = 0

    def sample(self) -> None:
        bare, now = self.sim.bare(), time.monotonic()
        self.samples += 1
        if bare and self.since is None:
            self.since = now
        if self.since is not None:
            self.longest = max(self.longest, now - self.since)
            if not bare:
                self.since = None
