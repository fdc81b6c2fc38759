"""The exchange of the wall-clock run: ``rampart simulator`` as a process of its own on
127.0.0.1, its market on the wall clock, and its admin API (``/sim/``) over HTTP, which is
how the run switches faults on and off and learns which candles it spoiled.

The trading itself never uses the admin API: the engine and the run's judge speak Binance's
API to it through ccxt, over HTTP and websocket, as they would to the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from rampart.config import Settings, load_settings
from rampart.domain.errors import ConfigError
from rampart_testkit.simulator.bad_candles import Corrupted

READY = "Ctrl-C stops"
"""The simulator's last start-up line says so."""
START_S = 60.0
"""The longest the simulator may take to start (it builds its market's history first)."""
STOP_S = 15.0
STOPPED_SIM_S = 1.0
"""How long the simulator has to stop by itself after a run told to stop (then it is killed)."""
ADMIN_TIMEOUT_S = 10.0
_KEYS = re.compile(r"account (\S+): api key (\S+) secret (\S+)")
_URL = re.compile(r"http://127\.0\.0\.1:\d+")


@dataclass
class SimulatorProcess:
    """``rampart simulator`` started with ``accounts`` funded accounts; what it prints after
    start-up goes to ``log``."""

    log: Path
    accounts: int
    timeframe: str
    seed: int
    balances: tuple[str, ...] = ("10000USDT",)
    keep: int = 200_000
    """Finished orders and trades it remembers per account: the whole run's, read back at the
    end."""
    url: str = ""
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Account id on the simulator -> (API key, secret)."""
    proc: asyncio.subprocess.Process | None = None
    _drain: asyncio.Task[None] | None = None

    def command(self) -> list[str]:
        args = [
            "simulator",
            "--port",
            "0",
            "--timeframe",
            self.timeframe,
            "--accounts",
            str(self.accounts),
            "--seed",
            str(self.seed),
            "--keep",
            str(self.keep),
        ]
        for balance in self.balances:
            args += ["--balance", balance]
        return [sys.executable, "-c", "from rampart.cli.main import main; main()", *args]

    async def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            *self.command(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        lines: list[str] = []
        try:
            async with asyncio.timeout(START_S):
                while not lines or READY not in lines[-1]:
                    raw = await self.proc.stdout.readline()  # type: ignore[union-attr]
                    if not raw:
                        break
                    lines.append(raw.decode(errors="replace"))
        except TimeoutError:
            pass
        text = "".join(lines)
        url = _URL.search(text)
        self.keys = {a: (k, s) for a, k, s in _KEYS.findall(text)}
        if url is None or len(self.keys) != self.accounts:
            await self.stop()
            raise ConfigError(
                "The exchange simulator did not start (it printed: "
                f"{text.strip()[-300:] or 'nothing'})."
            )
        self.url = url.group(0)
        self.log.write_text(text, encoding="utf-8")
        self._drain = asyncio.create_task(self._keep_reading())

    async def _keep_reading(self) -> None:
        """What it says after start-up, to its log (a full pipe would stop it)."""
        stdout = None if self.proc is None else self.proc.stdout
        if stdout is None:
            return
        with self.log.open("a", encoding="utf-8") as out:
            while raw := await stdout.readline():
                out.write(raw.decode(errors="replace"))
                out.flush()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, within_s: float | None = None) -> None:
        """SIGINT, then SIGKILL if it has not exited within ``within_s`` (default
        :data:`STOP_S`)."""
        within_s = STOP_S if within_s is None else within_s
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), within_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._drain, within_s)


class SimAdmin:
    """The simulator's admin API: faults on and off, websockets dropped, spoiled rows taken."""

    def __init__(self, url: str) -> None:
        self.url = f"{url}/sim"
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=ADMIN_TIMEOUT_S)
            )
        return self._session

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._http().request(method, f"{self.url}{path}", json=body) as answer:
            data = await answer.json(content_type=None)
            if answer.status != 200:
                raise ConfigError(f"The simulator refused {method} {path}: {data}.")
            return data

    async def add_fault(self, kind: str, params: dict[str, Any]) -> None:
        await self._call("POST", "/faults", {"kind": kind, **params})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def drop_websockets(self) -> int:
        return int((await self._call("POST", "/ws/drop"))["closed"])

    async def corrupted(self) -> list[Corrupted]:
        rows = await self._call("GET", "/faults/corrupted")
        return [Corrupted(r["variant"], r["symbol"], int(r["ts"]), float(r["close"])) for r in rows]

    async def fired(self) -> dict[str, int]:
        return dict((await self._call("GET", "/faults"))["fired"])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def wall_settings(
    sim: SimulatorProcess,
    symbols: tuple[str, ...],
    timeframe: str,
    *,
    timeout_s: float,
    store: Path,
) -> Settings:
    """What ``rampart run`` would be given to trade on the simulator as on an exchange's
    testnet: its URL and keys, candles by websocket (REST behind it), orders and fills by
    websocket, the simulator's own request pace."""
    from rampart.domain.candles import timeframe_ms

    tf_s = timeframe_ms(timeframe) / 1000
    return load_settings(
        None,
        **{
            "mode": "testnet",
            "venue": {
                "kind": "ccxt",
                "exchange": "binance",
                "api_url": sim.url,
                "rate_limit_ms": 5,  # the simulator takes requests faster than Binance's weights
                "request_timeout_s": timeout_s,
                "use_order_stream": True,
                "credentials": {a: {"api_key": k, "secret": s} for a, (k, s) in sim.keys.items()},
            },
            "feed": {
                "kind": "ccxt",
                "symbols": list(symbols),
                "timeframe": timeframe,
                "use_websocket": True,
                "poll_every_s": max(0.25, tf_s / 4),
                "stale_after_s": max(5.0, tf_s * 5),
            },
            "store": {"url": f"sqlite:///{store}"},
        },
    )


__all__ = ["SimAdmin", "SimulatorProcess", "wall_settings"]
