"""A subscriber of the event bus that raises on every event, inside the running service: the
engine keeps trading, the failures are counted in the metrics, the ``SubscriberFailing``
alert fires, and ``/health`` lists every component with its lifecycle state."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from rampart.config import load_settings
from rampart.domain.events import Event, FillBooked
from rampart.trading.bus import Topic
from rampart.wiring.service import Service


def test_a_failing_subscriber_is_counted_alerted_and_the_engine_trades_on(tmp_path: Path) -> None:
    settings = load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}", "checkpoint_every": 50},
        feed={"speed": 1e9},
        api={"port": 0},
        alerts={"evaluate_every_s": 0.05},
    )
    console = Console(file=(tmp_path / "screen.txt").open("a"), width=160)
    service = Service(settings, console, max_candles=None, view=False, install_signals=False)
    seen: dict[str, Any] = {}

    def broken(event: Event) -> None:
        raise RuntimeError("a bug in this subscriber")

    async def client() -> None:
        await service.opened.wait()
        session = service.session
        assert session is not None
        fills: list[Event] = []
        session.bus.subscribe(broken, name="broken")
        session.bus.subscribe(fills.append, [Topic.ORDERS], name="fills")
        while service.api is None or not service.api.started.is_set():
            await asyncio.sleep(0.01)
        alerts = service.parts.alerts
        assert alerts is not None
        async with httpx.AsyncClient(base_url=service.api.url) as http:
            while not any(k.startswith("SubscriberFailing") for k in alerts.active):
                await asyncio.sleep(0.01)
            while sum(isinstance(e, FillBooked) for e in fills) < 2:
                await asyncio.sleep(0.01)
            seen["health"] = (await http.get("/health")).json()
            seen["metrics"] = (await http.get("/metrics")).text
        seen["failures"] = session.bus.failures["broken"]
        seen["alerts"] = [a.rule for a in alerts.active.values()]
        service.stop.set()

    async def scenario() -> None:
        await asyncio.gather(service.run(), client())

    asyncio.run(asyncio.wait_for(scenario(), 120))  # a deadline: a poll that never ends fails
    assert seen["failures"] > 0
    assert 'rampart_event_subscriber_failures_total{subscriber="broken"}' in seen["metrics"]
    assert "SubscriberFailing" in seen["alerts"]
    components = {c["name"]: c for c in seen["health"]["components"]}
    assert {"engine", "health", "api", "alerts"} <= set(components)
    assert all(c["state"] == "running" and c["up"] for c in components.values()), components
    # Stopped, then disposed, once the service is done.
    assert {s.state for s in service.supervisor.status().values()} == {"disposed"}
