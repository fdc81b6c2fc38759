"""What the fleet chaos run starts besides Rampart's own processes: a PostgreSQL of
its own (the machine's is shared, so stopping it is not ours to do), a CPU load generator, and
the exchange simulator on the wall clock in a thread of its own (its order log read directly at
the end).

PostgreSQL is ``initdb`` + ``pg_ctl`` in a temporary folder, from the binaries under
``/usr/lib/postgresql/*/bin``, on a free loopback port; run as root, the server runs as the
``postgres`` user (PostgreSQL refuses root). Without the binaries the run says so in one
sentence (:class:`ChaosUnavailable`) rather than stopping a server other people use."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import RampartError
from rampart_testkit.nats import free_port
from rampart_testkit.simulator.runner import SimulatorHandle, build_exchange, serve, wall_start_ms
from rampart_testkit.simulator.tape import DEFAULT_HISTORY

T = TypeVar("T")
PG_START_S = 60
"""``pg_ctl -t``: only so that a broken server fails the run instead of hanging it."""


class ChaosUnavailable(RampartError):
    """Something the chaos run needs is not on this machine (said in one sentence)."""


def pg_binaries() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` and ``pg_ctl``."""
    found = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise ChaosUnavailable(
            "The fleet chaos run starts a PostgreSQL of its own and found no initdb under "
            "/usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)."
        )
    return found[-1]


class OwnPostgres:
    """A throw-away PostgreSQL server: trust authentication on 127.0.0.1, no fsync (its data
    is thrown away), stopped and started by the fault schedule."""

    def __init__(self) -> None:
        self.bin = pg_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="rampart-chaos-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL will not run as root: the folder and the server are postgres's.
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise ChaosUnavailable(
                    "Run as root, the chaos run needs a postgres user to run its PostgreSQL as."
                ) from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own binaries, fixed arguments
            [*self.as_user, *args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ChaosUnavailable(
                f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-400:]}"
            )

    def init(self) -> None:
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        pg_ctl = str(self.bin / "pg_ctl")
        log_file = str(self.root / "server.log")
        self._run(
            pg_ctl, "-D", str(self.data), "-l", log_file, "-o", options, "-w",
            "-t", str(PG_START_S), "start",
        )  # fmt: skip
        self.running = True

    def stop(self) -> None:
        """``-m fast``: every connection cut at once, as a crashed or restarted server does."""
        pg_ctl = str(self.bin / "pg_ctl")
        self._run(pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(ChaosUnavailable):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


SPIN = "import sys, time\nend = float(sys.argv[1])\nwhile time.time() < end:\n    pass\n"
"""A busy loop, bounded by a wall-clock deadline so that an orphan cannot outlive the run."""


class CpuLoad:
    """``factor`` × the machine's cores of busy-loop processes: the CPU oversubscribed. Plain
    ``python -c`` processes: a multiprocessing child would import the caller's main module
    again (a script without a main guard would start a second run)."""

    def __init__(self, factor: int = 2, limit_s: float = 3600.0) -> None:
        self.count = factor * (os.cpu_count() or 1)
        self.limit_s = limit_s
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def on(self) -> bool:
        return bool(self.procs)

    def start(self) -> None:
        end = str(time.time() + self.limit_s)
        for _ in range(self.count):
            self.procs.append(
                subprocess.Popen([sys.executable, "-c", SPIN, end])  # noqa: S603 - fixed code
            )

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(10)
        self.procs = []


class SimThread:
    """The exchange simulator served from a thread of its own, on the wall clock (a candle as
    each closes, as ``rampart simulator`` does), so that the harness's own work never delays
    the exchange. Calls into it run on its loop (:meth:`call`)."""

    def __init__(
        self, accounts: int, timeframe: str, balance: Decimal, request_limit: int | None
    ) -> None:
        self.accounts = accounts
        self.timeframe = timeframe
        self.balance = balance
        self.request_limit = request_limit
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.handle: SimulatorHandle | None = None
        self.keys: list[tuple[str, str, str]] = []
        """(simulator account id, api key, secret) per account."""
        self.failed: BaseException | None = None
        self.frozen = False
        """Market time stopped: nothing fills any more while the books are compared."""
        self.thread = threading.Thread(target=self._main, name="chaos-simulator", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(60) or self.handle is None:
            raise ChaosUnavailable(f"The exchange simulator did not start: {self.failed!r}")

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by start() or stop()
            self.failed = exc
            self.ready.set()

    async def _serve(self) -> None:
        self.stopping = asyncio.Event()
        tf = timeframe_ms(self.timeframe)
        now = time.time_ns() // 1_000_000
        start_ms = wall_start_ms(tf, DEFAULT_HISTORY, now)
        exchange = build_exchange(symbols=["BTC/USDT"], timeframe=self.timeframe, start_ms=start_ms)
        exchange.advance_until(now)
        async with serve(exchange, request_limit=self.request_limit) as sim:
            for _ in range(self.accounts):
                acct = exchange.create_account({"USDT": self.balance})
                self.keys.append((acct.account_id, acct.key, acct.secret))
            self.handle = sim
            self.ready.set()
            while not self.stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=0.1)
                if not self.frozen:
                    exchange.advance_until(time.time_ns() // 1_000_000)

    @property
    def url(self) -> str:
        return self.sim.url

    @property
    def sim(self) -> SimulatorHandle:
        if self.handle is None:
            raise ChaosUnavailable("The exchange simulator is not running.")
        return self.handle

    def call(self, work: Callable[[], Coroutine[Any, Any, T]], timeout_s: float = 60) -> T:
        """``work()`` run on the simulator's loop (its state read between two requests)."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(work(), self.loop)
        return future.result(timeout_s)

    def stop(self) -> None:
        if self.stopping is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)


__all__ = ["ChaosUnavailable", "CpuLoad", "OwnPostgres", "SimThread", "pg_binaries"]
