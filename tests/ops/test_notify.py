"""Notifiers against a real HTTP receiver on loopback: JSON delivered, 5xx retried with backoff
on the Clock, refusals and dead receivers reported in words (without the secret path)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.observability.alerts.build import build_alerting
from rampart.observability.metrics import Metrics
from rampart.observability.notify import (
    CallbackNotifier,
    FanOut,
    LogNotifier,
    Notice,
    NotifyError,
    WebhookNotifier,
)
from rampart.store.db import open_database

START_MS = 1_700_000_000_000
SECRET_PATH = "/hooks/s3cr3t-token"


def notice(kind: str = "firing") -> Notice:
    return Notice(
        kind=kind,
        rule="KillSwitchEngaged",
        severity="P1",
        key="KillSwitchEngaged",
        summary="The global kill switch is engaged: no new entries anywhere.",
        value=1.0,
        threshold=1.0,
        comparison=">=",
        ts=START_MS + 120_000,
        opened_at=START_MS,
        incident_id=7,
    )


class Receiver:
    """An aiohttp server on 127.0.0.1:0 answering with the given statuses in turn."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.bodies: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 300 else "nope")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post(SECRET_PATH, self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}{SECRET_PATH}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


def test_a_webhook_retries_after_a_500_with_backoff_on_the_clock() -> None:
    clock = SimClock(START_MS)

    async def body() -> None:
        async with Receiver([500, 503]) as receiver:
            hook = WebhookNotifier(receiver.url, clock, retries=3, backoff_s=0.5)
            await hook.send(notice())
            await hook.aclose()
        assert len(receiver.bodies) == 3
        sent = receiver.bodies[-1]
        assert sent["rule"] == "KillSwitchEngaged" and sent["kind"] == "firing"
        assert sent["incident_id"] == 7 and sent["severity"] == "P1"
        assert sent["text"].startswith("[P1] FIRING KillSwitchEngaged (incident 7)")

    run(body)
    assert clock.now_ms() - START_MS == 1500  # 0.5 s, then 1 s


def test_a_refusal_is_not_retried_and_is_explained() -> None:
    async def body() -> None:
        async with Receiver([404]) as receiver:
            hook = WebhookNotifier(receiver.url, SimClock(START_MS), retries=3)
            with pytest.raises(NotifyError) as caught:
                await hook.send(notice())
            await hook.aclose()
        assert len(receiver.bodies) == 1
        assert "refused the notice: HTTP 404" in caught.value.message
        assert SECRET_PATH not in caught.value.message

    run(body)


def test_a_receiver_that_keeps_failing_gives_up_after_the_retries() -> None:
    async def body() -> None:
        async with Receiver([500] * 10) as receiver:
            hook = WebhookNotifier(receiver.url, SimClock(START_MS), retries=2)
            with pytest.raises(NotifyError) as caught:
                await hook.send(notice())
            await hook.aclose()
        assert len(receiver.bodies) == 3
        assert "after 3 attempts: HTTP 500" in caught.value.message

    run(body)


def test_a_dead_receiver_is_reported_as_a_connection_failure() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clock = SimClock(START_MS)

    async def body() -> None:
        hook = WebhookNotifier(f"http://127.0.0.1:{port}{SECRET_PATH}", clock, retries=1)
        with pytest.raises(NotifyError) as caught:
            await hook.send(notice())
        await hook.aclose()
        assert "connection failed" in caught.value.message
        assert f"http://127.0.0.1:{port}" in caught.value.message
        assert SECRET_PATH not in caught.value.message

    run(body)


def test_a_webhook_url_must_be_http() -> None:
    with pytest.raises(ConfigError):
        WebhookNotifier("ftp://127.0.0.1/x", SimClock(0))


def test_fan_out_tries_every_notifier_and_names_the_failures() -> None:
    got: list[str] = []

    async def record(n: Notice) -> None:
        got.append(n.kind)

    async def broken(_: Notice) -> None:
        raise RuntimeError("bot offline")

    fan = FanOut([CallbackNotifier(broken, name="telegram"), LogNotifier()])
    fan.add(CallbackNotifier(record))

    async def body() -> None:
        with structlog.testing.capture_logs() as logs, pytest.raises(NotifyError) as caught:
            await fan.send(notice())
        assert "telegram failed: RuntimeError: bot offline" in caught.value.message
        # A warning, never an error: alerts must not feed the ErrorSpike counter.
        assert [e["log_level"] for e in logs if e["event"] == "alert"] == ["warning"]

    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        run(body)
    finally:
        structlog.configure(**previous)
    assert got == ["firing"]


def test_notice_texts_say_what_and_since_when() -> None:
    assert "RESOLVED KillSwitchEngaged (incident 7)" in notice("resolved").text()
    assert "Cleared after 2.0 min." in notice("resolved").text()
    assert "STILL FIRING" in notice("repeat").text()
    assert "Since 2023-11-14 22:13:20 UTC." in notice().text()


def test_on_a_simulated_feed_cleared_after_is_the_time_the_operator_lived() -> None:
    """At 300x, an incident open for 5 wall minutes spans 1,500 replayed minutes: the operator
    is told 5 minutes (the axis every time people read is on), not 1,500."""
    from rampart import clock as clock_mod
    from rampart.clock import FeedClock

    market, wall = SimClock(START_MS), SimClock(1_795_000_000_000)
    feed = FeedClock(market, wall)
    for _ in range(400):
        feed._anchor()  # what each loop's sleep does
        wall.advance(1_000)
        market.advance(300_000)
    opened = START_MS + 10 * 300_000  # the business time of wall second 10
    cleared = dataclasses.replace(notice("resolved"), opened_at=opened, ts=opened + 300 * 300_000)
    clock_mod.show_times_of(feed)
    try:
        assert "Cleared after 5.0 min." in cleared.text()
        assert "Since 2026-11-18 " in dataclasses.replace(cleared, kind="firing").text()
    finally:
        clock_mod.show_times_of(None)


def test_build_alerting_sends_incidents_to_the_configured_webhook(tmp_path: Path) -> None:
    clock = SimClock(START_MS)
    metrics = Metrics()
    db = open_database(f"sqlite:///{tmp_path / 'w.db'}")
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text("KillSwitchEngaged: {for: 10s, severity: P0}\n")
    seen: list[Notice] = []

    async def telegram(n: Notice) -> None:
        seen.append(n)

    async def body() -> None:
        async with Receiver([]) as receiver:
            settings = load_settings(
                alerts={"webhook_url": receiver.url, "rules_file": str(rules_file)}
            )
            engine = build_alerting(settings, db, metrics, clock, [CallbackNotifier(telegram)])
            metrics.kill_switch.set(1)
            await engine.evaluate(clock.now_ms())
            clock.advance(10_000)
            await engine.evaluate(clock.now_ms())
            metrics.kill_switch.set(0)
            clock.advance(5_000)
            await engine.evaluate(clock.now_ms())
            await engine.notifier.aclose()  # type: ignore[attr-defined]
        assert [b["kind"] for b in receiver.bodies] == ["firing", "resolved"]
        assert receiver.bodies[0]["severity"] == "P0"

    run(body)
    assert [n.kind for n in seen] == ["firing", "resolved"]
    db.dispose()


def test_build_alerting_refuses_a_bad_webhook_url(tmp_path: Path) -> None:
    settings = load_settings(alerts={"webhook_url": "not a url"})
    with pytest.raises(ConfigError):
        build_alerting(settings, None, Metrics(), SimClock(0))
