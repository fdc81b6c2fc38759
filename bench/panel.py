"""The operator panel while the engine trades 1,000 accounts: page load times and how long a
change takes to reach an open page over its live stream.

One process is the service, as in bench/api.py: a TradingSession with 1,000 accounts on a
synthetic feed paced like ``rampart run`` (``feed.speed``), each candle processed under the
operator lock, the API and the panel served by uvicorn on the same event loop. A second process
is the operator: signed in with an admin token through the sign-in form (the session cookie),
it loads each panel page in turn (closed loop, one at a time, as a person clicking) and keeps
``/panel/live`` open.

Page load: the whole HTML of the page over HTTP (server-side rendering included; the browser's
own layout is not). Live delay: from the moment the candle that changed the figures finished
processing to the moment the event carrying them (``as_of`` names that candle) arrived at the
operator; both ends read CLOCK_MONOTONIC (``time.perf_counter``), shared by the two processes.
Prints p50/p99; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _service import SYMBOLS, open_service
from _util import percentile, quiet_logs

WATCHED = "acct-0007"
PAGES = [
    "/panel",
    "/panel/accounts",
    f"/panel/accounts/{WATCHED}",
    "/panel/trading",
    "/panel/launch",
    "/panel/reports",
    "/panel/operations",
]


# -- the operator (its own process) --------------------------------------------------------------


def operator(url: str, token: str, seconds: float, out: Any) -> None:
    import httpx

    results: dict[str, Any] = {page: [] for page in PAGES}
    results["live"] = []
    results["missing"] = []
    stop = threading.Event()
    with httpx.Client(base_url=url, timeout=30) as client:
        signed = client.post("/panel/login", data={"token": token})
        if signed.status_code != 303 or "rampart_panel" not in client.cookies:
            out.send({"error": f"sign-in answered {signed.status_code}"})
            return
        cookies = dict(client.cookies)

        def listen() -> None:
            # No read timeout: a quiet stream is not a failure; the process ends it at the end.
            timeout = httpx.Timeout(30, read=None)
            try:
                with (
                    httpx.Client(base_url=url, timeout=timeout, cookies=cookies) as sse,
                    sse.stream("GET", "/panel/live") as stream,
                ):
                    for line in stream.iter_lines():
                        if stop.is_set():
                            return
                        if line.startswith("data:"):
                            data = json.loads(line[5:])
                            results["live"].append((data.get("as_of"), time.perf_counter()))
            except httpx.HTTPError as exc:
                results["stream_error"] = f"{type(exc).__name__}: {exc}"

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        pages = list(PAGES)
        for page in list(pages):  # pages this build does not have yet are left out
            if client.get(page).status_code != 200:
                pages.remove(page)
                results["missing"].append(page)
        begin = time.perf_counter()
        for page in itertools.cycle(pages):
            if time.perf_counter() - begin >= seconds:
                break
            started = time.perf_counter()
            got = client.get(page)
            got.read()
            if got.status_code == 200:
                results[page].append((time.perf_counter() - started) * 1000)
        stop.set()
    out.send(results)
    out.close()


# -- the service (this process) -----------------------------------------------------------------


async def serve_and_measure(args: argparse.Namespace, work: Path) -> None:
    from rampart.api.app import create_app
    from rampart.api.server import ApiServer
    from rampart.domain.candles import timeframe_ms
    from rampart.market.synthetic import SyntheticFeed
    from rampart.security.tokens import create_token

    svc = await open_service(args.accounts, args.speed, work)
    clock, ops, session, ctx = svc.clock, svc.ops, svc.session, svc.ctx
    candles = SyntheticFeed(SYMBOLS, seed=7, timeframe="1m").iter_candles()
    processed: dict[int, float] = {}
    """Business time of each candle -> perf_counter when its processing ended."""

    moved: dict[int, bool] = {}
    """Business time of each candle -> whether it published engine events (orders, fills)."""

    async def step(n: int) -> None:
        for candle in itertools.islice(candles, n):
            clock.set(candle.close_ts)
            published = session.bus.published
            async with ctx.lock:
                await session.process(candle)
            processed[candle.close_ts] = time.perf_counter()
            changed = session.bus.published != published
            moved[candle.close_ts] = moved.get(candle.close_ts, False) or changed
            await asyncio.sleep(0)  # let requests in between candles, as the service loop does

    print(f"warming up {args.accounts:,} accounts ({args.warm} candles) …", flush=True)
    await step(args.warm)
    server = ApiServer(create_app(ctx), "127.0.0.1", 0)
    stop = asyncio.Event()
    serving = asyncio.create_task(server.serve(stop))
    await server.started.wait()
    token = create_token(session.db, "admin", None, "bench", ops.now_ms())
    interval_s = timeframe_ms("1m") / 1000 / args.speed

    async def trade_for(seconds: float) -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        ticks = 0
        while loop.time() - begin < seconds:
            await step(len(SYMBOLS))
            ticks += 1
            await asyncio.sleep(max(begin + ticks * interval_s - loop.time(), 0))

    trades_before = sum(a.ledger.trades_closed for a in session.engine.accounts.values())
    receive, send = mp.get_context("spawn").Pipe(duplex=False)
    person = mp.get_context("spawn").Process(
        target=operator, args=(server.url, token, args.seconds, send), daemon=True
    )
    print(f"the operator browses the panel for {args.seconds:g} s while it trades …", flush=True)
    person.start()
    engine = asyncio.create_task(trade_for(args.seconds + 3))
    results = await asyncio.to_thread(receive.recv)
    await engine
    person.join(timeout=10)
    trades = sum(a.ledger.trades_closed for a in session.engine.accounts.values()) - trades_before
    stop.set()
    await serving
    session.close()

    if "error" in results:
        print(f"the operator could not sign in: {results['error']}")
        return
    print()
    print(
        f"{args.accounts:,} accounts, {len(SYMBOLS)} symbols, a candle every "
        f"{interval_s * 1000:.0f} ms per symbol; {trades:,} trades closed while measuring"
    )
    print(f"{'page load (HTML over HTTP)':<36} {'loads':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for page in PAGES:
        times = results[page]
        if times:
            print(
                f"{page:<36} {len(times):>7} {percentile(times, 50):>8.1f} "
                f"{percentile(times, 99):>8.1f}"
            )
    if "stream_error" in results:
        print(f"the live stream failed: {results['stream_error']}")
    if results["missing"]:
        print(f"not in this build (left out): {', '.join(results['missing'])}")
    # For each candle processed while the page was open: from the end of its processing to
    # the first event that left after it and carries figures as of it (or later).
    events = sorted(results["live"], key=lambda e: e[1])
    delays: dict[bool, list[float]] = {True: [], False: []}
    for ts, done in processed.items():
        if not events or done < events[0][1] or done > events[-1][1]:
            continue
        first = next((got for as_of, got in events if got >= done and as_of >= ts), None)
        if first is not None:
            delays[moved[ts]].append((first - done) * 1000)
    every = delays[True] + delays[False]
    for label, values in (
        ("live update delay, every candle", every),
        ("  candles with orders or fills", delays[True]),
        ("  candles that only moved marks", delays[False]),
    ):
        print(
            f"{label:<36} {len(values):>7} "
            f"{percentile(values, 50):>8.1f} {percentile(values, 99):>8.1f}"
        )
    print(f"(one candle is {interval_s * 1000:.0f} ms of wall time at feed.speed {args.speed:g})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument(
        "--speed", type=float, default=60.0, help="as feed.speed: 60 is a 1m candle a second"
    )
    parser.add_argument("--warm", type=int, default=300, help="candles before measuring")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of browsing")
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(serve_and_measure(args, Path(tmp)))


if __name__ == "__main__":
    main()
