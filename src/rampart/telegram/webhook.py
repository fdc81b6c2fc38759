"""Webhook mode: Telegram posts each update to ``telegram.webhook_url``; a small aiohttp server
on ``webhook_listen:webhook_port`` (behind the TLS-terminating proxy that owns the public
address) checks the ``X-Telegram-Bot-Api-Secret-Token`` header and hands the update to the
python-telegram-bot Application's queue, where the same handlers as in polling mode run.

aiohttp is already a dependency; python-telegram-bot's own ``start_webhook`` would add tornado
for the same few lines. A post with a wrong or missing secret is refused (403) and logged
without its body, so nobody who guesses the address can drive the bot.
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web
from telegram import Update
from telegram.ext import Application

from rampart.domain.errors import ConfigError
from rampart.telegram.settings import TelegramConfig

log = structlog.get_logger("rampart.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name; the secret is in settings
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def webhook_settings(cfg: TelegramConfig) -> tuple[str, str, str]:
    """(public URL, local path, secret), or a sentence saying what is missing."""
    if not cfg.webhook_url:
        raise ConfigError("Webhook mode needs telegram.webhook_url (the public HTTPS address).")
    secret = cfg.webhook_secret.get_secret_value() if cfg.webhook_secret is not None else ""
    if not _SECRET.match(secret):
        raise ConfigError(
            "Webhook mode needs telegram.webhook_secret: 16 to 256 letters, digits, _ or -."
        )
    path = urlsplit(cfg.webhook_url).path or "/"
    return cfg.webhook_url, path, secret


class WebhookServer:
    def __init__(
        self, application: Application[Any, Any, Any, Any, Any, Any], cfg: TelegramConfig
    ) -> None:
        self.app = application
        self.url, self.path, self._secret = webhook_settings(cfg)
        self.listen = cfg.webhook_listen
        self.port = cfg.webhook_port
        self.refused = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        server = web.Application(client_max_size=1 << 20)
        server.router.add_post(self.path, self._receive)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        await site.start()
        if self.port == 0:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await self.app.bot.set_webhook(
            self.url, secret_token=self._secret, allowed_updates=Update.ALL_TYPES
        )
        log.info("telegram_webhook_listening", listen=self.listen, port=self.port)

    async def stop(self) -> None:
        # The webhook stays registered: Telegram keeps the updates until the service is back.
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        sent = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self._secret.encode()):
            self.refused += 1
            log.warning("telegram_webhook_refused", peer=request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            return web.Response(status=400, text="not an update")
        await self.app.update_queue.put(update)
        return web.Response(text="ok")
