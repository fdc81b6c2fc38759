"""Every secret through every failure path that used to reach the log: a bot token
the Bot API refuses (the real python-telegram-bot client against the local stand-in, 401), a
wrong Bot API URL (a loopback port nobody listens on), a refused database connection with a
password in its DSN; in Rampart's own lines, stdlib loggers' lines with their tracebacks, the
readiness check, and an incident's summary and timeline. None may show the secret."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import traceback
from pathlib import Path

import sqlalchemy as sa
import structlog
from pydantic import SecretStr
from telegram.ext import ApplicationBuilder

from rampart.observability import incidents
from rampart.observability import logging as rlog
from rampart.runtime.probes import database_probe
from rampart.runtime.supervised import one_line
from rampart.store.db import open_database
from rampart_testkit.botapi.standin import FakeBotApi

# The secret half has no digit: the old shape-matcher let it through inside a URL.
TOKEN = "7000001:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr"
PASSWORD = "hunter2-pass"
DSN = f"postgresql+psycopg://rampart:{PASSWORD}@127.0.0.1:{{port}}/rampart"
HOOK_TOKEN = "hookSecretValue"
WEBHOOK = f"https://hooks.example.com/notify?token={HOOK_TOKEN}"
SECRETS = (TOKEN, TOKEN.split(":")[1], PASSWORD, HOOK_TOKEN)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _bot_start_fails(base_url: str) -> None:
    """Start the bot as the service does and log the failure as the supervisor does."""
    app = ApplicationBuilder().token(TOKEN).base_url(f"{base_url}/bot").build()
    try:
        await app.initialize()
    except Exception as exc:
        structlog.get_logger("rampart.supervisor").error(
            "component failed; restarting", error=one_line(exc), traceback=traceback.format_exc()
        )
        logging.getLogger("telegram.ext.Application").exception("start failed: %s", exc)


def test_no_secret_reaches_a_log_line_an_error_or_an_incident(tmp_path: Path) -> None:
    log_file = tmp_path / "rampart.log"
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    root = logging.getLogger()
    root.addHandler(handler)
    httpx_level = logging.getLogger("httpx").level
    logging.getLogger("httpx").setLevel(logging.INFO)  # request URLs, bot token included
    root_level = root.level
    root.setLevel(logging.INFO)
    dsn = DSN.format(port=_free_port())
    try:
        rlog.configure_logging("info", "json", file=log_file)
        rlog.register_settings_secrets(
            {"telegram_token": SecretStr(TOKEN), "store": {"url": dsn}, "hook": WEBHOOK}
        )

        async def paths() -> str:
            api = await FakeBotApi().start()  # answers any other token 401 Unauthorized
            try:
                await _bot_start_fails(api.url)
            finally:
                await api.close()
            await _bot_start_fails(f"http://127.0.0.1:{_free_port()}")  # connection refused
            engine = sa.create_engine(dsn)
            try:
                with engine.connect():
                    pass
            except Exception as exc:
                structlog.get_logger("rampart.store").error(
                    "store_unreachable", error=str(exc), url=dsn
                )
                logging.getLogger("sqlalchemy.pool").exception("connect failed to %s", dsn)
            check = await database_probe(engine)()
            engine.dispose()
            return check.detail

        detail = asyncio.run(paths())
        db = open_database(f"sqlite:///{tmp_path / 'ops.db'}")
        record = incidents.open_incident(
            db,
            key="DatabaseDown",
            rule="DatabaseDown",
            severity="P0",
            summary=f"cannot reach {dsn}",
            value=0.0,
            threshold=1.0,
            labels={},
            now_ms=1,
        )
        incidents.add_event(db, record.id, 2, "notify_failed", f"POST {WEBHOOK} refused")
        stored = str(incidents.list_incidents(db)) + str(incidents.get_incident(db, record.id))
        with db.connect() as conn:
            stored += str(conn.execute(sa.text("SELECT * FROM incident_events")).fetchall())
        db.dispose()
    finally:
        root.removeHandler(handler)
        if rlog._root_handler is not None:
            root.removeHandler(rlog._root_handler)
        root.setLevel(root_level)
        logging.getLogger("httpx").setLevel(httpx_level)
        structlog.reset_defaults()
    written = log_file.read_text()
    assert "InvalidToken" in written and "ConnectError" in written, written[:2000]
    assert "/bot***/getMe" in captured.getvalue()  # the httpx request line, masked
    assert "store_unreachable" in written and "rampart:***@" in written
    for text, where in (
        (written, "the log file"),
        (captured.getvalue(), "stdlib log output"),
        (detail, "the readiness check"),
        (stored, "the incident"),
    ):
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {where}"
