"""Proving an exchange key before it is saved: first its shape (no request made for text that
cannot be a key), then one balance fetch with it, through ccxt
(:func:`rampart.operator.keycheck.ccxt_key_checker`, the facade's, which the bot is given).

Shapes: Binance's API keys and secrets (HMAC) are 64 letters and digits each — its API
documentation's example key and secret are — so ``abc``, 5,000 characters or a key with a line
break in it is refused in one sentence before the secret is asked or the exchange is called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rampart.domain.errors import RampartError
from rampart.operator.keycheck import KeyChecker, ccxt_key_checker


@dataclass(frozen=True, slots=True)
class Shape:
    pattern: re.Pattern[str]
    words: str
    """What one looks like, in the sentence that refuses another."""


SHAPES: dict[str, Shape] = {
    "binance": Shape(re.compile(r"[A-Za-z0-9]{64}"), "64 letters and digits"),
}
"""Per exchange: what its API key and its secret look like (both the same shape here)."""


def check_shape(exchange: str, what: str, text: str) -> None:
    """Refuse ``text`` as ``exchange``'s ``what`` ("API key" or "API secret") when it cannot
    be one; the sentence never quotes it. An exchange without a known shape is not checked."""
    shape = SHAPES.get(exchange)
    if shape is None or shape.pattern.fullmatch(text):
        return
    name = exchange.capitalize()
    raise RampartError(
        f"That is not a {name} {what}: a {name} {what} is {shape.words}, on one line with "
        f"nothing else. Nothing was saved; send the {what} again, or /connect {exchange} to "
        "start over."
    )


SECRET_LIKE = re.compile(r"[A-Za-z0-9+/=_\-]{20,}")
"""One unbroken run of key characters, 20 or longer: an exchange key or secret (64 here), a
Solana private key in base58 (87 or 88)."""
BYTES_LIKE = re.compile(r"\[\s*\d{1,3}(\s*,\s*\d{1,3}){31,}\s*\]")
"""A wallet file's key: a JSON list of 32 or 64 bytes."""
PHRASE_WORDS = (12, 15, 18, 21, 24)
"""How many words a recovery phrase has (BIP-39)."""
OWN_ID_PREFIX = "rp-"
"""Rampart's client order ids (and so its trade ids) begin so: never a key."""
KEY_IN_WORDS = 32
"""A run of key characters this long among other words is taken for a key: as people paste a
key and its secret together ("key secret", one a line, "API key: … Secret: …", JSON)."""
_BETWEEN = re.compile(r"[\s,;:=\"'`{}()\[\]]+")
"""What separates a key from its label or from the secret, in the forms people paste."""


def _words(text: str) -> list[str]:
    return [w for w in _BETWEEN.split(text) if w]


def key_pair(exchange: str, text: str) -> tuple[str, str] | None:
    """(key, secret) when ``text`` holds exactly two words of ``exchange``'s key shape (any
    run of key characters for an exchange without a known shape), in the order pasted."""
    shape = SHAPES.get(exchange)
    pattern = shape.pattern if shape is not None else SECRET_LIKE
    found = [w for w in _words(text) if pattern.fullmatch(w)]
    return (found[0], found[1]) if len(found) == 2 else None


def looks_like_secret(text: str) -> bool:
    """True for a message that may be a key, a secret or a recovery phrase: it is deleted even
    when no /connect waits for one (else such a message stays in the chat)."""
    text = text.strip()
    if text.startswith(OWN_ID_PREFIX):
        return False  # one of Rampart's own order or trade ids, pasted to ask about it
    if SECRET_LIKE.fullmatch(text) or BYTES_LIKE.fullmatch(text):
        return True
    if any(
        len(w) >= KEY_IN_WORDS and SECRET_LIKE.fullmatch(w) and not w.startswith(OWN_ID_PREFIX)
        for w in _words(text)
    ):
        return True
    words = text.split()
    # BIP-39's English words are 3 to 8 lower-case letters: a sentence has shorter ones.
    return len(words) in PHRASE_WORDS and all(
        w.isalpha() and w.islower() and 3 <= len(w) <= 8 for w in words
    )


__all__ = [
    "SHAPES",
    "KeyChecker",
    "Shape",
    "ccxt_key_checker",
    "check_shape",
    "key_pair",
    "looks_like_secret",
]
