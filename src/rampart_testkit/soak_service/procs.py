"""The two processes of a service soak: ``rampart simulator`` with its market frozen until the
run moves it, and ``rampart run`` (the service as an operator starts it) on its settings file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rampart.clock import ms_to_datetime
from rampart.market.synthetic import DEFAULT_START_MS
from rampart_testkit.soak.wall_sim import SimulatorProcess
from rampart_testkit.soak_service.clock_shim import ENV

START = ms_to_datetime(DEFAULT_START_MS).strftime("%Y-%m-%dT%H:%M")
"""The simulator's market starts where the service's synthetic feed starts (the same seed makes
the same candles), so both trade the same prices at the same business time."""
STOP_WAIT_S = 5.0
CHECKPOINT_EVERY = 5
"""Candles between the service's checkpoints."""
CHURN = "rampart_testkit.soak.agent:ChurnAgent"
"""The soak's busy agent (enters every few candles, exits after a few): many orders to
reconcile. Named as a custom agent, as an operator would name their own."""


@dataclass
class FrozenSimulator(SimulatorProcess):
    """The simulator whose market moves only when the run advances it (``POST /sim/advance``),
    kept on the service's business time."""

    def command(self) -> list[str]:
        return [*super().command(), "--start", START, "--speed", "0"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


RUN_ADDRESS = "127.0.0.2"
"""The loopback address the run itself reads the simulator from. The exchange counts request
weight per address, and the service's request budget takes the exchange's count over its own,
charging what it did not send to its spare pool and then its entry lane: the run's reads of
every account's trades, counted on the service's address, held the service's entries back."""


def run_address() -> str | None:
    """:data:`RUN_ADDRESS` where the host routes it (Linux routes all of 127/8), else None: the
    run then reads from the service's own address."""
    with socket.socket() as s:
        try:
            s.bind((RUN_ADDRESS, 0))
        except OSError:
            return None
    return RUN_ADDRESS


def service_settings(
    sim: SimulatorProcess,
    out: Path,
    *,
    symbols: tuple[str, ...],
    timeframe: str,
    seed: int,
    speed: float,
    api_port: int,
    backup_every_h: float,
) -> tuple[dict[str, Any], str]:
    """The settings ``rampart run`` is given (paper mode, orders to the simulator, the synthetic
    feed on the candles' time at ``speed``) and the backup key (hex)."""
    key = secrets.token_hex(32)
    accounts = sorted(sim.keys)
    settings: dict[str, Any] = {
        "mode": "paper",
        "log_level": "warning",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": sim.url,
            "rate_limit_ms": 5,
            "request_timeout_s": 10.0,
            "use_order_stream": True,
            # The orders' stream carries the fills; a REST poll each second behind it keeps
            # the exchange busy enough that a fault of a few wall seconds meets requests.
            "order_stream_poll_s": 1,
            # One retry: a failed call reaches the error count (and its alert) within the few
            # wall seconds a compressed day gives a fault, not after four backoffs.
            "retries": 1,
            "credentials": {a: {"api_key": k, "secret": s} for a, (k, s) in sim.keys.items()},
        },
        "feed": {
            "kind": "synthetic",
            "symbols": list(symbols),
            "timeframe": timeframe,
            "seed": seed,
            "speed": speed,
        },
        # A paper run on a simulated feed resumes from its last checkpoint, on that candle's
        # time (an exchange feed resumes on the wall clock): checkpoints every few candles keep
        # what a SIGKILL loses to those few, as an operator of a simulated feed would set.
        "store": {"url": f"sqlite:///{out / 'service.db'}", "checkpoint_every": CHECKPOINT_EVERY},
        "api": {"enabled": True, "host": "127.0.0.1", "port": api_port},
        "alerts": {"enabled": True, "evaluate_every_s": 0.5},
        "ops": {"heartbeat_every_s": 0.5},
        "backup": {"dir": str(out / "backups"), "every_hours": backup_every_h, "key": key},
        "accounts": [
            {
                "id": a,
                "agent": CHURN,
                "params": {"every": 5, "hold": 12},
                "profile": "aggressive",
                "capital": 10000,
                "symbols": [symbols[i % len(symbols)]],
            }
            for i, a in enumerate(accounts)
        ],
    }
    return settings, key


def clock_file(out: Path) -> Path:
    """Where the run writes the service's host-clock offset (ms) for a clock step."""
    return out / "clock-offset-ms"


def write_settings(path: Path, settings: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)  # it holds the simulator's keys and the backup key


async def start_service(
    settings_file: Path, log: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``rampart run`` on ``settings_file``, its output appended to ``log``; it runs in the
    settings file's folder, so its own log (``var/rampart.log``) is the run's too, and reads
    the host clock through :mod:`.clock_shim` (stepped only when the run writes an offset).
    ``env``: settings passed as an operator passes secrets (the bot's token)."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from rampart_testkit.soak_service.clock_shim import run; run()",
            "run",
            "--config",
            str(settings_file),
            "--no-view",
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=settings_file.parent,
            env={**os.environ, **(env or {}), ENV: str(clock_file(settings_file.parent))},
        )


async def kill(proc: asyncio.subprocess.Process) -> int:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    return await proc.wait()


async def stop(proc: asyncio.subprocess.Process, wait_s: float = STOP_WAIT_S) -> int | None:
    """SIGTERM, as an operator stops it; SIGKILL after ``wait_s``. Its exit code, None when it
    had to be killed."""
    if proc.returncode is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), wait_s)
    except TimeoutError:
        await kill(proc)
        return None


async def stop_simulator(sim: FrozenSimulator) -> None:
    """SIGINT, SIGKILL after 2 s."""
    proc = sim.proc
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.wait(), 2.0)
    except TimeoutError:
        await kill(proc)


__all__ = [
    "FrozenSimulator",
    "clock_file",
    "free_port",
    "kill",
    "run_address",
    "service_settings",
    "start_service",
    "stop",
    "stop_simulator",
    "write_settings",
]
