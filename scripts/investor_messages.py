"""Writes docs/investors/messages.md: every sentence the bot and the notices can send an
investor, read from the code, so the list cannot fall behind it.

What counts: in the modules that talk to investors (the bot's investor commands and the
notices), every string constant named in capitals, and every literal handed to ``reply``,
``answer_button``, ``RampartError`` (its sentence is the reply) or a notice's ``_emit``. An
f-string's holes are shown as ``…``. ``--check`` exits 1 when the file differs from what the
code gives (tests/docs/test_investor_messages.py runs it).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "investors" / "messages.md"
MODULES = [
    "src/rampart/telegram/text.py",
    "src/rampart/telegram/chats.py",
    "src/rampart/telegram/durable.py",
    "src/rampart/telegram/investor_cmds.py",
    "src/rampart/telegram/sender.py",
    "src/rampart/telegram/portfolio_view.py",
    "src/rampart/telegram/connect_cmds.py",
    "src/rampart/telegram/intent_cmds.py",
    "src/rampart/telegram/habit_cmds.py",
    "src/rampart/telegram/notify_cmds.py",
    "src/rampart/telegram/profit_cmds.py",
    "src/rampart/telegram/terms_cmds.py",
    "src/rampart/telegram/wallet_cmds.py",
    "src/rampart/telegram/vibe.py",
    "src/rampart/telegram/demo.py",
    "src/rampart/telegram/report_cmds.py",
    "src/rampart/telegram/bot.py",
    "src/rampart/telegram/routes.py",
    "src/rampart/telegram/keycheck.py",
    "src/rampart/notices/investor_notices.py",
    "src/rampart/notices/money_notices.py",
    "src/rampart/notices/plain_words.py",
]
CALLS = {"reply", "answer_button", "RampartError", "_emit", "refuse"}
MIN_WORDS = 3
"""A literal of fewer words is a label or a key, not a message."""


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append("…")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "…") + (right or "…")
    return None


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def messages(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                values = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
                found += [(node.lineno, t) for v in values if (t := _text(v)) is not None]
        elif isinstance(node, ast.Call) and _name(node) in CALLS:
            for arg in node.args:
                text = _text(arg)
                if text is not None:
                    found.append((node.lineno, text))
    kept = {}
    for line, text in sorted(found):
        text = " ".join(text.split())
        if len(text.split()) >= MIN_WORDS and text not in kept:
            kept[text] = line
    return [(line, text) for text, line in kept.items()]


def refusals(path: Path) -> list[tuple[int, str]]:
    """The sentences ``path`` refuses with (``RampartError``; ``refuse`` adds the usage line
    itself, so it is left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node) == "RampartError":
            for arg in node.args:
                text = _text(arg)
                if text is not None and len(text.split()) >= MIN_WORDS:
                    found.append((node.lineno, " ".join(text.split())))
    return found


def render() -> str:
    out = [
        "# Every message an investor can receive",
        "",
        "Generated from the code by `scripts/investor_messages.py`; do not edit by hand (a test",
        "fails when this page and the code differ). Each line is a sentence the bot or a notice",
        "sends, as written in the code: `…` stands for what is filled in (an amount, a symbol, a",
        "time, a reason). Messages are Telegram HTML; tags are shown as written.",
        "",
    ]
    for module in MODULES:
        path = ROOT / module
        found = messages(path)
        if not found:
            continue
        out += [f"## {module.removeprefix('src/')}", ""]
        out += [f"- {text.replace('|', '¦')}" for _, text in found]
        out.append("")
    return "\n".join(out)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run python scripts/investor_messages.py")
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    print(f"Wrote {OUT.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
