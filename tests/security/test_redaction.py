"""The logging filter masks anything that looks like a credential, wherever it appears."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog

from rampart.observability.logging import (
    LazyLogger,
    RedactFilter,
    configure_logging,
    mask_text,
    register_secret,
)

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_credentials_masked_in_fields_and_messages(tmp_path: Path) -> None:
    log_file = tmp_path / "rampart.log"
    configure_logging("info", "json", log_file)
    log = structlog.get_logger("test")
    log.info(f"user sent {API_KEY}", api_key=API_KEY, detail={"note": f"key={API_KEY}"})
    log.info("bot", url=f"https://example.invalid/bot{BOT_TOKEN}/getMe", order="rp-demo-000001")
    register_secret("short-but-known-9")
    log.info("echo", text="here is short-but-known-9 again")
    text = log_file.read_text()
    assert API_KEY not in text and BOT_TOKEN not in text and "short-but-known-9" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[1]["order"] == "rp-demo-000001"  # ordinary ids stay readable


def test_a_lazy_logger_made_before_configuring_logs_through_the_configuration(
    tmp_path: Path,
) -> None:
    # Made at import time, as a module's `log`: the configuration done later must still apply.
    log = LazyLogger("rampart.rollout")
    log_file = tmp_path / "rampart.log"
    configure_logging("warning", "json", log_file)
    log.info("below the level")
    log.warning("rollout_transition", to_stage="micro", api_key=API_KEY)
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(r["event"], r["to_stage"], r["api_key"]) for r in lines] == [
        ("rollout_transition", "micro", "***")
    ]


def test_ordinary_text_is_left_alone() -> None:
    text = "BTC/USDT buy 0.0125 at 43210.5 account tg-42 2026-11-21T07:30:00Z"
    assert mask_text(text) == text


def test_stdlib_filter_masks_args() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, "", 0, "POST %s", (f"/bot{BOT_TOKEN}/x",), None
    )
    assert RedactFilter().filter(record)
    assert BOT_TOKEN not in record.getMessage() and "***" in record.getMessage()
