"""Telegram HTML cut into messages Telegram accepts.

Telegram's 4,096 is counted in UTF-16 code units (an emoji outside the Basic Multilingual Plane
is two), so a piece is measured that way; counting Python characters sent an operator's copy of
a support ticket full of emoji over the limit, refused. A piece is cut at a line end where it
can be; a single line longer than the limit is cut between tokens — a tag (``<b>``), an entity
(``&amp;``) or one character — never inside one, and the tags open at the cut are closed at the
end of the piece and opened again at the start of the next, so each piece parses on its own
(a cut inside ``&amp;`` or between ``<b>`` and ``</b>`` was refused as "can't parse entities").
Measuring the HTML rather than the text shown is conservative: tags and entities only shrink.
"""

from __future__ import annotations

import re

from telegram.constants import MessageLimit

LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
_TOKEN = re.compile(r"<[^<>]*>|&(?:#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|.", re.DOTALL)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def _cut_line(line: str, limit: int) -> list[str]:
    """``line`` in pieces of at most ``limit`` units, each with its tags balanced."""
    pieces: list[str] = []
    opened: list[tuple[str, str]] = []
    """(name, the opening tag as written) of the tags open at this point."""
    current, size = "", 0

    def closers() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(opened))

    for token in _TOKEN.findall(line):
        tag = _TAG.match(token) if token.startswith("<") else None
        grows = units(token)
        # Room for this token and the closing tags the piece may need.
        close = units(closers()) + (len(tag.group(2)) + 3 if tag and not tag.group(1) else 0)
        if current and size + grows + close > limit:
            pieces.append(current + closers())
            current = "".join(text for _, text in opened)
            size = units(current)
        current += token
        size += grows
        if tag is not None:
            name = tag.group(2).lower()
            if not tag.group(1):
                opened.append((name, token))
            elif opened and opened[-1][0] == name:
                opened.pop()
    if current:
        pieces.append(current + closers())
    return pieces


def split_text(html: str, limit: int = LIMIT) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, cut at line ends (tags, which Rampart keeps on
    one line, stay whole); only a single line longer than the limit is cut inside, between
    tokens (see the module's docstring)."""
    pieces: list[str] = []
    current = ""
    for line in html.split("\n"):
        if units(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            *whole, line = _cut_line(line, limit)
            pieces.extend(whole)
        joined = f"{current}\n{line}" if current else line
        if units(joined) > limit:
            pieces.append(current)
            current = line
        else:
            current = joined
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]
