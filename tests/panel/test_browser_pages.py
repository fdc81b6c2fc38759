"""Every panel page in a real browser: reached from the navigation, its figures the very
strings the API returns, no serious or critical accessibility violation (axe-core), nothing
fetched from anywhere but the shared, and a screenshot at desktop and phone width."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.money_format import money, pnl, price
from tests.api.conftest import LiveApi
from tests.panel.conftest import (
    SCREENSHOTS,
    SIZES,
    Offline,
    axe_violations,
    broken_words,
    open_context,
    overflowing,
    post_forms_without_csrf,
    screenshot,
    sign_in,
)

ADMIN = "/api/v1/admin"
OVERVIEW = (
    "kill-switch",
    "stage",
    "equity-total",
    "pnl-today",
    "event-lag",
    "order-success",
    "alerts-firing",
    "incidents-open",
)
PAGES = (
    ("Overview", "/panel"),
    ("Accounts", "/panel/accounts"),
    ("Account", "/panel/accounts/alice"),
    ("Trades", "/panel/trades"),
    ("Trading", "/panel/trading"),
    ("Launch", "/panel/launch"),
    ("Reports", "/panel/reports"),
    ("Revenue", "/panel/revenue"),
    ("People", "/panel/people"),
    ("Operations", "/panel/operations"),
)


def figure(scope: Any, name: str) -> str:
    text: str = scope.locator(f'[data-figure="{name}"]').first.inner_text()
    return text.strip()


def test_overview_figures_are_the_apis(shared: LiveApi, offline: Offline) -> None:
    page = sign_in(offline, shared.server.url, shared.tokens["admin"])
    overview = shared.get(f"{ADMIN}/overview").json()
    api = {**overview["figures"], **overview["shown"]}  # money as the page prints it
    assert api["accounts"] == "3" and overview["figures"]["equity-total"] != "0"
    for name in OVERVIEW:
        assert figure(page, name) == api[name], name


def test_accounts_rows_are_the_apis(shared: LiveApi, offline: Offline) -> None:
    page = sign_in(offline, shared.server.url, shared.tokens["admin"])
    page.get_by_role("navigation").get_by_role("link", name="Accounts").click()
    page.wait_for_url("**/panel/accounts")
    accounts = shared.get(f"{ADMIN}/accounts").json()["accounts"]
    assert len(accounts) == 3
    assert page.locator("tr[data-account]").count() == len(accounts)
    for account in accounts:
        row = page.locator(f'tr[data-account="{account["account_id"]}"]')
        assert figure(row, "equity") == money(Decimal(account["equity"]), account["quote"])
        assert figure(row, "positions") == str(account["open_positions"])
        assert figure(row, "status") == account["status"]


def test_account_page_shows_the_apis_stop_loss_and_take_profit(
    shared: LiveApi, offline: Offline
) -> None:
    base = shared.server.url
    page = sign_in(offline, base, shared.tokens["admin"])
    opened = [
        a
        for a in ("alice", "bob", "carol")
        if shared.get(f"/api/v1/accounts/{a}/positions").json()["positions"]
    ]
    assert opened, "the warm-up leaves open positions"
    account = opened[0]
    positions = shared.get(f"/api/v1/accounts/{account}/positions").json()["positions"]
    page.goto(f"{base}/panel/accounts")
    # The list's own link is followed by its address: the live table may be swapped under a
    # click on a loaded machine (CI saw one click land on a row being replaced, no navigation).
    href = (
        page.locator(f'tr[data-account="{account}"]')
        .get_by_role("link")
        .first.get_attribute("href")
    )
    assert href is not None and href.endswith(f"/panel/accounts/{account}"), href
    page.goto(href if href.startswith("http") else f"{base}{href}")
    page.wait_for_url(f"**/panel/accounts/{account}")
    shown_sl = page.locator('[data-figure="stop-loss"]').all_inner_texts()
    shown_tp = page.locator('[data-figure="take-profit"]').all_inner_texts()

    def px(p: dict[str, str], key: str) -> str:  # at the instrument's tick, as every front
        return price(Decimal(p[key]), "", shared.engine.venue.instrument(p["symbol"]).tick_size)

    assert sorted(s.strip() for s in shown_sl) == sorted(px(p, "stop_loss") for p in positions)
    assert sorted(s.strip() for s in shown_tp) == sorted(px(p, "take_profit") for p in positions)
    portfolio = shared.get(f"/api/v1/accounts/{account}/portfolio").json()
    summary = page.locator("dl").first
    quote = portfolio["quote"]
    for name in ("equity", "cash", "fees-paid"):
        assert figure(summary, name) == money(Decimal(portfolio[name.replace("-", "_")]), quote)
    for name in ("pnl-today", "unrealized-pnl"):
        assert figure(summary, name) == pnl(Decimal(portfolio[name.replace("-", "_")]), quote)
    assert figure(summary, "positions") == str(portfolio["open_positions"])


def test_launch_go_nogo_is_the_apis(shared: LiveApi, offline: Offline) -> None:
    page = sign_in(offline, shared.server.url, shared.tokens["admin"])
    page.get_by_role("navigation").get_by_role("link", name="Launch").click()
    page.wait_for_url("**/panel/launch")
    report = shared.get(f"{ADMIN}/go-nogo").json()
    assert figure(page, "go-verdict") == report["verdict"]
    assert figure(page, "go-summary") == report["summary"]
    for criterion in report["criteria"]:
        row = page.locator(f'tr[data-criterion="{criterion["name"]}"]')
        assert figure(row, "verdict") == criterion["verdict"], criterion["name"]


def _open(page: Any, base: str, label: str, path: str, phone: bool) -> None:
    """Reach a page as a person does: from the navigation when it names the page."""
    nav = page.get_by_role("navigation", name="Panel")
    link = nav.get_by_role("link", name=label, exact=True)
    if path == page.url.removeprefix(base) or label in ("Account", "Confirm"):
        page.goto(f"{base}{path}")
    elif phone and not link.is_visible():
        page.goto(f"{base}{path}")  # a phone layout may fold the menu away
    else:
        link.click()
    page.wait_for_url(f"{base}{path}")


@pytest.mark.parametrize("size", ["1280", "390", "1920"])
def test_every_page_reads_whole_words_is_accessible_offline_and_screenshotted(
    shared: LiveApi, browser: Any, size: str
) -> None:
    """Every page at one width, in one signed-in browser: a screenshot of each in
    var/ci/screenshots/ (CI's artifacts), no word or number broken across lines, no sideways
    scrolling of the page (a wide table scrolls in its own box; at 390 px tables are cards),
    no serious or critical axe violation, nothing fetched from elsewhere and nothing refused
    by the content security policy."""
    base = shared.server.url
    viewport = SIZES[size]
    problems: dict[str, dict[str, list[str]]] = {}
    offline = open_context(browser, viewport)
    try:
        login = offline.page()
        login.goto(f"{base}/panel/login")
        screenshot(login, f"panel-login-{size}")
        found = {"broken": broken_words(login), "overflow": overflowing(login)}
        found["axe"] = axe_violations(login)
        problems["Login"] = {k: v for k, v in found.items() if v}
        login.close()
        page = sign_in(offline, base, shared.tokens["admin"])
        for label, path in (*PAGES, ("Confirm", "/panel/act/kill-engage")):
            _open(page, base, label, path, size == "390")
            assert page.locator("h1").first.inner_text().strip(), label
            assert post_forms_without_csrf(page) == [], label
            # The charts fetch their data: the screenshot and the checks wait for them.
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('figure[data-chart]'))"
                ".every(f => f.dataset.drawn)"
            )
            failed = page.locator('figure[data-chart][data-drawn="failed"]').count()
            assert failed == 0, f"{label}: {failed} chart(s) could not load their data"
            screenshot(page, f"panel-{label.lower()}-{size}")
            if label == "Overview" and size == "1280":
                # The README's picture (docs/images/panel-overview.png): the first screen.
                page.screenshot(path=str(SCREENSHOTS / "panel-overview-screen.png"))
            found = {"broken": broken_words(page), "overflow": overflowing(page)}
            found["axe"] = axe_violations(page)
            problems[label] = {k: v for k, v in found.items() if v}
        # An investor's token: its own Overview (its account's equity history) and the page a
        # typed address to an operator page answers.
        page.close()  # the admin's page: the next sign-in replaces its cookie
        mine = sign_in(offline, base, shared.tokens["alice"])
        for label, path in (("Investor", "/panel"), ("Refused", "/panel/trading")):
            mine.goto(f"{base}{path}")
            mine.wait_for_function(
                "() => Array.from(document.querySelectorAll('figure[data-chart]'))"
                ".every(f => f.dataset.drawn === 'yes')"
            )
            screenshot(mine, f"panel-{label.lower()}-{size}")
            found = {"broken": broken_words(mine), "overflow": overflowing(mine)}
            found["axe"] = axe_violations(mine)
            problems[label] = {k: v for k, v in found.items() if v}
        assert {k: v for k, v in problems.items() if v} == {}, size
        assert offline.blocked == [], size
        assert not [e for e in offline.console_errors if "Content Security Policy" in e]
    finally:
        offline.context.close()
