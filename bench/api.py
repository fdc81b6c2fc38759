"""API latency while the engine trades 1,000 accounts, and what the load costs the engine.

One process is the service: a TradingSession with 1,000 accounts (the three built-in agents,
two symbols) on a synthetic feed paced like ``rampart run`` (``feed.speed`` simulated seconds
per wall second), each candle processed under the operator lock, and the API served by
uvicorn on the same event loop. A second process is the load generator: an open-loop schedule
of 200 requests per second over loopback, spread evenly over ``/health``, ``/metrics`` and one
account's portfolio (with its user token).

The end prints plan 003's two service-level figures as the alert rules read them:
the API's success rate (non-5xx share, ApiSuccessLow) and the database statements' p95 and
mean (DatabaseSlow), from the service's own metrics.

Phases: the engine alone (decision time per candle, the baseline), then the engine under load
(API latency per endpoint, decision time again). Prints p50/p99 per endpoint and the engine's
per-candle time with and without the load. Bounded to about a minute; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _service import SYMBOLS, open_service
from _util import percentile, quiet_logs

WATCHED = "acct-0007"
ENDPOINTS = ["/health", "/metrics", f"/api/v1/accounts/{WATCHED}/portfolio"]


# -- the load generator (its own process) -------------------------------------------------------


def load(url: str, token: str, rate: float, seconds: float, out: Any) -> None:
    """Send ``rate`` requests a second for ``seconds`` on a fixed schedule; report latencies.

    Open loop: each request is due at its slot whatever happened to the previous ones, and its
    latency counts from that slot, so a server that stalls is charged for the requests that
    queued behind the stall (no coordinated omission). aiohttp keeps the client cheap enough
    that the generator itself is never the bottleneck.
    """
    import aiohttp

    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {path: [] for path in ENDPOINTS}
        failures: list[str] = []
        auth = {"Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=64)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:
            for path in ENDPOINTS:  # warm the connection pool before measuring
                async with client.get(path, headers=auth) as r:
                    await r.read()

            async def one(path: str, due: float) -> None:
                try:
                    async with client.get(path, headers=auth) as r:
                        await r.read()
                        status = r.status
                except aiohttp.ClientError as exc:
                    failures.append(f"{path}: {type(exc).__name__}")
                    return
                if status != 200:
                    failures.append(f"{path}: {status}")
                    return
                results[path].append((due, (time.perf_counter() - due) * 1000))

            tasks = []
            begin = time.perf_counter()
            for i, path in zip(range(int(rate * seconds)), itertools.cycle(ENDPOINTS)):
                due = begin + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(path, due)))
            await asyncio.gather(*tasks)
        results["failures"] = failures
        return results

    started = time.process_time()
    results = asyncio.run(run())
    results["cpu_s"] = [time.process_time() - started]
    out.send(results)
    out.close()


# -- the service (this process) -----------------------------------------------------------------


def stats(values: list[float]) -> str:
    if not values:
        return f"{0:>8} {'-':>8} {'-':>8} {'-':>8}"
    return (
        f"{len(values):>8} {percentile(values, 50):>8.2f} {percentile(values, 99):>8.2f} "
        f"{max(values):>8.2f}"
    )


def overlaps(due: float, ms: float, spans: list[tuple[float, float]]) -> bool:
    return any(due <= end and due + ms / 1000 >= start for start, end in spans)


async def serve_and_measure(args: argparse.Namespace, work: Path) -> None:
    from rampart.api.app import create_app
    from rampart.api.server import ApiServer
    from rampart.domain.candles import timeframe_ms
    from rampart.market.synthetic import SyntheticFeed
    from rampart.observability.api_metrics import install_request_metrics
    from rampart.observability.db_metrics import instrument_database
    from rampart.security.tokens import create_token

    svc = await open_service(args.accounts, args.speed, work)
    settings, clock, ops, session, ctx = svc.settings, svc.clock, svc.ops, svc.session, svc.ctx
    every = settings.store.checkpoint_every
    candles = SyntheticFeed(SYMBOLS, seed=7, timeframe="1m").iter_candles()
    decision_ms: list[float] = []
    checkpoints: list[tuple[float, float]] = []
    """perf_counter spans of candles that also wrote a checkpoint (CLOCK_MONOTONIC is shared
    with the load generator's process, so its request times compare directly)."""
    assert session.writer is not None
    writer = session.writer
    instrument_database(session.db, ctx.metrics)

    async def step(n: int, record: bool) -> None:
        for candle in itertools.islice(candles, n):
            clock.set(candle.close_ts)
            flushes = writer.stats.flushes
            async with ctx.lock:
                started = time.perf_counter()
                await session.process(candle)
                ended = time.perf_counter()
            if writer.stats.flushes != flushes:
                checkpoints.append((started, ended))
            elif record:
                decision_ms.append((ended - started) * 1000)
            await asyncio.sleep(0)  # let requests in between candles, as the service loop does

    interval_s = timeframe_ms("1m") / 1000 / args.speed
    per_s = len(SYMBOLS) / interval_s
    # Place the periodic checkpoint in the middle of the loaded phase: it is part of a
    # running service, and its stall must show in the figures rather than fall outside them.
    warm = max(300, every - round(per_s * (args.quiet + args.loaded / 2)))
    print(f"warming up {args.accounts:,} accounts ({warm} candles) …", flush=True)
    await step(warm, record=False)
    checkpoints.clear()
    trades_before = sum(a.ledger.trades_closed for a in session.engine.accounts.values())

    server = ApiServer(
        install_request_metrics(create_app(ctx), ctx.metrics.registry), "127.0.0.1", 0
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(server.serve(stop))
    await server.started.wait()
    token = create_token(session.db, "user", WATCHED, "bench", ops.now_ms())

    async def trade_for(seconds: float) -> None:
        """Candles at the feed's pace: each tick processes one candle per symbol."""
        loop = asyncio.get_running_loop()
        begin = loop.time()
        ticks = 0
        while loop.time() - begin < seconds:
            await step(len(SYMBOLS), record=True)
            ticks += 1
            await asyncio.sleep(max(begin + ticks * interval_s - loop.time(), 0))

    print(f"engine alone for {args.quiet:g} s …", flush=True)
    await trade_for(args.quiet)
    alone = list(decision_ms)
    decision_ms.clear()

    ctx_mp = mp.get_context("spawn")

    async def load_for(seconds: float, trading: bool) -> dict[str, Any]:
        receive, send = ctx_mp.Pipe(duplex=False)
        generator = ctx_mp.Process(
            target=load, args=(server.url, token, args.rate, seconds, send), daemon=True
        )
        generator.start()
        engine = asyncio.create_task(trade_for(seconds + 3)) if trading else None
        results = await asyncio.to_thread(receive.recv)
        if engine is not None:
            await engine
        generator.join(timeout=10)
        return results

    print(f"API alone (engine idle) with {args.rate:g} req/s for {args.idle:g} s …", flush=True)
    idle = await load_for(args.idle, trading=False)
    print(f"engine with {args.rate:g} req/s for {args.loaded:g} s …", flush=True)
    results = await load_for(args.loaded, trading=True)
    loaded = list(decision_ms)
    trades = sum(a.ledger.trades_closed for a in session.engine.accounts.values()) - trades_before
    stop.set()
    await serving
    session.close()

    print()
    print(
        f"{'API alone, engine idle':<42} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for path in ENDPOINTS:
        print(f"{path:<42} {stats([ms for _, ms in idle[path]])}")
    failures = results.pop("failures") + idle.pop("failures")
    client_cpu = results.pop("cpu_s")[0]
    print()
    print(
        f"{args.accounts:,} accounts, {len(SYMBOLS)} symbols, a candle every "
        f"{interval_s * 1000:.0f} ms per symbol; {trades:,} trades closed while measuring"
    )
    spans = [f"{(end - start) * 1000:,.0f} ms" for start, end in checkpoints]
    print(f"checkpoints (store flush, every {every} candles) while loaded: {', '.join(spans)}")
    print(f"{'API while trading':<42} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for path, timed in results.items():
        print(f"{path:<42} {stats([ms for _, ms in timed])}")
    if checkpoints:
        print("the same, leaving out requests that waited on a checkpoint:")
        for path, timed in results.items():
            clear = [ms for due, ms in timed if not overlaps(due, ms, checkpoints)]
            print(f"{path:<42} {stats(clear)}")
    if failures:
        print(f"failed requests: {len(failures)} (first: {failures[0]})")
    print(f"load generator CPU: {client_cpu:.1f} s for {args.rate * args.loaded:,.0f} requests")
    print()
    head = f"{'decision time per candle (no checkpoint)':<42} {'candles':>8} {'p50 ms':>8}"
    print(f"{head} {'p99 ms':>8} {'mean ms':>8}")
    for label, values in (("engine alone", alone), ("engine under API load", loaded)):
        mean = sum(values) / len(values) if values else float("nan")
        print(
            f"{label:<42} {len(values):>8} {percentile(values, 50):>8.2f} "
            f"{percentile(values, 99):>8.2f} {mean:>8.2f}"
        )
    if alone and loaded:
        slower = percentile(loaded, 50) / percentile(alone, 50) - 1
        print(f"median decision time under load: {slower * 100:+.1f} %")
    print_slo_baseline(ctx.metrics.registry)


def db_figures(registry: Any) -> tuple[float, float, float]:
    """``rampart_db_query_seconds`` as DatabaseSlow reads it: statements, the p95 interpolated
    in the histogram's buckets (seconds) and the mean (ms)."""
    from rampart.observability.alerts.signals import bucket_quantile

    buckets: dict[float, float] = {}
    count = total = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "rampart_db_query_seconds_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
            elif sample.name == "rampart_db_query_seconds_count":
                count += sample.value
            elif sample.name == "rampart_db_query_seconds_sum":
                total += sample.value
    p95 = bucket_quantile(0.95, sorted(buckets.items()))
    return count, p95, total / count * 1000 if count else float("nan")


def print_slo_baseline(registry: Any) -> None:
    """Plan 003's API success rate and database response, read as ApiSuccessLow and
    DatabaseSlow read them (the whole run is the window)."""
    from rampart.observability.api_metrics import api_totals

    api = api_totals(registry)
    count, p95, mean_ms = db_figures(registry)
    success = 1 - api["errors"] / api["requests"] if api["requests"] else float("nan")
    print()
    print(f"API success rate: {success * 100:.3f} % of {api['requests']:,} requests (> 99.5 %)")
    print(
        f"database statements: {count:,.0f}, p95 {p95 * 1000:.2f} ms (bucket-interpolated), "
        f"mean {mean_ms:.2f} ms (< 10 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument(
        "--speed", type=float, default=60.0, help="as feed.speed: 60 is a 1m candle a second"
    )
    parser.add_argument("--quiet", type=float, default=12.0, help="seconds without load")
    parser.add_argument("--idle", type=float, default=8.0, help="seconds of load, no trading")
    parser.add_argument("--loaded", type=float, default=30.0, help="seconds under load")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the service here")
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory() as tmp:
        if args.profile is None:
            asyncio.run(serve_and_measure(args, Path(tmp)))
            return
        import cProfile

        cProfile.runctx(
            "asyncio.run(serve_and_measure(args, Path(tmp)))", globals(), locals(), args.profile
        )


if __name__ == "__main__":
    main()
