"""The panel's charts, as data and as drawn: a price chart per symbol with the candles the engine
trades on, each trade's entry and exit, and the live stop-loss and take-profit of the open
positions; the equity history read from the store (not only what arrived since the page opened).

The data the charts draw is compared with the API's own answers (one truth); the browser test
checks the vendored charting library drew it, offline, under the pages' content security policy.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rampart.domain.money_format import money, price
from tests.api.conftest import LiveApi
from tests.panel.conftest import Offline, sign_in
from tests.panel.panel_http import sign_in as http_sign_in

ACCOUNTS = ("alice", "bob", "carol")


def _with_positions(api: LiveApi) -> str:
    for account in ACCOUNTS:
        if api.get(f"/api/v1/accounts/{account}/positions").json()["positions"]:
            return account
    raise AssertionError("the warm-up leaves open positions")


def test_the_price_chart_data_is_the_engines_candles_and_the_apis_trades(shared: LiveApi) -> None:
    account = _with_positions(shared)
    client = http_sign_in(shared)
    positions = shared.get(f"/api/v1/accounts/{account}/positions").json()["positions"]
    trades = shared.get(f"/api/v1/accounts/{account}/trades", params={"limit": 1000}).json()
    for symbol in ("BTC/USDT", "ETH/USDT"):
        r = client.get("/panel/data/chart", params={"symbol": symbol, "account": account})
        assert r.status_code == 200, r.text
        data = r.json()
        held = list(shared.engine.history[symbol])
        assert [c["time"] for c in data["candles"]] == [c.ts for c in held]
        assert [c["close"] for c in data["candles"]] == [c.close for c in held]
        first = held[0].ts
        closed = [t for t in trades["trades"] if t["symbol"] == symbol and t["closed_at"] >= first]
        exits = {(e["time"], e["price"], e["trade_id"]) for e in data["exits"]}
        assert exits == {(t["closed_at"], t["exit_price"], t["trade_id"]) for t in closed}
        entries = {(e["time"], e["price"]) for e in data["entries"]}
        assert {(t["opened_at"], t["entry_price"]) for t in closed if t["opened_at"] >= first} <= (
            entries
        )
        mine = [p for p in positions if p["symbol"] == symbol]
        assert {(p["opened_at"], p["avg_price"]) for p in mine} <= entries
        levels = sorted((x["kind"], x["price"]) for x in data["levels"])
        want = [("stop-loss", p["stop_loss"]) for p in mine]
        want += [("take-profit", p["take_profit"]) for p in mine]
        assert levels == sorted(want), symbol
        # Only the account's own agent's lines: alice's trend agent plots both its EMAs over the
        # price, read after each candle the engine holds, so every point sits on one of its
        # candles; the other accounts' agents plot nothing.
        plotted = {(i["agent"], i["name"], i["pane"]): i["points"] for i in data["indicators"]}
        if account == "alice":
            assert {("trend", "fast", "price"), ("trend", "slow", "price")} <= set(plotted)
        else:
            assert plotted == {}
        times = {c.ts for c in held}
        for points in plotted.values():
            assert points and {p["time"] for p in points} <= times


def test_the_equity_history_is_the_stores(shared: LiveApi) -> None:
    client = http_sign_in(shared)
    r = client.get("/panel/data/equity", params={"account": "bob"})
    assert r.status_code == 200, r.text
    series = r.json()["series"]
    api = shared.get("/api/v1/accounts/bob/equity").json()["points"]
    assert [s["account_id"] for s in series] == ["bob"]
    assert series[0]["points"] == api
    # The engine records equity hourly: the warm-up's ten hours are in the store.
    assert len(api) >= 10, "the warm-up's checkpoint stored the equity curve"
    every = client.get("/panel/data/equity").json()["series"]
    assert sorted(s["account_id"] for s in every) == list(ACCOUNTS)


def test_a_user_token_charts_its_own_account_only(shared: LiveApi) -> None:
    client = http_sign_in(shared, "alice")
    own = client.get("/panel/data/chart", params={"symbol": "BTC/USDT", "account": "alice"})
    assert own.status_code == 200
    for params in (
        {"symbol": "BTC/USDT", "account": "bob"},
        {"symbol": "BTC/USDT"},  # every account's trades: the operator's view
    ):
        r = client.get("/panel/data/chart", params=params)
        assert r.status_code == 403, params
    assert client.get("/panel/data/equity", params={"account": "bob"}).status_code == 403
    mine = client.get("/panel/data/equity").json()["series"]
    assert [s["account_id"] for s in mine] == ["alice"]
    r = client.get("/panel/data/chart", params={"symbol": "DOGE/USDT", "account": "alice"})
    assert r.status_code == 404 and "DOGE/USDT" in r.json()["error"]


_MARK = """([sel, name]) => {
    const f = document.querySelector(sel);
    return f && f.dataset.drawn === 'yes' ? {value: f.getAttribute(name)} : null;
}"""


class _Figure:
    """A drawn chart figure. The page's polling swaps a figure for a new element that takes
    the old one's marks only when htmx settles, so each mark is read in the same step that
    finds the figure drawn (never a drawn check first and a read of another element after)."""

    def __init__(self, page: Any, selector: str) -> None:
        self.page, self.selector = page, selector
        self.figure = page.locator(selector)

    def get_attribute(self, name: str) -> str | None:
        found = self.page.wait_for_function(_MARK, arg=[self.selector, name])
        value: str | None = found.json_value()["value"]
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.figure, name)


def _drawn(page: Any, selector: str) -> _Figure:
    page.locator(selector).locator("canvas").first.wait_for()
    page.wait_for_function(
        "sel => document.querySelector(sel)?.dataset.drawn === 'yes'", arg=selector
    )
    return _Figure(page, selector)


def test_the_account_page_draws_candles_trades_and_live_brackets(
    shared: LiveApi, offline: Offline
) -> None:
    base = shared.server.url
    account = _with_positions(shared)
    positions = shared.get(f"/api/v1/accounts/{account}/positions").json()["positions"]
    page = sign_in(offline, base, shared.tokens["admin"])
    page.goto(f"{base}/panel/accounts/{account}")
    for symbol in ("BTC/USDT", "ETH/USDT"):
        chart = _drawn(page, f'[data-chart="price"][data-symbol="{symbol}"]')
        assert int(chart.get_attribute("data-candles") or 0) == len(shared.engine.history[symbol])
        tick = shared.engine.venue.instrument(symbol).tick_size
        mine = [p for p in positions if p["symbol"] == symbol]
        # The caption prints the levels as every front prints a price; the dashed lines are
        # drawn at exactly those positions' levels (one read with the caption and the tables).
        shown = chart.locator('[data-figure="chart-stop-loss"]').all_inner_texts()
        assert sorted(shown) == sorted(price(Decimal(p["stop_loss"]), "", tick) for p in mine)
        shown = chart.locator('[data-figure="chart-take-profit"]').all_inner_texts()
        assert sorted(shown) == sorted(price(Decimal(p["take_profit"]), "", tick) for p in mine)
        lines = [f"stop-loss {p['stop_loss']}" for p in mine]
        lines += [f"take-profit {p['take_profit']}" for p in mine]
        assert (chart.get_attribute("data-lines") or "") == "; ".join(sorted(lines))
        # The price axis prints prices with the one formatter's rules ("10,020.00", not
        # "10020.00"): its label for the last close is what money_format.price prints.
        close = shared.engine.history[symbol][-1].close
        assert chart.get_attribute("data-axis") == price(Decimal(repr(close)), "", tick)
        if mine:
            assert int(chart.get_attribute("data-markers") or 0) >= 1
        drawn = (chart.get_attribute("data-indicators") or "").split("; ")
        if account == "alice":  # her trend agent's EMAs; no other account's agent plots
            assert {"price:fast", "price:slow"} <= set(drawn)
        else:
            assert drawn == [""]
    equity = _drawn(page, '[data-chart="equity"]')
    api = shared.get(f"/api/v1/accounts/{account}/equity").json()["points"]
    assert int(equity.get_attribute("data-points") or 0) == len(api)
    assert equity.get_attribute("data-axis") == money(Decimal(api[-1]["equity"]), "")
    assert "," in (equity.get_attribute("data-axis") or ""), "thousands separated"
    assert offline.blocked == []
    assert not [e for e in offline.console_errors if "Content Security Policy" in e]


def test_the_overview_draws_the_stored_equity_at_once(shared: LiveApi, offline: Offline) -> None:
    page = sign_in(offline, shared.server.url, shared.tokens["admin"])
    chart = _drawn(page, '[data-chart="equity"]')
    stored = sum(len(shared.get(f"/api/v1/accounts/{a}/equity").json()["points"]) for a in ACCOUNTS)
    assert int(chart.get_attribute("data-points") or 0) == stored
    assert offline.blocked == []


def test_pointing_at_a_trade_on_the_chart_says_it_in_words(
    shared: LiveApi, offline: Offline
) -> None:
    """A tooltip per trade: pointing at the candle of an exit shows that trade (who, size,
    price, cause, PnL after fees), the label the server made with the one money formatter."""
    base = shared.server.url
    client = http_sign_in(shared)
    page = sign_in(offline, base, shared.tokens["admin"])
    page.goto(f"{base}/panel/trading")
    for symbol in ("BTC/USDT", "ETH/USDT"):
        data = client.get("/panel/data/chart", params={"symbol": symbol}).json()
        if data["exits"]:
            break
    else:
        raise AssertionError("the warm-up closes trades")
    exit_ = data["exits"][-1]
    assert "USDT after" in exit_["label"] and exit_["account"] in exit_["label"]
    selector = f'[data-chart="price"][data-symbol="{symbol}"]'
    chart = _drawn(page, selector)
    chart.scroll_into_view_if_needed()
    # Where that candle is on screen, asked of the chart itself.
    point = page.evaluate(
        """([sel, ms]) => {
            const fig = document.querySelector(sel);
            const box = fig.querySelector('[data-chart-canvas]');
            const s = box.__rampart;
            const times = s.data.candles.map(c => c.time).filter(t => t <= ms);
            const t = Math.floor(times[times.length - 1] / 1000);
            const x = s.chart.timeScale().timeToCoordinate(t);
            const r = box.getBoundingClientRect();
            return {x: r.left + x, y: r.top + r.height / 2};
        }""",
        [selector, exit_["time"]],
    )
    page.mouse.move(point["x"], point["y"])
    tip = chart.locator(".chart-tip")
    tip.wait_for(state="visible")
    assert exit_["label"] in tip.inner_text()
