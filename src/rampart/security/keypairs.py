"""A Solana keypair read from what a person gives (base58, a solana-keygen file), and the
credentials it is stored as, without the store: what the bot and the command line need to read
a key, apart from :mod:`rampart.security.wallets` (which keeps wallets in the store), so that a
front reading a pasted key does not reach the store through it.

Nothing here puts the secret half in a repr, a log line or an error message: every error is
one sentence about the input's shape, never its text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from solders.keypair import Keypair

from rampart.domain.errors import RampartError
from rampart.observability.logging import register_secret
from rampart.security.secrets import Credentials

EXCHANGE = "solana"
KEYPAIR_BYTES = 64
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


class WalletError(RampartError):
    """A wallet cannot be read, stored or opened; the message never quotes key material."""


@dataclass(frozen=True, slots=True)
class Wallet:
    """What may be shown of a stored wallet: never its secret."""

    account_id: str
    pubkey: str
    key_id: str
    """Fingerprint of the master key that seals it (not the key)."""
    created_at: int


# -- reading a keypair --------------------------------------------------------------------------


def _b58decode(text: str) -> bytes:
    num = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            # Never echo the character: it is part of a secret.
            raise WalletError(
                "The wallet secret is not base58 text (letters and digits without 0, O, I, l)."
            )
        num = num * 58 + digit
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    leading = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading + body


def keypair_from_bytes(raw: bytes | list[int]) -> Keypair:
    """The keypair of 64 bytes (secret half then public half), checked to belong together."""
    data = bytes(raw)
    if len(data) != KEYPAIR_BYTES:
        hint = (
            " (32 bytes is a public key or a bare seed, not a whole keypair)"
            if len(data) == 32
            else ""
        )
        raise WalletError(
            f"A wallet secret must be 64 bytes (the private and public halves); this one is "
            f"{len(data)} bytes{hint}."
        )
    try:
        return Keypair.from_bytes(data)
    except ValueError:
        raise WalletError(
            "The wallet secret's public half does not match its private half: the key is "
            "damaged or was pasted incompletely."
        ) from None


def keypair_from_base58(text: str) -> Keypair:
    """The keypair written as base58 of its 64 bytes (what Phantom and Solflare export)."""
    text = text.strip()
    if not text:
        raise WalletError("The wallet secret is empty.")
    register_secret(text)
    return keypair_from_bytes(_b58decode(text))


def keypair_from_json(text: str, source: str = "The keypair") -> Keypair:
    """The keypair written as solana-keygen does: a JSON list of 64 numbers 0..255."""
    shape = f"{source} is not a solana-keygen keypair (a JSON list of 64 numbers from 0 to 255)."
    try:
        data = json.loads(text)
    except ValueError:
        raise WalletError(shape) from None
    if not isinstance(data, list) or not all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in data
    ):
        raise WalletError(shape)
    return keypair_from_bytes(data)


def keypair_from_text(text: str) -> Keypair:
    """Either form: a JSON list (solana-keygen) or base58 text."""
    text = text.strip()
    return keypair_from_json(text) if text.startswith("[") else keypair_from_base58(text)


def read_keypair_file(path: Path) -> Keypair:
    """A solana-keygen JSON file (or a file holding the base58 secret)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise WalletError(f"The keypair file {str(path)!r} cannot be read.") from None
    text = text.strip()
    if text.startswith("["):
        return keypair_from_json(text, f"The keypair file {str(path)!r}")
    return keypair_from_base58(text)


def credentials_of(keypair: Keypair) -> Credentials:
    """The keypair as the credentials the store seals (base58 public key and secret)."""
    secret = str(keypair)  # solders: str() is the base58 of the 64 bytes
    register_secret(secret)
    return Credentials(EXCHANGE, str(keypair.pubkey()), secret)


# -- storing ------------------------------------------------------------------------------------


__all__ = [
    "EXCHANGE",
    "KEYPAIR_BYTES",
    "Wallet",
    "WalletError",
    "credentials_of",
    "keypair_from_base58",
    "keypair_from_bytes",
    "keypair_from_json",
    "keypair_from_text",
    "read_keypair_file",
]
