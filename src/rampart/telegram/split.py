"""Telegram HTML cut into messages Telegram accepts.

Telegram's 4,096 is counted on the text it shows, after the HTML is parsed (Bot API,
sendMessage: "1-4096 characters after entities parsing"), in UTF-16 code units (an emoji
outside the Basic Multilingual Plane is two). So a piece is measured on what it shows: a tag
counts nothing, an entity (``&lt;``) the one character it stands for. Measuring the HTML as
written sent a text full of ``<``, ``>`` and ``&`` in three times the messages it needed.

A piece is cut at a line end where it can be; a single line longer than the limit is cut
between tokens — a tag (``<b>``), an entity (``&amp;``) or one grapheme cluster, what a reader
sees as one character — never inside one. A cut between code points showed a family emoji, a
flag, a skin-toned emoji or an accented letter written with a combining mark broken in two.
The tags open at a cut are closed at the end of the piece and opened again at the start of the
next, so each piece parses on its own (a cut inside ``&amp;`` or between ``<b>`` and ``</b>``
was refused as "can't parse entities").
"""

from __future__ import annotations

from html import unescape

import regex
from telegram.constants import MessageLimit

LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)
# \X: an extended grapheme cluster (Unicode UAX #29), which the stdlib's re cannot match.
_TOKEN = regex.compile(r"<[^<>]*>|&(?:#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);|\X", regex.DOTALL)
_TAG = regex.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def _shown(token: str) -> int:
    """What a token adds to the text Telegram shows, in UTF-16 units."""
    if token.startswith("<") and _TAG.match(token):
        return 0
    if token.startswith("&") and len(token) > 1:
        return units(unescape(token))
    return units(token)


def shown_units(html: str) -> int:
    """Length of the text Telegram shows for ``html``, in UTF-16 units."""
    return sum(_shown(t) for t in _TOKEN.findall(html))


def _cut_line(line: str, limit: int) -> list[str]:
    """``line`` in pieces showing at most ``limit`` units, each with its tags balanced."""
    pieces: list[str] = []
    opened: list[tuple[str, str]] = []
    """(name, the opening tag as written) of the tags open at this point."""
    current, size = "", 0

    def closers() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(opened))

    for token in _TOKEN.findall(line):
        tag = _TAG.match(token) if token.startswith("<") else None
        grows = _shown(token)
        if current and grows and size + grows > limit:
            pieces.append(current + closers())
            current = "".join(text for _, text in opened)
            size = 0
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
    """Pieces each showing at most ``limit`` UTF-16 units, cut at line ends (tags, which
    Rampart keeps on one line, stay whole); only a single line longer than the limit is cut
    inside, between tokens (see the module's docstring)."""
    pieces: list[str] = []
    current, size = "", 0
    for line in html.split("\n"):
        shown = shown_units(line)
        if shown > limit:
            if current:
                pieces.append(current)
                current, size = "", 0
            *whole, line = _cut_line(line, limit)
            pieces.extend(whole)
            shown = shown_units(line)
        if current and size + 1 + shown > limit:
            pieces.append(current)
            current, size = line, shown
        elif current:
            current, size = f"{current}\n{line}", size + 1 + shown
        else:
            current, size = line, shown
    if current.strip():
        pieces.append(current)
    return [p for p in pieces if p.strip()]
