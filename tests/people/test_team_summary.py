"""The team's daily summary: built from the seeded store, sent to the operator chat, and
e-mailed through smtplib to a real SMTP server (aiosmtpd) on loopback, with STARTTLS and a
login; a relay that is down or refuses the login is one sentence and the chat still gets it."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.errors import ConfigError, RampartError
from rampart.observability import incidents
from rampart.reports.team_summary import build_summary, send_summary
from tests.people.seed import NOW

USER, PASSWORD = "rampart", "s3cret-relay-pass"
HOUR = 3_600_000


class Chat:
    def __init__(self) -> None:
        self.said: list[str] = []

    async def tell_account(self, account_id: str, html: str) -> bool:
        return False

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        self.said.append(html)
        return True


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rampart test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "relay.pem", folder / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    """An SMTP server on 127.0.0.1 that requires STARTTLS and a login, as a relay does."""
    cert, key = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def _settings(port: int, ca: Path | None, password: str = PASSWORD) -> Any:
    return load_settings(
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "security": "starttls",
            "ca_file": None if ca is None else str(ca),
            "username": USER,
            "password": password,
            "sender": "Rampart <rampart@ops.example>",
            "recipients": ["lead@ops.example", "oncall@ops.example"],
        }
    )


def _open_incident(lite: sa.Engine) -> None:
    opened = incidents.open_incident(
        lite,
        key="FeedDisconnected{symbol=BTC/USDT}",
        rule="FeedDisconnected",
        severity="P1",
        summary="No market data for BTC/USDT",
        value=90.0,
        threshold=60.0,
        labels={"symbol": "BTC/USDT"},
        now_ms=NOW - HOUR,
    )
    incidents.set_eta(lite, opened.id, NOW + HOUR, "ops", NOW - HOUR // 2)


def test_the_summary_tells_yesterday_and_now(seeded_lite: sa.Engine) -> None:
    _open_incident(seeded_lite)
    s = build_summary(seeded_lite, load_settings(), NOW)
    assert s.subject == "Rampart team summary 2024-02-13: 1 open incident"
    text = s.markdown
    assert "## Yesterday (2024-02-12, UTC)" in text
    assert "- Investors: 6 started, 4 connected, 3 invested, 2 traded; 1 active" in text
    assert "churn 50 %" in text
    assert "#1 P1 FeedDisconnected (open, ETA 2024-02-13 01:00 UTC)" in text
    assert "tg-" not in text


def test_it_goes_to_the_chat_and_by_email_through_starttls_and_a_login(
    seeded_lite: sa.Engine, relay: tuple[Inbox, int, Path]
) -> None:
    inbox, port, cert = relay
    chat = Chat()
    line = asyncio.run(send_summary(seeded_lite, _settings(port, cert), SimClock(NOW), chat))
    assert line == ("team summary 2024-02-12: sent to the operator chat; e-mailed to 2 recipients")
    assert chat.said and "Rampart team summary, 2024-02-13" in chat.said[0]
    [(sender, to, raw)] = inbox.messages
    assert sender == "rampart@ops.example"
    assert to == ["lead@ops.example", "oncall@ops.example"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == "Rampart team summary 2024-02-13"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and "6 started, 4 connected" in plain.get_content()
    assert html is not None and "<h1>Rampart team summary, 2024-02-13</h1>" in html.get_content()
    assert PASSWORD not in raw.decode(errors="replace")


def test_a_wrong_password_or_an_untrusted_relay_is_one_sentence(
    seeded_lite: sa.Engine, relay: tuple[Inbox, int, Path]
) -> None:
    inbox, port, cert = relay
    chat = Chat()
    line = asyncio.run(
        send_summary(seeded_lite, _settings(port, cert, "wrong"), SimClock(NOW), chat)
    )
    assert line.endswith(
        f"e-mail NOT sent: The SMTP relay 127.0.0.1:{port} refused the user name or password."
    )
    # Without the relay's CA the certificate is not trusted: said, never sent in clear.
    line = asyncio.run(send_summary(seeded_lite, _settings(port, None), SimClock(NOW), chat))
    assert f"e-mail NOT sent: TLS with the SMTP relay 127.0.0.1:{port} failed" in line
    assert inbox.messages == [] and len(chat.said) == 2


def test_a_relay_that_is_down_with_no_chat_fails_the_run(seeded_lite: sa.Engine) -> None:
    port = _free_port()
    with pytest.raises(RampartError) as caught:
        asyncio.run(send_summary(seeded_lite, _settings(port, None), SimClock(NOW), None))
    assert caught.value.message == (
        "team summary 2024-02-12: no operator chat; e-mail NOT sent: The SMTP relay "
        f"127.0.0.1:{port} cannot be reached: Connection refused."
    )


def test_email_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"email\.recipients is empty"):
        load_settings(email={"smtp_host": "relay.example"})
    with pytest.raises(ConfigError, match="is not an e-mail address"):
        load_settings(email={"smtp_host": "relay.example", "recipients": ["ops team"]})
    assert not load_settings().email.enabled


def test_the_operator_is_no_investor_and_todays_new_investors_are_todays(
    seeded_lite: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once, the operator's own /start counted in the funnel, and investors who started
    today were filed under "Yesterday"."""
    from decimal import Decimal

    from rampart.store import models as m

    operator, today = 9000001, NOW - NOW % 86_400_000
    rows = [
        (operator, "tg-op", today - 86_400_000 + HOUR),  # the operator, yesterday
        (7000101, "tg-101", today - 86_400_000 + 2 * HOUR),  # an investor, yesterday
        (7000102, "tg-102", today + HOUR // 2),  # two investors, today
        (7000103, "tg-103", today + HOUR // 4),
    ]
    with seeded_lite.begin() as conn:
        for tid, account, started in rows:
            conn.execute(
                m.investors.insert().values(
                    telegram_id=tid,
                    account_id=account,
                    accepted_disclaimer=True,
                    profile="moderate",
                    capital=Decimal(0),
                    mode="",
                    created_at=started,
                )
            )
    monkeypatch.setenv("RAMPART_TELEGRAM__OPERATOR_IDS", str(operator))
    text = build_summary(seeded_lite, load_settings(), NOW + 3 * HOUR).markdown
    yesterday, now = text.split("## Now")
    assert "- New investors: 1;" in yesterday, text
    assert "- New investors today so far: 2." in now, text
    assert "- Investors: 9 started," in now, text  # 6 seeded + 3, not the operator
