"""Card labels rendered on the server: on a phone a table becomes cards, each cell
labelled by its column's header. The labels were copied by JavaScript on every table but
Accounts; every rendered page now carries them, so cards read without JavaScript."""

from __future__ import annotations

import html
import re

TABLE = re.compile(r"<table\b.*?</table>", re.S)
HEAD = re.compile(r"<thead\b.*?</thead>", re.S)
BODY = re.compile(r"<tbody\b.*?</tbody>", re.S)
ROW = re.compile(r"<tr\b.*?</tr>", re.S)
CELL = re.compile(r"<(t[hd])\b([^>]*)>", re.S)
HEAD_CELL = re.compile(r"<th\b([^>]*)>(.*?)</th>", re.S)
TAG = re.compile(r"<[^>]+>")
SPAN = re.compile(r'colspan="?(\d+)')


def _heads(thead: str) -> list[str]:
    """The column labels of a table's first header row, a wide header repeated per column."""
    first = ROW.search(thead)
    found: list[str] = []
    for attrs, inner in HEAD_CELL.findall(first.group(0) if first else thead):
        text = " ".join(html.unescape(TAG.sub(" ", inner)).split())
        span = SPAN.search(attrs)
        found.extend([text] * (int(span.group(1)) if span else 1))
    return found


def _label_row(row: str, heads: list[str]) -> str:
    column = 0
    out: list[str] = []
    last = 0
    for cell in CELL.finditer(row):
        tag, attrs = cell.group(1), cell.group(2)
        out.append(row[last : cell.start()])
        label = heads[column] if column < len(heads) else ""
        if label and "data-label=" not in attrs:
            attrs = f' data-label="{html.escape(label)}"{attrs}'
        out.append(f"<{tag}{attrs}>")
        last = cell.end()
        span = SPAN.search(attrs)
        column += int(span.group(1)) if span else 1
    out.append(row[last:])
    return "".join(out)


def _label_table(table: str) -> str:
    head = HEAD.search(table)
    if head is None:
        return table
    heads = _heads(head.group(0))
    if not any(heads):
        return table

    def body(m: re.Match[str]) -> str:
        return ROW.sub(lambda r: _label_row(r.group(0), heads), m.group(0))

    return BODY.sub(body, table)


def label_cells(page: str) -> str:
    """``page`` with every body cell of every table with a header row given its column's
    ``data-label`` (a label the template set is kept)."""
    return TABLE.sub(lambda m: _label_table(m.group(0)), page)
