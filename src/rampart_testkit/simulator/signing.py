"""Binance request authentication: API key, HMAC-SHA256 signature, timestamp and recvWindow.

The signature covers the query string followed by the request body, without the
``signature`` parameter itself, exactly as sent (no re-encoding).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from rampart_testkit.simulator import binance_codes as codes

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
_KEY_SHAPE = re.compile(r"^[A-Za-z0-9]{16,128}$")
_SIGNATURE = re.compile(r"(^|&)signature=([^&]*)")


def new_credentials() -> tuple[str, str]:
    """A fresh API key and secret, 64 alphanumeric characters each like Binance's."""
    return secrets.token_hex(32), secrets.token_hex(32)


def sign(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def split_signature(query: str, body: str) -> tuple[str, str | None]:
    """(what was signed, the signature sent), taking the signature from the query or body."""
    for part, other_first in ((query, True), (body, False)):
        match = _SIGNATURE.search(part)
        if match is None:
            continue
        stripped = part[: match.start()] + part[match.end() :]
        if match.group(1) == "" and stripped.startswith("&"):
            stripped = stripped[1:]
        signed = query + stripped if not other_first else stripped + body
        return signed, match.group(2)
    return query + body, None


def check_key_shape(key: str | None) -> None:
    if not key or not _KEY_SHAPE.match(key):
        raise codes.bad_key_format()


def check_timestamp(params: Mapping[str, str], server_ms: int) -> None:
    raw = params.get("timestamp")
    if raw is None or not raw.isdigit():
        raise codes.mandatory("timestamp")
    window_raw = params.get("recvWindow")
    window = DEFAULT_RECV_WINDOW
    if window_raw is not None:
        try:
            window = int(float(window_raw))
        except ValueError:
            raise codes.illegal("recvWindow") from None
        if not 0 < window <= MAX_RECV_WINDOW:
            raise codes.BinanceError(codes.BAD_RECV_WINDOW, "recvWindow must be less than 60000")
    stamp = int(raw)
    if stamp >= server_ms + 1000:
        raise codes.ahead_of_server()
    if server_ms - stamp > window:
        raise codes.outside_window()


def check_signature(signed: str, signature: str | None, secret: str) -> None:
    if not signature:
        raise codes.mandatory("signature")
    expected = sign(signed, secret)
    if not hmac.compare_digest(expected, signature.lower()):
        raise codes.bad_signature()
