"""Running the simulator inside the current event loop, on 127.0.0.1.

async with start_simulator(symbols=["BTC/USDT"]) as sim:
    key, secret = sim.create_account({"USDT": "10000"})
    client = ccxt_client(sim.url, key, secret)
    ...
    await sim.advance(5)          # five candles of market time
    sim.faults.add("drop", count=1)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from rampart.domain.instruments import Instrument
from rampart.venues.charging import BINANCE, Charging
from rampart.venues.matching import DEFAULT_PARTICIPATION
from rampart.venues.pricing import FeeSchedule, SlippageModel
from rampart_testkit.simulator.exchange import DEFAULT_HISTORY, SimExchange
from rampart_testkit.simulator.faults import FaultSet
from rampart_testkit.simulator.routes_keys import KeyRights
from rampart_testkit.simulator.server import SimContext, make_app
from rampart_testkit.simulator.tape import MarketTape

HOST = "127.0.0.1"


@dataclass
class SimulatorHandle:
    url: str
    """Base URL, e.g. http://127.0.0.1:54321 (Binance paths below it, admin under /sim/)."""
    port: int
    context: SimContext

    @property
    def exchange(self) -> SimExchange:
        return self.context.exchange

    @property
    def faults(self) -> FaultSet:
        return self.context.faults

    async def advance(self, candles: int = 1) -> int:
        """Move market time on by ``candles`` steps; returns how many there were data for."""
        return self.exchange.advance(candles)

    async def idle(self) -> None:
        """Wait until the simulator has finished every request it received."""
        await self.context.idle()

    def create_account(
        self,
        balances: Mapping[str, Decimal | str | int | float],
        account_id: str | None = None,
        bnb_fees: bool = False,
        *,
        withdrawals: bool = False,
        ip_restrict: bool = True,
    ) -> tuple[str, str]:
        """A new account's key and secret; ``withdrawals``/``ip_restrict``: what its key's
        restrictions say (``GET /sapi/v1/account/apiRestrictions``)."""
        ex = self.exchange
        rights = KeyRights(withdrawals, ip_restrict, ex.now_ms)
        acct = ex.create_account(balances, account_id=account_id, bnb_fees=bnb_fees, rights=rights)
        return acct.key, acct.secret

    def state(self) -> dict[str, Any]:
        return self.exchange.state()


def build_exchange(
    *,
    symbols: Sequence[str] = ("BTC/USDT",),
    data: Sequence[Path | str] | None = None,
    seed: int = 7,
    timeframe: str = "1m",
    start_ms: int | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    fees: FeeSchedule | None = None,
    slippage: SlippageModel | None = None,
    participation: Decimal = DEFAULT_PARTICIPATION,
    history: int = DEFAULT_HISTORY,
    charging: Charging | None = BINANCE,
) -> SimExchange:
    """An exchange fed from candle files (``data``) or else the synthetic feed."""
    if data:
        tape = MarketTape.from_files(list(data))
    else:
        tape = MarketTape.synthetic(
            list(symbols), seed=seed, timeframe=timeframe, start_ms=start_ms
        )
    return SimExchange(tape, instruments, fees, slippage, participation, history, charging)


def wall_start_ms(timeframe_ms: int, candles: int, now_ms: int) -> int:
    """Open time of the first candle of a market on the wall clock: ``candles`` candles have
    closed by ``now_ms``, so a client that warms up on the last candles before its own now
    (``rampart run`` asks for ``engine.history`` of them) finds them all."""
    return (now_ms // timeframe_ms - candles) * timeframe_ms


@asynccontextmanager
async def serve(
    exchange: SimExchange,
    *,
    port: int = 0,
    fault_seed: int | None = 0,
    request_limit: int | None = None,
    clock_ms: Callable[[], int] | None = None,
) -> AsyncIterator[SimulatorHandle]:
    context = SimContext(
        exchange, FaultSet(seed=fault_seed), request_limit=request_limit, clock_ms=clock_ms
    )
    runner = web.AppRunner(make_app(context), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)
    await site.start()
    try:
        bound = _bound_port(runner)
        yield SimulatorHandle(f"http://{HOST}:{bound}", bound, context)
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the simulator's socket has no TCP address")


@asynccontextmanager
async def start_simulator(
    *,
    symbols: Sequence[str] = ("BTC/USDT",),
    data: Sequence[Path | str] | None = None,
    seed: int = 7,
    timeframe: str = "1m",
    start_ms: int | None = None,
    instruments: Mapping[str, Instrument] | None = None,
    fees: FeeSchedule | None = None,
    slippage: SlippageModel | None = None,
    participation: Decimal = DEFAULT_PARTICIPATION,
    history: int = DEFAULT_HISTORY,
    charging: Charging | None = BINANCE,
    port: int = 0,
    fault_seed: int | None = 0,
    request_limit: int | None = None,
    accounts: Sequence[Mapping[str, Any]] = (),
    clock_ms: Callable[[], int] | None = None,
) -> AsyncIterator[SimulatorHandle]:
    """Serve a fresh simulated exchange on 127.0.0.1 (port 0: any free port) until exit.

    ``accounts`` are opened first, each a mapping with ``balances`` and optionally ``key``,
    ``withdrawals`` and ``ip_restrict`` (what its key's restrictions say),
    ``secret`` and ``account_id`` (fixed credentials for a configured run) and ``bnb_fees``.
    ``charging``: how commissions are taken; Binance's way by default (None: every fee in the
    quote currency, as the paper venue takes them).
    ``request_limit`` caps requests per rolling minute (-1003 with HTTP 429 beyond it).
    ``clock_ms``: the real time requests' timestamps are checked on (default: the wall's); a
    test that injects it gives its clients the same one (``ccxt_client(clock_ms=…)``).
    """
    exchange = build_exchange(
        symbols=symbols,
        data=data,
        seed=seed,
        timeframe=timeframe,
        start_ms=start_ms,
        instruments=instruments,
        fees=fees,
        slippage=slippage,
        participation=participation,
        history=history,
        charging=charging,
    )
    for spec in accounts:
        exchange.create_account(
            spec["balances"],
            key=spec.get("key"),
            secret=spec.get("secret"),
            account_id=spec.get("account_id"),
            bnb_fees=bool(spec.get("bnb_fees", False)),
            rights=KeyRights(
                bool(spec.get("withdrawals", False)),
                bool(spec.get("ip_restrict", True)),
                exchange.now_ms,
            ),
        )
    async with serve(
        exchange,
        port=port,
        fault_seed=fault_seed,
        request_limit=request_limit,
        clock_ms=clock_ms,
    ) as handle:
        yield handle
