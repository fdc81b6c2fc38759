"""docs/investors/messages.md is generated from the code: it lists the
sentences investors receive and fails here as soon as the code says something it does not."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "investor_messages.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("investor_messages_script", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_page_is_what_the_code_says() -> None:
    script = _script()
    page = script.OUT.read_text(encoding="utf-8")
    assert page == script.render(), "run: python scripts/investor_messages.py"
    # The sentences an investor reads in the commonest moments are on it.
    from rampart.telegram.text import REPLY_REFUSED, SORRY_AFTER

    for sentence in (SORRY_AFTER, REPLY_REFUSED, "<b>Bought …</b>"):
        assert sentence in page, sentence
    # No trader's jargon an investor would have to look up.
    jargon = re.compile(
        r"\bflat\b|bracket|candle|position monitor|at market\b|\bPnL\b|equity|drawdown"
        r"|breaker tripped",
        re.IGNORECASE,
    )
    assert jargon.findall(page) == []


def test_a_new_sentence_makes_the_page_stale(tmp_path: Path) -> None:
    script = _script()
    module = tmp_path / "cmds.py"
    module.write_text(
        "async def pause(bot, update):\n"
        "    await bot.reply(update, f'Paused {update}: no new positions.')\n"
        "    raise RampartError('That is not a command I know.')\n"
        "WORDS = {'a': 'Your account trades normally again.'}\n"
    )
    found = [text for _, text in script.messages(module)]
    assert found == [
        "Paused …: no new positions.",
        "That is not a command I know.",
        "Your account trades normally again.",
    ]


NEXT_STEP = re.compile(r"/[a-z]|\b(?:send|try|ask|wait|choose|tap|turn)\b", re.IGNORECASE)
"""A command to send, or what to do, in the sentence itself."""


def test_every_refusal_says_what_to_do_next() -> None:
    script = _script()
    silent = [
        f"{module}:{line}: {text}"
        for module in script.MODULES
        for line, text in script.refusals(script.ROOT / module)
        # A sentence ending in a hole is finished by what fills it (a usage line, a reason).
        if not NEXT_STEP.search(text) and not text.endswith("…")
    ]
    assert silent == []
