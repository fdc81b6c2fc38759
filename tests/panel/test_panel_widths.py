"""The panel reads at every width a person opens it at (360, 390, 768, 1024, 1440 and 1920 px):
no figure is cut or left outside what the screen shows, and every row's Why is on screen,
wrapping at spaces rather than clipped. Checked in Chromium by a rule over the laid-out page
(each figure and each Why cell lies whole inside the window and inside the box that shows it;
no cell's text overflows its cell), with a screenshot of each page at each width."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import LiveApi
from tests.panel.conftest import open_context, screenshot, sign_in

WIDTHS = (360, 390, 768, 1024, 1440, 1920)
PAGES = (
    ("Overview", "/panel"),
    ("Accounts", "/panel/accounts"),
    ("Account", "/panel/accounts/alice"),
    ("Launch", "/panel/launch"),
)

# Each money figure (data-figure) and each Why cell must lie whole within the window and within
# every ancestor that clips (overflow other than visible), and no table cell's content may be
# wider than the cell: what a person sees is the whole figure, not "958." of 958.81.
HIDDEN_JS = """
() => {
  const found = [];
  const win = {left: 0, right: window.innerWidth};
  const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1;
  const name = el => `${el.dataset.figure || el.className || el.tagName.toLowerCase()}`
    + ` "${el.textContent.trim().slice(0, 40)}"`;
  // Hidden from sight on purpose: screen-reader text, chart internals, a table's header row
  // folded away when its rows are cards (each cell then carries its column's name).
  const folded = el => { const h = el.closest('thead'); return h && h.clientHeight <= 1; };
  const shown = el => el.getClientRects().length > 0 && !folded(el)
    && !el.closest('.sr, [data-chart-canvas]');
  const checked = document.querySelectorAll('main [data-figure], main td.why, main th.why');
  for (const el of checked) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (!inside(r, win)) { found.push(`${name(el)} is outside the window`); continue; }
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible' && !inside(r, up.getBoundingClientRect())) {
        found.push(`${name(el)} is cut by its box`);
        break;
      }
    }
  }
  for (const el of document.querySelectorAll('main td, main th, main .cut')) {
    if (!shown(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
      found.push(`${name(el)} overflows its cell`);
    }
  }
  return found;
}
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_figure_and_why_is_whole_on_screen_at_every_width(
    shared: LiveApi, browser: Any, width: int
) -> None:
    base = shared.server.url
    offline = open_context(browser, {"width": width, "height": 900})
    problems: dict[str, list[str]] = {}
    try:
        page = sign_in(offline, base, shared.tokens["admin"])
        for label, path in PAGES:
            page.goto(f"{base}{path}")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('figure[data-chart]'))"
                ".every(f => f.dataset.drawn)"
            )
            screenshot(page, f"panel-width-{label.lower()}-{width}")
            found: list[str] = page.evaluate(HIDDEN_JS)
            if found:
                problems[label] = found
            if label == "Accounts":
                whys = page.locator("td.why").count()
                assert whys == len(shared.engine.accounts), "a Why cell on every row"
    finally:
        offline.context.close()
    assert problems == {}, width
