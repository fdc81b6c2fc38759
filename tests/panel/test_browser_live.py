"""Live figures: after a fill the Overview's figures change in the open page without a
reload (server-sent events from /panel/live), and the page says whether it is live."""

from __future__ import annotations

import asyncio

from tests.api.conftest import LiveApi
from tests.panel.conftest import Offline, sign_in

ADMIN = "/api/v1/admin"
LIVE_IS = "() => document.getElementById('live-state').textContent.trim() === '{state}'"


def fills(api: LiveApi) -> float:
    value = 0.0
    for metric in api.metrics.registry.collect():
        if metric.name == "rampart_fills":
            value += sum(s.value for s in metric.samples if s.name == "rampart_fills_total")
    return value


def test_a_fill_shows_in_the_open_page_without_reload(live: LiveApi, offline: Offline) -> None:
    page = sign_in(offline, live.server.url, live.tokens["admin"])
    page.wait_for_function(LIVE_IS.format(state="live"))
    page.evaluate("window.__sameDocument = true")
    before = page.locator('[data-live="equity-total"]').first.inner_text()
    filled = fills(live)
    for _ in range(20):  # a bounded walk of the simulated feed until a fill moves the equity
        live.trade(20)
        shown = live.get(f"{ADMIN}/overview").json()["shown"]  # as the page prints it
        if fills(live) > filled and shown["equity-total"] != before:
            break
    assert fills(live) > filled and shown["equity-total"] != before
    page.wait_for_function(
        "want => document.querySelector(`[data-live='equity-total']`).textContent.trim() === want",
        arg=shown["equity-total"],
    )
    assert page.evaluate("window.__sameDocument === true"), "the page was not reloaded"


def test_a_lost_connection_shows_reconnecting_then_live(live: LiveApi, offline: Offline) -> None:
    page = sign_in(offline, live.server.url, live.tokens["admin"])
    page.wait_for_function(LIVE_IS.format(state="live"))
    # The server goes away (as in a restart) and comes back on the same port.
    live.call(stop_serving(live))
    page.wait_for_function(LIVE_IS.format(state="reconnecting"))
    live.call(start_serving(live))
    page.wait_for_function(LIVE_IS.format(state="live"))
    assert page.locator("#live-state").inner_text().strip() == "live"


async def stop_serving(api: LiveApi) -> None:
    api.stop_event.set()
    await api._serving


async def start_serving(api: LiveApi) -> None:
    api.stop_event = asyncio.Event()
    api._serving = asyncio.create_task(api.server.serve(api.stop_event))
    await api.server.started.wait()
