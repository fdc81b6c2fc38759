"""Two paths of secret masking in logs that no test held.

1. The settings' secrets, registered at the start (``register_settings_secrets``): a password
   inside a URL field that is a plain string, a password inside a URL held as a secret (it is
   masked alone, as a database driver's error quotes it), and secrets nested in a mapping.
2. The log record's own fields (``redact`` and ``_mask_record``): a field named for a secret
   is masked whatever its value looks like, text inside a list field is masked, and a
   traceback already formatted by another handler (``exc_text``) is masked too.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, SecretStr

from rampart.observability.logging import RedactFilter, redact, register_settings_secrets

URL_PASSWORD = "plainUrlPw-72a"
SECRET_URL_PASSWORD = "secretUrlPw-72b"
NESTED = "nestedKey-72c"
SHORT = "hunter2"
LONG = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


class _Section(BaseModel):
    keys: dict[str, SecretStr]


class _Settings(BaseModel):
    metrics_url: str
    db_url: SecretStr
    venue: _Section


def test_settings_secrets_are_masked_by_their_text() -> None:
    register_settings_secrets(
        _Settings(
            metrics_url=f"https://ops:{URL_PASSWORD}@push.example.invalid/",
            db_url=SecretStr(f"postgresql+psycopg://rampart:{SECRET_URL_PASSWORD}@db/rampart"),
            venue=_Section(keys={"binance": SecretStr(NESTED)}),
        )
    )
    line = f"auth failed: {URL_PASSWORD} / password {SECRET_URL_PASSWORD!r} / {NESTED}"
    event = redact(None, "warning", {"event": line})
    assert event["event"] == "auth failed: *** / password '***' / ***"


def test_record_fields_and_a_formatted_traceback_are_masked() -> None:
    event = redact(None, "info", {"event": "x", "password": SHORT, "keys": [f"k {LONG}"]})
    assert event["password"] == "***" and event["keys"] == ["k ***"]
    record = logging.LogRecord("ccxt", logging.ERROR, "", 0, "failed", (), None)
    record.exc_text = f"Traceback ...\nccxt.AuthenticationError: key {LONG}"
    assert RedactFilter().filter(record)
    assert LONG not in record.exc_text and "key ***" in record.exc_text
