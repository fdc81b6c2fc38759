"""Real headless Chromium for the panel's and the docs pages' browser tests.

The browser is Debian's ``chromium`` package (``.ci/run`` installs it), driven by Playwright
for Python with ``executable_path``: nothing is downloaded at run time. Without chromium the
tests skip with the reason on a developer's machine and fail in CI (``CI=true``), where they
must run.

Every page is opened offline: requests to anything but 127.0.0.1 are aborted and recorded, so
a page that needs a CDN shows up as blank and as a blocked request. The service is the one the
API tests use (tests/api/conftest.py): a TradingSession on simulated time served by uvicorn on
127.0.0.1, port 0.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from rampart.security.tokens import create_token

# The API tests' services: `shared` (one per module, for tests that only look) and `live` (one
# per test, for a test that acts).
from tests.api.conftest import LiveApi, live, shared  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "ci" / "screenshots"
"""Where the browser tests' screenshots go: CI keeps var/ci/ as its artifacts (.ci/run)."""
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM = os.environ.get("RAMPART_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LOCAL_HOSTS = frozenset({"127.0.0.1"})
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1920, "height": 1080}
SIZES = {"390": PHONE, "1280": DESKTOP, "1920": WIDE}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module, not session: Playwright's sync API keeps its event loop marked as running for as
    # long as it is started, so a later test of another module on the same worker could not
    # call asyncio.run(). Pytest tears this down before the worker moves to another module.
    if not Path(CHROMIUM).is_file():
        reason = (
            f"No chromium at {CHROMIUM}: the browser tests need Debian's chromium package "
            "(apt-get install -y chromium; .ci/run installs it)."
        )
        if in_ci():
            pytest.fail(reason + " CI must run them.")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Offline:
    """A browser context whose requests may reach 127.0.0.1 only."""

    context: Any
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def page(self) -> Any:
        page = self.context.new_page()
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        return page


def _route(offline: Offline) -> Any:
    def handle(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            offline.blocked.append(url)
            route.abort("internetdisconnected")

    return handle


def open_context(browser: Any, viewport: dict[str, int] | None = None) -> Offline:
    context = browser.new_context(viewport=viewport or DESKTOP)
    context.set_default_timeout(15_000)
    offline = Offline(context)
    context.route("**/*", _route(offline))
    return offline


@pytest.fixture
def offline(browser: Any) -> Iterator[Offline]:
    made = open_context(browser)
    try:
        yield made
    finally:
        made.context.close()


def read_token(api: LiveApi) -> str:
    """An operator's viewing token: it reads every page and every account, and cannot act."""
    return create_token(api.session.db, "read", None, "panel-read", api.ops.now_ms())


def user_token(api: LiveApi) -> str:
    """An investor's token: it reads its own account only, and cannot act either."""
    return create_token(api.session.db, "user", "alice", "panel-user", api.ops.now_ms())


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under var/ci/screenshots/ (CI's artifacts, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of ``impacts`` on the page as it is, one line each."""
    # Evaluated over the DevTools protocol rather than added as a <script>: the pages' content
    # security policy rightly refuses inline scripts.
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in result["violations"]
        if v.get("impact") in impacts
    ]


def sign_in(offline: Offline, base: str, token: str) -> Any:
    """A page signed in with ``token`` through the sign-in form, on /panel."""
    page = offline.page()
    page.goto(f"{base}/panel/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/panel")
    return page


def post_forms_without_csrf(page: Any) -> list[str]:
    """The page's POST forms that carry no hidden csrf field with a value."""
    found: list[str] = page.eval_on_selector_all(
        "form",
        """forms => forms
            .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
            .filter(f => !f.querySelector('input[type=hidden][name=csrf][value]:not([value=""])'))
            .map(f => f.getAttribute('action') || '(no action)')""",
    )
    return found


# Every word and number of the page's text, each checked to sit on one line: a break inside
# one ("29271.1669" / "43693700", "accou" / "nt") is what `overflow-wrap: anywhere` and
# `word-break: break-all` did. A word is a run of letters and digits, with the ".", ",", ":"
# inside numbers and times ("29,271.17", "12:00:05"); a line may still end after a space, a
# hyphen or a slash. Chart internals (canvas, the library's own labels) are not text we lay out.
BROKEN_WORDS_JS = """
() => {
  const broken = [];
  const word = /[\\p{L}\\p{N}]+(?:[.,:][\\p{L}\\p{N}]+)*/gu;
  const root = document.querySelector('main') || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest('[data-chart-canvas], script, style, .sr')
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    for (const m of text.matchAll(word)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0 && r.height > 0)
        .map(r => Math.round(r.top)));
      if (lines.size > 1) {
        const cell = node.parentElement.closest('td, th, dd, dt, li, p, code, h1, h2')
          || node.parentElement;
        broken.push(`${m[0]} (in <${cell.tagName.toLowerCase()}>)`);
      }
    }
  }
  return broken;
}
"""

# What makes a phone user scroll the whole page sideways (only a table's own box may scroll),
# and tables that are wider than their card without a box that scrolls them.
OVERFLOW_JS = """
() => {
  const found = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) {
    found.push(`the page is ${doc.scrollWidth}px wide in a ${window.innerWidth}px window`);
  }
  for (const table of document.querySelectorAll('main table')) {
    if (table.closest('[data-chart-canvas]')) continue;
    const box = table.closest('.scroll');
    const scrolls = box && ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
    const card = table.closest('.card') || document.querySelector('main');
    if (!scrolls && table.getBoundingClientRect().width > card.getBoundingClientRect().width + 1) {
      const name = table.id || table.caption?.textContent || 'no id';
      found.push(`a table (${name}) is wider than its card and does not scroll`);
    }
  }
  return found;
}
"""


def broken_words(page: Any) -> list[str]:
    """Words and numbers of the page laid out across two lines (each once, with its element)."""
    found: list[str] = page.evaluate(BROKEN_WORDS_JS)
    return sorted(set(found))


def overflowing(page: Any) -> list[str]:
    """Why the page scrolls sideways as a whole, or a table overflows without scrolling."""
    found: list[str] = page.evaluate(OVERFLOW_JS)
    return found
