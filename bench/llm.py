"""The LLM agent's overhead per decision beside the stand-in's own latency.

Run with ``make bench``. For each stand-in latency (default 0 and 50 ms) prints p50/p99 of:

- one decision through ``LlmAgent.decide_async`` (prompt, cache miss, HTTP, parse, validate,
  intent), the agent's overhead (that minus the stand-in's fixed latency), and one bare httpx
  POST to the same stand-in (the HTTP round trip alone);
- a decision answered by the cache (a replay of the same candles).

Asserts nothing; the stand-in runs in this process, so its own handling is in the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import peak_rss_mb, percentile, quiet_logs
from rampart.agents.base import AgentConstraints, AgentView
from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart.llm.budget import Budget, Price
from rampart.llm.cache import AnswerCache
from rampart.llm.client import LlmClient
from rampart.llm.decider import LlmDecider
from rampart.llm.standin import LlmStandIn
from rampart.observability.metrics import Metrics

SYMBOL = "BTC/USDT"
CONSTRAINTS = AgentConstraints(Decimal("0.005"), Decimal("0.05"), Decimal("1.2"))


def bars(n: int) -> list[Candle]:
    out = []
    for i in range(n):
        c = 30_000 + 400 * math.sin(i / 7) + 5 * i
        out.append(Candle(SYMBOL, 1_700_000_000_000 + i * 60_000, c - 3, c + 20, c - 25, c, 1.5))
    return out


def view(history: list[Candle]) -> AgentView:
    return AgentView(
        "bench", SYMBOL, history[-1], history, DEFAULT_INSTRUMENTS[SYMBOL],
        Decimal(10_000), Decimal(10_000), None, CONSTRAINTS, history[-1].close_ts,
    )  # fmt: skip


async def replay(agent: object, candles: list[Candle]) -> list[float]:
    times = []
    for i, bar in enumerate(candles, 1):
        agent.update(bar)  # type: ignore[attr-defined]
        started = time.perf_counter()
        await agent.decide_async(view(candles[:i]))  # type: ignore[attr-defined]
        if i >= 30:
            times.append(time.perf_counter() - started)
    return times


async def run(latency_ms: float, decisions: int) -> None:
    async with LlmStandIn(latency_s=latency_ms / 1000) as standin:
        clock = SimClock(0)
        client = LlmClient(base_url=standin.url, api_key="sk-bench", model="m", clock=clock)
        decider = LlmDecider(
            client,
            cache=AnswerCache(clock, 3600, 100_000),
            budget=Budget(clock, Decimal(1_000_000), {"m": Price(Decimal("0.15"), Decimal("0.6"))}),
            clock=clock,
            metrics=Metrics().llm,
        )
        candles = bars(decisions + 29)
        miss = await replay(make_agent("llm", None, llm=decider), candles)
        calls = standin.calls
        hit = await replay(make_agent("llm", None, llm=decider), candles)
        assert standin.calls == calls, "the replay should be answered by the cache"
        bare = []
        body = {"model": "m", "messages": [{"role": "user", "content": '{"last_close":"1"}'}]}
        async with httpx.AsyncClient() as http:
            for _ in range(decisions):
                started = time.perf_counter()
                await http.post(f"{standin.url}/chat/completions", json=body)
                bare.append(time.perf_counter() - started)
        await client.aclose()
    ms = 1000.0
    over = [t * ms - latency_ms for t in miss]
    print(f"stand-in latency {latency_ms:g} ms, {len(miss)} decisions:")
    for label, values in (
        ("decision (cache miss)", [t * ms for t in miss]),
        ("agent overhead", over),
        ("bare httpx POST", [t * ms for t in bare]),
        ("decision (cache hit)", [t * ms for t in hit]),
    ):
        print(
            f"  {label:<22} p50 {percentile(values, 50):7.2f} ms   "
            f"p99 {percentile(values, 99):7.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0.0, 50.0])
    args = parser.parse_args()
    quiet_logs()
    for latency in args.latency_ms:
        asyncio.run(run(latency, args.decisions))
    print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
