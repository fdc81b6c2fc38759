"""/docs and /redoc render the API's operations in a real browser with no internet: every
request to anything but 127.0.0.1 is aborted, so a script or style from a CDN would leave the
page blank (as FastAPI's default pages are offline)."""

from __future__ import annotations

from tests.api.conftest import LiveApi
from tests.panel.conftest import Offline, screenshot

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_swagger_ui_renders_the_operations_offline(shared: LiveApi, offline: Offline) -> None:
    page = offline.page()
    page.goto(f"{shared.server.url}/docs")
    # An operation of each kind the API has: open, investor and operator.
    ops = page.locator(".opblock-summary-path")
    ops.filter(has_text="/api/v1/admin/kill-switch").first.wait_for(timeout=20_000)
    paths = set(ops.all_inner_texts())
    for path in ("/health", "/api/v1/accounts/{account_id}/portfolio", "/api/v1/admin/kill-switch"):
        assert any(path in p.replace("\u200b", "") for p in paths), (path, sorted(paths)[:5])
    assert page.locator(".info .title").first.inner_text().startswith("Rampart")
    screenshot(page, "docs-swagger-1280")
    assert offline.blocked == []
    assert not [e for e in offline.console_errors if "Content Security Policy" in e]


def test_redoc_renders_the_operations_offline(shared: LiveApi, offline: Offline) -> None:
    page = offline.page()
    page.goto(f"{shared.server.url}/redoc")
    page.get_by_text("/api/v1/admin/kill-switch").first.wait_for(timeout=20_000)
    assert page.locator("h1").first.inner_text().startswith("Rampart")
    menu = page.locator("[role=menuitem], .menu-content li").all_inner_texts()
    assert len(menu) > 10, menu
    screenshot(page, "docs-redoc-1280")
    assert offline.blocked == []
    # ReDoc's menu footer shows Redocly's logo from their CDN and removes it when it does not
    # load; the policy refuses it before any request leaves, and nothing else is refused.
    refused = [e for e in offline.console_errors if "Content Security Policy" in e]
    assert [e for e in refused if REDOC_LOGO not in e] == []


def test_the_docs_assets_are_served_by_rampart(shared: LiveApi) -> None:
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        got = shared.client.get(f"/docs/assets/{asset}")
        assert got.status_code == 200, asset
        assert len(got.content) > 100_000
    for path in ("/docs", "/redoc"):
        html = shared.client.get(path).text
        assert "cdn." not in html and "fonts.googleapis" not in html, path
