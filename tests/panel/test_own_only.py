"""Each investor sees only their own: with one investor's token, every API endpoint and every
panel page and data answer carries nothing of another account (its name, its agent's name, its
agent's plotted values). bob trades mean_reversion; alice's trend agent plots two EMAs on the
same symbols, and carol trades breakout without an owner."""

from __future__ import annotations

import re

from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

OTHERS = ("alice", "carol", "trend", "breakout")
"""What bob's answers must never hold: the other accounts and the agents only they trade."""
SYMBOLS = ("BTC/USDT", "ETH/USDT")


def _leaks(text: str) -> list[str]:
    return [word for word in OTHERS if re.search(rf"\b{word}\b", text)]


def _api_gets(api: LiveApi) -> list[str]:
    """Every GET of the API's schema, its path parameters filled for bob's own account."""
    paths = []
    for path, ops in api.get("/openapi.json", who=None).json()["paths"].items():
        if path.startswith("/api/v1/") and "get" in ops:
            filled = re.sub(r"\{(account|account_id|id)\}", "bob", path)
            paths.append(re.sub(r"\{[^}]+\}", "1", filled))
    return paths


def test_every_api_answer_to_an_investor_holds_only_their_own(shared: LiveApi) -> None:
    answered = 0
    for path in _api_gets(shared):
        r = shared.get(path, who="bob")
        if r.status_code == 200:
            answered += 1
            assert _leaks(r.text) == [], (path, _leaks(r.text), r.text[:400])
        else:  # refused or absent: in words, naming nobody else
            assert r.status_code in (403, 404, 422), (path, r.status_code, r.text[:200])
            assert _leaks(r.text) == [], (path, r.text[:400])
    # bob's own account answers: portfolio, positions, orders, trades, equity, rejections...
    assert answered >= 6


def test_every_panel_page_and_chart_an_investor_opens_holds_only_their_own(
    shared: LiveApi,
) -> None:
    client = sign_in(shared, "bob")
    pages = ["/panel", "/panel/accounts", "/panel/accounts/bob", "/panel/trades"]
    pages += ["/panel/trades.csv", "/panel/data/equity"]
    pages += [f"/panel/data/chart?symbol={s}&account=bob" for s in SYMBOLS]
    opened = 0
    for page in pages:
        r = client.get(page)
        if r.status_code == 200:
            opened += 1
            assert _leaks(r.text) == [], (page, _leaks(r.text))
    assert opened >= len(SYMBOLS) + 3
    # The chart bob reads draws no line of alice's trend agent, though it trades his symbols;
    # alice's own chart, and the operator's view of her account, do draw them.
    for symbol in SYMBOLS:
        own = client.get("/panel/data/chart", params={"symbol": symbol, "account": "bob"})
        assert own.json()["indicators"] == []
        for who in ("alice", "admin"):
            hers = sign_in(shared, who).get(
                "/panel/data/chart", params={"symbol": symbol, "account": "alice"}
            )
            drawn = {(i["agent"], i["name"]) for i in hers.json()["indicators"]}
            assert {("trend", "fast"), ("trend", "slow")} <= drawn, (who, drawn)
