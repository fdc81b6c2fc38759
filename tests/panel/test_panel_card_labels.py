"""Card labels from the server: on a phone a table becomes cards, each cell labelled
by its column; the labels were copied by JavaScript on every table but Accounts. Every body
cell of every page's tables now carries its column's ``data-label`` in the HTML itself."""

from __future__ import annotations

import re

from rampart.api.panel.cells import label_cells
from tests.api.conftest import LiveApi
from tests.panel.panel_http import sign_in

BODY = re.compile(r"<tbody\b.*?</tbody>", re.S)
CELL = re.compile(r"<t[hd]\b([^>]*)>", re.S)
PAGES = ("/panel", "/panel/trades", "/panel/operations", "/panel/trading", "/panel/reports")


def test_each_cell_takes_its_columns_header_a_wide_header_and_a_set_label_kept() -> None:
    page = (
        '<table><thead><tr><th>Pair</th><th colspan="2">Profit &amp; loss</th><th>Why</th>'
        '</tr></thead><tbody><tr><th scope="row">BTC</th><td>1</td><td class="num">2</td>'
        '<td data-label="Reason">x</td></tr></tbody></table>'
    )
    labelled = label_cells(page)
    assert CELL.findall(BODY.search(labelled).group(0)) == [  # type: ignore[union-attr]
        ' data-label="Pair" scope="row"',
        ' data-label="Profit &amp; loss"',
        ' data-label="Profit &amp; loss" class="num"',
        ' data-label="Reason"',
    ]
    assert label_cells("<table><tr><td>no header</td></tr></table>").count("data-label") == 0


def test_every_tables_cells_carry_their_labels_without_javascript(live: LiveApi) -> None:
    client = sign_in(live)
    account = live.account_ids[0] if hasattr(live, "account_ids") else None
    pages = [*PAGES, *([f"/panel/accounts/{account}"] if account else [])]
    seen = 0
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        for body in BODY.findall(page.text):
            for attrs in CELL.findall(body):
                if "colspan" in attrs:
                    continue  # an "empty" row's one cell spans the table
                assert "data-label=" in attrs, (path, attrs)
                seen += 1
    assert seen > 0
