"""A panel an operator reads at a glance, in a real browser: the Accounts table fits
the screen at 1280 and 1920 px with its Why cell on screen (it was 2,856 px wide in a 1,034 px
box, the Why column past the right edge) and becomes cards at 390 px; an account page is one
read of the account, chart lines, caption and tables together, and follows the engine live."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.api.conftest import LiveApi
from tests.api.test_halt_reasons import trip
from tests.panel.conftest import SIZES, open_context, overflowing, screenshot, sign_in

ADMIN = "/api/v1/admin"
LONG_REASON = (
    "the exchange answered two orders with an unknown status; waiting for support to confirm "
    "both fills before trading again"
)

# Each Why cell's box, the window's width, and whether the table's own box scrolls sideways.
WHY_JS = """
() => Array.from(document.querySelectorAll('tr[data-account] [data-figure="why"]')).map(td => {
  const r = td.getBoundingClientRect();
  const box = td.closest('.scroll');
  return {account: td.closest('tr').dataset.account, left: r.left, right: r.right,
          width: window.innerWidth, text: td.textContent.trim(),
          scrolls: box.scrollWidth > box.clientWidth + 1,
          display: getComputedStyle(td.closest('tr')).display};
})
"""


def test_the_why_column_is_on_screen_and_rows_are_cards_on_a_phone(
    live: LiveApi, browser: Any
) -> None:
    trip(live, "bob", Decimal("0.15"), below="peak")
    r = live.post(f"{ADMIN}/accounts/alice/pause", {"reason": LONG_REASON})
    assert r.status_code == 200, r.text
    base = live.server.url
    for size in ("1280", "1920", "390"):
        offline = open_context(browser, SIZES[size])
        try:
            page = sign_in(offline, base, live.tokens["admin"])
            page.goto(f"{base}/panel/accounts")
            cells = page.evaluate(WHY_JS)
            assert len(cells) == 3
            screenshot(page, f"panel-accounts-why-{size}")
            for cell in cells:
                where = f"{cell['account']} at {size} px: {cell}"
                assert cell["left"] >= 0 and cell["right"] <= cell["width"], where
                assert not cell["scrolls"], where
            said = {c["account"]: c["text"] for c in cells}
            assert LONG_REASON in said["alice"] and "drawdown" in said["bob"].lower()
            if size == "390":
                assert {c["display"] for c in cells} == {"block"}, "rows are cards on a phone"
                label = page.evaluate(
                    "() => getComputedStyle(document.querySelector("
                    "'tr[data-account] [data-figure=\"why\"]'), '::before').content"
                )
                assert label == '"Why"'
            else:
                assert {c["display"] for c in cells} == {"table-row"}
            assert overflowing(page) == [], size
        finally:
            offline.context.close()


def _with_position(api: LiveApi) -> tuple[str, list[dict[str, str]]]:
    for account in ("alice", "bob", "carol"):
        held = api.get(f"/api/v1/accounts/{account}/positions").json()["positions"]
        if held:
            return account, held
    raise AssertionError("the warm-up leaves open positions")


def _lines(page: Any) -> str:
    found: list[str] = page.eval_on_selector_all(
        'figure[data-chart="price"]', "fs => fs.map(f => f.dataset.lines ?? '(not drawn)')"
    )
    return "; ".join(x for x in found if x)


def test_an_account_page_is_one_read_and_follows_the_engine(live: LiveApi, browser: Any) -> None:
    account, held = _with_position(live)
    base = live.server.url
    offline = open_context(browser, SIZES["1280"])
    try:
        page = sign_in(offline, base, live.tokens["admin"])
        page.wait_for_function("() => document.getElementById('live-state').textContent === 'live'")
        page.goto(f"{base}/panel/accounts/{account}")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('figure[data-chart]'))"
            ".every(f => f.dataset.drawn === 'yes')"
        )
        # The lines are drawn after the chart itself (a busy CI machine saw the gap).
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('figure[data-chart=\"price\"]'))"
            ".every(f => f.dataset.lines !== undefined)"
        )
        want = sorted(
            [f"stop-loss {p['stop_loss']}" for p in held]
            + [f"take-profit {p['take_profit']}" for p in held]
        )
        assert _lines(page) == "; ".join(want)
        assert page.locator('[data-figure="chart-stop-loss"]').count() == len(held)
        page.evaluate("window.__sameDocument = true")

        # The operator flattens the account; the engine closes its positions on the next
        # candles. The open page follows: the figures, the table, the caption and the chart's
        # lines change together, without a reload.
        r = live.post(f"{ADMIN}/accounts/{account}/pause", {"reason": "audit", "flatten": True})
        assert r.status_code == 200, r.text
        for _ in range(10):
            live.trade(2)
            if not live.get(f"/api/v1/accounts/{account}/positions").json()["positions"]:
                break
        assert not live.get(f"/api/v1/accounts/{account}/positions").json()["positions"]
        page.wait_for_function(
            "() => document.querySelector('[data-figure=\"positions\"]').textContent.trim() === '0'"
        )
        assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
        assert page.locator('[data-figure="status"]').first.inner_text().strip() == "paused"
        assert page.locator('[data-figure="chart-stop-loss"]').count() == 0
        captions = page.locator('figure[data-chart="price"] figcaption').all_inner_texts()
        assert all("No open position" in c for c in captions), captions
        assert _lines(page) == "", "the chart still draws a stop-loss or take-profit"
        assert page.locator("tr[data-position]").count() == 0
        assert page.locator('figure[data-chart][data-drawn="yes"]').count() == 3
        screenshot(page, "panel-account-flattened-1280")
    finally:
        offline.context.close()
