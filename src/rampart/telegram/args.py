"""What each investor command accepts, and one place that refuses anything else.

A command never silently ignores a word: ``/pause tg-101`` must not pause the sender's own
account as if the word were not there. Each handler states how many words it takes; extra or
missing ones are answered with the command's usage line and nothing changes. What was typed is
quoted only through :func:`shown`, cut short: an answer quoting a long argument would be too
long to send.
"""

from __future__ import annotations

import re
from decimal import Decimal

from rampart.domain.errors import RampartError

USAGE: dict[str, str] = {
    "help": "/help",
    "demo": "/demo",
    "portfolio": "/portfolio",
    "trades": "/trades",
    "why": "/why",
    "pause": "/pause",
    "resume": "/resume",
    "disconnect": "/disconnect",
    "connect": "/connect paper or /connect binance",
    "risk": "/risk to compare profiles, or /risk conservative, moderate or aggressive",
    "invest": "/invest AMOUNT, like /invest 300 or /invest 1,500.50",
    "mode": "/mode paper or /mode live",
    "close": "/close ETH, /close ETH/USDT or /close all",
    "allow": "/allow ETH or /allow all",
    "terms": "/terms",
    "feedback": "/feedback SCORE [WORDS], a score from 1 (bad) to 5 (very good): /feedback 5 clear",
    "support": "/support WHAT IS WRONG, or /support critical WHAT IS WRONG when money is at risk",
    "answer": "/answer TICKET YOUR ANSWER, like /answer 12 Your account is resumed",
}


SHOWN_CHARS = 32
"""At most this much of what was typed is quoted back."""


def shown(raw: str) -> str:
    """``raw`` quoted for an answer, cut to :data:`SHOWN_CHARS` characters."""
    text = " ".join(raw.split())
    return repr(text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…")


def refuse(command: str, problem: str) -> RampartError:
    return RampartError(f"{problem} Usage: {USAGE[command]}")


def words(command: str, args: list[str], most: int, least: int = 0) -> list[str]:
    """``args`` when there are ``least`` to ``most`` of them; else the usage line, refused."""
    if len(args) > most:
        extra = " ".join(args[most:])
        takes = "takes nothing after it" if most == 0 else "takes fewer words"
        raise refuse(command, f"/{command} {takes}; I did not act on {shown(extra)}.")
    if len(args) < least:
        raise refuse(command, f"/{command} needs more.")
    return args


_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
"""Plain decimal amounts: digits, optional thousands commas, an optional fraction. No signs,
exponents (``1e3``), ``inf`` or ``nan``: a typo must never become a different amount."""


def amount(raw: str) -> Decimal | None:
    """The amount ``raw`` writes plainly, or None."""
    text = raw.strip()
    if not _AMOUNT.fullmatch(text):
        return None
    return Decimal(text.replace(",", ""))
