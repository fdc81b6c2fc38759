"""The connection to NATS and the command stream, with their failures in plain words.

The stream keeps commands (``rampart.cmd.<kind>``) for a day with ``limits`` retention, so a
worker cut off from NATS finds every command it missed on its durable consumer when it comes
back. A stream of that name with another retention (a work queue would hand each command to one
worker only) is refused in one sentence, never changed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from rampart.domain.errors import ConfigError, RampartError
from rampart.extras import require

STREAM = "RAMPART_COMMANDS"
SUBJECTS = "rampart.cmd.>"
KEEP_S = 86_400.0
CONNECT_TIMEOUT_S = 2.0
FIRST_CONNECT_S = 5.0
"""How long a process starting up waits for NATS before saying it does not answer."""

log = structlog.get_logger("rampart.messaging")


class NatsUnavailable(RampartError):
    """NATS does not answer at the configured address."""


async def connect(url: str, name: str, *, reconnect: bool = True) -> Any:
    """A NATS connection for process ``name``; :class:`NatsUnavailable` when nothing answers
    within :data:`FIRST_CONNECT_S`. Once connected it reconnects by itself (``reconnect``)."""
    nats = require("scale", "nats")

    async def trouble(err: Exception) -> None:
        # nats-py prints a traceback per failed attempt by default; one log line says enough.
        log.warning("nats_trouble", process=name, error=f"{type(err).__name__}: {err}")

    try:
        return await asyncio.wait_for(
            nats.connect(
                url,
                name=name,
                connect_timeout=CONNECT_TIMEOUT_S,
                allow_reconnect=reconnect,
                max_reconnect_attempts=-1 if reconnect else 1,
                reconnect_time_wait=0.5,
                error_cb=trouble,
            ),
            FIRST_CONNECT_S,
        )
    except Exception as err:  # NoServersError, OSError, or our own timeout
        raise NatsUnavailable(
            f"NATS does not answer at {url} ({type(err).__name__}); start `nats-server -js` "
            "or point scale.nats_url at a running one."
        ) from err


async def ensure_stream(nc: Any, name: str, subjects: list[str], **config: Any) -> Any:
    """The JetStream context, with stream ``name`` created (``limits`` retention and
    ``config``) if it does not exist. An existing stream with another retention is refused in
    one sentence and never changed: Rampart needs every consumer to see every message."""
    api = require("scale", "nats.js.api")
    errors = require("scale", "nats.js.errors")
    js = nc.jetstream()
    try:
        info = await js.stream_info(name)
    except errors.NotFoundError:
        stream = api.StreamConfig(
            name=name, subjects=subjects, retention=api.RetentionPolicy.LIMITS, **config
        )
        await js.add_stream(stream)
        return js
    except errors.ServiceUnavailableError as err:
        raise NatsUnavailable(
            "NATS answers but JetStream is off: start the server with `nats-server -js`."
        ) from err
    retention = getattr(info.config.retention, "value", info.config.retention)
    if retention != api.RetentionPolicy.LIMITS.value:
        raise ConfigError(
            f"The NATS stream {name} exists with {retention} retention; Rampart needs "
            f"'limits' so that every worker sees every message. Delete it "
            f"(`nats stream rm {name}`) and start again; nothing was changed."
        )
    return js


async def command_stream(nc: Any, replicas: int = 1) -> Any:
    """The JetStream context, with the command stream created if it does not exist."""
    return await ensure_stream(
        nc, STREAM, [SUBJECTS], max_age=KEEP_S, num_replicas=replicas, duplicate_window=120.0
    )


__all__ = [
    "STREAM",
    "SUBJECTS",
    "NatsUnavailable",
    "command_stream",
    "connect",
    "ensure_stream",
]
