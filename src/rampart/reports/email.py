"""Sending a Markdown text by e-mail through the configured SMTP relay (``email:``), with the
standard library's smtplib: plain text with an HTML alternative. Every failure is one
sentence naming the relay; the password never appears in one."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from markdown_it import MarkdownIt

from rampart.domain.errors import RampartError
from rampart.reports.settings import EmailConfig


class EmailError(RampartError):
    """The relay refused the message or could not be reached."""


def message(cfg: EmailConfig, subject: str, markdown: str, now_ms: int) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Date"] = formatdate(now_ms / 1000, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rsplit("@", 1)[-1].strip(">") or None)
    msg.set_content(markdown)
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    msg.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    return msg


def _tls(cfg: EmailConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cfg.ca_file)


def send(cfg: EmailConfig, subject: str, markdown: str, now_ms: int) -> int:
    """Send to every recipient (blocking: call it off the event loop); returns how many the
    relay accepted. Raises EmailError."""
    if not cfg.smtp_host:
        raise EmailError("E-mail is not configured: set email.smtp_host and email.recipients.")
    where = f"{cfg.smtp_host}:{cfg.smtp_port}"
    msg = message(cfg, subject, markdown, now_ms)
    try:
        if cfg.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_s, context=_tls(cfg)
            )
        else:
            client = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_s)
        with client:
            if cfg.security == "starttls":
                client.starttls(context=_tls(cfg))
            if cfg.username:
                secret = cfg.password.get_secret_value() if cfg.password else ""
                client.login(cfg.username, secret)
            refused = client.send_message(msg)
    except smtplib.SMTPAuthenticationError:
        raise EmailError(f"The SMTP relay {where} refused the user name or password.") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise EmailError(f"The SMTP relay {where} does not support {_said(exc)}.") from None
    except smtplib.SMTPRecipientsRefused:
        raise EmailError(f"The SMTP relay {where} refused every recipient.") from None
    except smtplib.SMTPException as exc:
        raise EmailError(f"The SMTP relay {where} refused the message: {_said(exc)}.") from None
    except ssl.SSLError as exc:
        raise EmailError(f"TLS with the SMTP relay {where} failed: {exc.reason}.") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EmailError(f"The SMTP relay {where} cannot be reached: {reason}.") from None
    return len(cfg.recipients) - len(refused)


def _said(exc: BaseException) -> str:
    raw = getattr(exc, "smtp_error", None)
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(exc)
    return " ".join(text.split()).rstrip(".") or type(exc).__name__
