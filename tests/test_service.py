"""``rampart run`` as a supervised service: one instance per database, a failing candle loop is
restarted without trading a candle twice, and the API answers while it trades."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.domain.candles import Candle
from rampart.domain.errors import RampartError
from rampart.wiring.service import Service


def _settings(tmp_path: Path) -> Settings:
    return load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}", "checkpoint_every": 50},
        feed={"speed": 1e9},
        api={"port": 0},
        ops={"restart_initial_s": 0.5, "restart_max_s": 2.0},
    )


def _console(tmp_path: Path) -> Console:
    return Console(file=(tmp_path / "screen.txt").open("a"), width=160)


def test_a_second_instance_on_the_same_database_is_refused(tmp_path: Path) -> None:
    async def scenario() -> str:
        first = Service(_settings(tmp_path), _console(tmp_path), view=False, install_signals=False)
        await first.open()
        try:
            second = Service(
                _settings(tmp_path), _console(tmp_path), view=False, install_signals=False
            )
            with pytest.raises(RampartError) as refused:
                await second.open()
            return refused.value.message
        finally:
            first.close()

    message = asyncio.run(scenario())
    assert "Another Rampart is already running" in message


def test_a_failing_candle_loop_is_restarted_and_no_candle_is_traded_twice(
    tmp_path: Path,
) -> None:
    ops = SimClock(1_700_000_000_000)
    service = Service(
        _settings(tmp_path),
        _console(tmp_path),
        max_candles=300,
        view=False,
        ops_clock=ops,
        install_signals=False,
    )
    seen: list[tuple[str, int]] = []
    failed = {"done": False}

    async def scenario() -> None:
        await service.open()
        session = service.session
        assert session is not None
        real = session.process

        async def flaky(candle: Candle) -> None:
            seen.append((candle.symbol, candle.ts))
            if len(seen) == 120 and not failed["done"]:
                failed["done"] = True
                raise RuntimeError("venue adapter blew up")
            await real(candle)

        session.process = flaky  # type: ignore[method-assign]
        # Run the rest of Service.run without opening again.
        service.open = _already_open  # type: ignore[method-assign]
        await service.run()

    asyncio.run(scenario())
    status = service.supervisor.status()["engine"]
    assert failed["done"]
    assert status.restarts == 1
    assert "venue adapter blew up" in (status.last_error or "")
    assert len(seen) == len(set(seen)), "a candle was handed to the engine twice"
    assert service.state.processed == 300
    assert len(seen) == 301  # the failed candle is skipped, not retried
    assert service.session is not None and service.session.engine.violations == 0


async def _already_open() -> None:
    return None


PEOPLE = 'rampart_investors_funnel{stage="started"} 0.0'


def test_the_api_answers_while_the_service_trades(tmp_path: Path) -> None:
    service = Service(
        _settings(tmp_path),
        _console(tmp_path),
        max_candles=None,
        view=False,
        install_signals=False,
    )
    replies: dict[str, Any] = {}

    async def client() -> None:
        await service.opened.wait()
        while service.api is None or not service.api.started.is_set():
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=service.api.url) as http:
            while service.state.processed < 50:
                await asyncio.sleep(0.01)
            replies["health"] = (await http.get("/health")).status_code
            ready = await http.get("/health/ready")
            replies["ready"] = (ready.status_code, ready.json())
            replies["metrics"] = (await http.get("/metrics")).text
            # The health sampler counts the people metrics from the store.
            while PEOPLE not in (text := (await http.get("/metrics")).text):
                await asyncio.sleep(0.01)
            replies["people"] = text
        service.stop.set()

    async def scenario() -> None:
        await asyncio.gather(service.run(), client())

    asyncio.run(asyncio.wait_for(scenario(), 120))  # a deadline: a poll that never ends fails
    assert replies["health"] == 200
    code, body = replies["ready"]
    assert code == 200, body
    assert {c["name"] for c in body["checks"]} == {"database", "venue", "feed", "workers"}
    assert "rampart_orders_total" in replies["metrics"]
    assert 'rampart_component_up{component="engine"} 1.0' in replies["metrics"]
    assert 'rampart_support_tickets_overdue{priority="critical"} 0.0' in replies["people"]


def test_the_bot_runs_inside_the_service_and_alerts_reach_the_operator_chat(
    tmp_path: Path,
) -> None:
    from rampart_testkit.botapi.standin import FakeBotApi

    operator_chat = 900
    replies: dict[str, Any] = {}

    async def scenario() -> None:
        api = await FakeBotApi().start()
        settings = load_settings(
            store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
            feed={"speed": 1e9},
            api={"enabled": False},
            alerts={"evaluate_every_s": 0.05},
            telegram_token="123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0",
            telegram={
                "api_url": api.url,
                "operator_ids": [operator_chat],
                "operator_chat_id": operator_chat,
                "poll_timeout_s": 0.1,
            },
        )
        service = Service(settings, _console(tmp_path), view=False, install_signals=False)

        async def operator() -> None:
            while not any(m == "getUpdates" for m, _ in api.calls):
                await asyncio.sleep(0.01)
            api.push_text(operator_chat, "/kill drill from the phone")
            while not any("KillSwitchEngaged" in t for t in api.texts(operator_chat)):
                await asyncio.sleep(0.02)
            replies["texts"] = api.texts(operator_chat)
            replies["killed"] = service.session is not None and (
                service.session.engine.controls.global_kill
            )
            service.stop.set()

        try:
            await asyncio.wait_for(asyncio.gather(service.run(), operator()), 60)
        finally:
            await api.close()

    asyncio.run(scenario())
    assert replies["killed"]
    assert any("KillSwitchEngaged" in text for text in replies["texts"])
