"""Listings in a terminal, and the same rows as JSON.

A listing's key columns hold what a person copies into the next command (a model version for
``models promote``, an incident id for ``incidents --ack``, a token id for ``token revoke``):
they are never cut or wrapped. The other columns wrap between words. When even that cannot
fit the terminal (a long version id and eight figures in 80 columns), each row becomes a
block: its keys on one line, its other fields wrapped beneath, so nothing is cut mid-number.

``--json`` prints the rows as plain JSON on stdout, whatever the terminal's width.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table

MIN_WRAPPED = 6
"""The narrowest a wrapped column may become before the rows are shown as blocks."""
GAP = 3
"""Between two columns: a cell's padding each side and the (blank) rule between them."""


@dataclass(frozen=True, slots=True)
class Col:
    name: str
    key: bool = False
    """An id a person copies: shown whole, never wrapped."""
    justify: Literal["left", "right"] = "left"


def _longest_word(texts: Iterable[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=0)


def _widths(columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int] | None:
    """Each column's width in a table ``width`` wide with whole keys and whole words, or None
    when no such table fits. The widest wrapped column gives way first, never below its
    longest word (rich's own shrinking would fold words and numbers in two)."""
    natural: list[int] = []
    least: list[int] = []
    for i, col in enumerate(columns):
        cells = [col.name, *(row[i] for row in rows)]
        longest = max(len(cell) for cell in cells)
        natural.append(longest)
        least.append(longest if col.key else min(max(_longest_word(cells), MIN_WRAPPED), longest))
    room = width - GAP * (len(columns) - 1)
    if sum(least) > room:
        return None
    widths = list(natural)
    while sum(widths) > room:
        i = max(range(len(widths)), key=lambda k: (widths[k] - least[k] > 0, widths[k]))
        widths[i] -= 1
    return widths


def _table(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], title: str | None, widths: list[int]
) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
    )
    for col, wide in zip(columns, widths, strict=True):
        table.add_column(
            col.name,
            width=wide,
            no_wrap=col.key,
            overflow="ignore" if col.key else "fold",
            justify=col.justify,
        )
    for row in rows:
        table.add_row(*row)
    return table


def _blocks(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], title: str | None, width: int
) -> list[str]:
    lines = [title] if title else []
    for row in rows:
        pairs = list(zip(columns, row, strict=True))
        lines.append("  ".join(cell for col, cell in pairs if col.key))
        rest = " · ".join(f"{col.name} {cell}" for col, cell in pairs if not col.key and cell)
        if rest:
            lines += textwrap.wrap(
                rest,
                width=max(width, 20),
                initial_indent="  ",
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
    return lines


def print_listing(
    console: Console,
    columns: Sequence[Col],
    rows: Iterable[Sequence[str]],
    title: str | None = None,
) -> None:
    """``rows`` (one string per column) as a table, or as blocks when the terminal is narrow."""
    found = [list(row) for row in rows]
    widths = _widths(columns, found, console.width)
    if widths is None:
        for line in _blocks(columns, found, title, console.width):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(_table(columns, found, title, widths), soft_wrap=False)


def print_json(rows: Any) -> None:
    """Rows for scripts: plain JSON on stdout, never wrapped at the terminal's width."""
    typer.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))


__all__ = ["Col", "print_json", "print_listing"]
