"""A worker's shards share one anomaly watch: the same anomaly on accounts held by
different shards counts those accounts together, so AnomalyWidespread (3 accounts) sees it
past one machine as ``rampart run`` does; a held anomaly lapses on the orders' clock."""

from __future__ import annotations

import asyncio
import itertools

from prometheus_client import CollectorRegistry

from rampart.config import load_settings
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.anomaly_watch import ACCOUNTS, TOPICS
from rampart.wiring.anomalies import anomaly_watch
from rampart_testkit.anomaly_desk import SYMBOLS, Desk

from .test_anomaly_alerts import bad_fill


def _accounts(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value(ACCOUNTS, {"kind": "fill_off_mark"})
    return 0.0 if value is None else value


def test_one_watch_over_every_shard_counts_their_accounts_together() -> None:
    shards = [Desk(), Desk()]  # two engines, two buses: two shards of one worker
    registry = CollectorRegistry()
    watch = anomaly_watch(load_settings(), lambda: [d.engine for d in shards], registry)
    assert watch is not None
    for desk in shards:
        desk.bus.subscribe(watch.on_event, topics=TOPICS)

    async def scenario() -> None:
        await shards[0].add("a0", "trend", "moderate")
        await shards[0].add("a1", "trend", "moderate")
        await shards[1].add("a2", "trend", "moderate")
        for desk in shards:
            candles = SyntheticFeed(list(SYMBOLS), seed=3).iter_candles()
            await desk.run(itertools.islice(candles, 2 * 30))
        now = shards[0].clock.now_ms()
        for desk, account in ((shards[0], "a0"), (shards[0], "a1"), (shards[1], "a2")):
            desk.bus.publish(bad_fill(desk, account, now))

    asyncio.run(scenario())
    assert _accounts(registry) == 3  # one shard alone would say 2, the other 1
    watch.expire(shards[0].clock.now_ms() + 3_600_000)
    assert _accounts(registry) == 0


def test_the_watch_is_off_when_anomalies_are() -> None:
    settings = load_settings(alerts={"anomalies": {"enabled": False}})
    assert anomaly_watch(settings, list, CollectorRegistry()) is None
