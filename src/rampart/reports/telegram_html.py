"""A report's Markdown as Telegram HTML: bold headers, tables in <pre>, at most 4096
characters per message; image lines are dropped (the charts go as photos)."""

from __future__ import annotations

import re
from html import escape, unescape

LIMIT = 4096
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)$")


def _section_html(lines: list[str]) -> str:
    out: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            rows = [
                [cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in table
                if not set(line.replace("|", "").strip()) <= {"-", ":"}
            ]
            widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(rows[0]))]
            text = "\n".join(
                "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows
            )
            out.append(f"<pre>{escape(text, quote=False)}</pre>")
            table.clear()

    for line in lines:
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if _IMAGE.match(line.strip()) or line.strip() == "---":
            continue
        if line.startswith("#"):
            out.append(f"<b>{escape(line.lstrip('#').strip(), quote=False)}</b>")
        else:
            out.append(_BOLD.sub(r"<b>\1</b>", escape(line, quote=False)))
    flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _cut(html: str, limit: int) -> str:
    """One section too long on its own: plain text, cut to fit, so no tag is left open."""
    plain = unescape(re.sub(r"<[^>]+>", "", html))
    size = limit
    while len(escape(plain[:size], quote=False)) > limit:
        size -= 64
    return escape(plain[:size], quote=False)


def to_telegram_html(markdown: str, limit: int = LIMIT) -> list[str]:
    """Messages of at most ``limit`` characters, split between sections (``##`` headers)."""
    sections: list[list[str]] = [[]]
    for line in markdown.splitlines():
        if line.startswith("## ") and sections[-1]:
            sections.append([])
        sections[-1].append(line)
    messages: list[str] = []
    current = ""
    for section in sections:
        html = _section_html(section)
        if not html:
            continue
        if len(html) > limit:
            html = _cut(html, limit)
        candidate = f"{current}\n\n{html}" if current else html
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = html
    if current:
        messages.append(current)
    return messages
