"""Notifications about incidents: to the log, a webhook, and (through a small port) the
operator's Telegram chat once the bot exists.

A :class:`Notifier` has one method, ``async send(notice)``, which raises when the notice could
not be delivered; the alert engine records that on the incident's timeline and carries on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx
import structlog

from rampart.clock import Clock, ms_to_datetime, shown_ms
from rampart.domain.errors import ConfigError, RampartError
from rampart.runtime.backoff import ceiling_s

log = structlog.get_logger("rampart.alerts")

FIRING, REPEAT, RESOLVED = "firing", "repeat", "resolved"


@dataclass(frozen=True, slots=True)
class Notice:
    """One message about one incident: it opened (``firing``), is still open (``repeat``) or
    cleared (``resolved``)."""

    kind: str
    rule: str
    severity: str
    key: str
    summary: str
    value: float | None
    threshold: float
    comparison: str
    ts: int
    opened_at: int
    incident_id: int | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """One line for a chat or a log: what, how bad, since when, and the incident number."""
        ref = f" (incident {self.incident_id})" if self.incident_id is not None else ""
        # On the axis people read (a simulated feed's wall time, else business time): the
        # duration is the one the operator lived, not the replay's (minutes, not days, at 300x).
        opened_ms = shown_ms(self.opened_at)
        opened = ms_to_datetime(opened_ms).strftime("%Y-%m-%d %H:%M:%S UTC")
        if self.kind == RESOLVED:
            minutes = max(0, shown_ms(self.ts) - opened_ms) / 60_000
            return (
                f"[{self.severity}] RESOLVED {self.rule}{ref}: {self.summary} "
                f"Cleared after {minutes:.1f} min."
            )
        state = "FIRING" if self.kind == FIRING else "STILL FIRING"
        return f"[{self.severity}] {state} {self.rule}{ref}: {self.summary} Since {opened}."

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["text"] = self.text()
        return data


class NotifyError(RampartError):
    """A notice could not be delivered; the message says where and why."""


@runtime_checkable
class Notifier(Protocol):
    async def send(self, notice: Notice) -> None: ...


class LogNotifier:
    """Writes every notice to the structured log (always on)."""

    async def send(self, notice: Notice) -> None:
        # Warning, not error: an alert must not feed the error counter behind ErrorSpike.
        emit = log.info if notice.kind == RESOLVED else log.warning
        emit(
            "alert",
            kind=notice.kind,
            rule=notice.rule,
            severity=notice.severity,
            incident=notice.incident_id,
            labels=notice.labels,
            value=notice.value,
            summary=notice.summary,
        )


class CallbackNotifier:
    """The port for chat bots: hands each notice to ``callback`` (e.g. the Telegram bot's
    ``send_to_operator``), which may use ``notice.text()``."""

    def __init__(self, callback: Callable[[Notice], Awaitable[None]], name: str = "callback"):
        self.callback = callback
        self.name = name

    async def send(self, notice: Notice) -> None:
        await self.callback(notice)


RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookNotifier:
    """POSTs each notice as JSON; retries timeouts, connection failures, 429 and 5xx with
    exponential backoff slept on the Clock."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("Setting 'alerts.webhook_url' must start with http:// or https://.")
        self.url = url
        # Only scheme, host and port in messages: a webhook path often carries a secret.
        port = f":{parts.port}" if parts.port else ""
        self.where = f"{parts.scheme}://{parts.hostname}{port}"
        self.clock = clock
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._client = client
        self._own_client = client is None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False)
        return self._client

    async def send(self, notice: Notice) -> None:
        body = notice.to_dict()
        reason = "no attempt made"
        for attempt in range(self.retries + 1):
            try:
                response = await self._http().post(self.url, json=body, timeout=self.timeout_s)
            except httpx.TimeoutException:
                reason = f"no answer within {self.timeout_s:g} s"
            except httpx.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code < 300:
                    return
                reason = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    raise NotifyError(f"The webhook at {self.where} refused the notice: {reason}.")
            if attempt < self.retries:
                await self.clock.sleep(ceiling_s(attempt, self.backoff_s, self.max_backoff_s))
        raise NotifyError(
            f"The webhook at {self.where} did not take the notice after "
            f"{self.retries + 1} attempts: {reason}."
        )

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None


class FanOut:
    """Sends each notice to every notifier at once; one failing never stops the others.

    Raises a NotifyError naming every failure after all have been tried.
    """

    def __init__(self, notifiers: Iterable[Notifier] = ()) -> None:
        self.notifiers: list[Notifier] = list(notifiers)

    def add(self, notifier: Notifier) -> None:
        """Plug a notifier in at run time (the Telegram bot, once it has started)."""
        self.notifiers.append(notifier)

    def remove(self, notifier: Notifier) -> None:
        if notifier in self.notifiers:
            self.notifiers.remove(notifier)

    async def send(self, notice: Notice) -> None:
        results = await asyncio.gather(
            *(n.send(notice) for n in self.notifiers), return_exceptions=True
        )
        failures = [
            _reason(notifier, result)
            for notifier, result in zip(self.notifiers, results, strict=True)
            if isinstance(result, BaseException)
        ]
        if failures:
            raise NotifyError("; ".join(failures))

    async def aclose(self) -> None:
        for notifier in self.notifiers:
            close = getattr(notifier, "aclose", None)
            if close is not None:
                await close()


def _reason(notifier: Notifier, exc: BaseException) -> str:
    if isinstance(exc, RampartError):
        return exc.message.rstrip(".")
    name = getattr(notifier, "name", type(notifier).__name__)
    return f"{name} failed: {type(exc).__name__}: {exc}".rstrip(": ")
