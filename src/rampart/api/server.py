"""Serve the API with uvicorn inside the service's own event loop.

The socket is bound by us (so port 0 gives a free port known before serving, and a port in
use is a sentence rather than uvicorn's ``sys.exit``). Uvicorn's own signal handling is off:
the service owns SIGTERM and SIGINT and stops the server through the stop event, letting
requests in flight finish within a bound.

The connection limits (``api.request_timeout_s``, ``keep_alive_s``, ``max_connections``,
``max_header_bytes``; see ``connections``) keep idle, slow and partial clients from piling up
in the process that trades. While serving, each heartbeat also keeps the API's token snapshot
current, so it is fresh when the database goes away even if no request came.

With ``api.tls_cert`` and ``api.tls_key`` uvicorn serves HTTPS itself; the pair is loaded once
when the socket is bound, so a missing, unreadable or mismatched file stops the start with a
sentence instead of failing in the server task.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import socket
import ssl
from collections.abc import Callable, Generator
from typing import Any

import structlog
import uvicorn

from rampart.api.connections import ConnectionLimits, guarded_protocol
from rampart.api.settings import ApiConfig
from rampart.domain.errors import RampartError, present

log = structlog.get_logger("rampart.api.server")

BEAT_EVERY_S = 1.0
GRACEFUL_S = 5


def tls_context(api: ApiConfig) -> ssl.SSLContext | None:
    """The server's TLS context from ``api.tls_cert`` and ``api.tls_key`` (None without them);
    a file that is missing, unreadable or not a matching certificate and key is a sentence."""
    if api.tls_cert is None or api.tls_key is None:
        return None
    for path, what in ((api.tls_cert, "certificate"), (api.tls_key, "key")):
        if not path.is_file():
            raise RampartError(f"The API's TLS {what} file {path} does not exist.")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(api.tls_cert, api.tls_key)
    except PermissionError:
        raise RampartError(
            f"The API's TLS files {api.tls_cert} and {api.tls_key} cannot be read by this user."
        ) from None
    except (ssl.SSLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or type(err).__name__
        raise RampartError(
            f"The API's TLS certificate {api.tls_cert} and key {api.tls_key} cannot be used "
            f"({reason}); they must be PEM files that belong together, the key unencrypted."
        ) from None
    return context


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The service installs its own handlers; uvicorn must not replace them.
        yield


class ApiServer:
    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        graceful_s: int = GRACEFUL_S,
        settings: ApiConfig | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self._port = port
        self.graceful_s = graceful_s
        ctx = getattr(getattr(app, "state", None), "ctx", None)
        # Without explicit settings, the app's own (every Rampart app carries them), so the
        # limits hold wherever the server is built; a bare app gets the defaults.
        found = getattr(getattr(ctx, "settings", None), "api", None)
        self.settings = settings or (found if isinstance(found, ApiConfig) else ApiConfig())
        self._auth = getattr(ctx, "auth", None)
        self.protocol: type[asyncio.Protocol] | None = None
        """The connection guard of the current run (its ``registry`` counts what it did)."""
        self._sock: socket.socket | None = None
        self._server: _Server | None = None
        self.started = asyncio.Event()
        """Set once the server accepts connections."""

    @property
    def port(self) -> int:
        """The bound port (the one asked for, or the free one picked for port 0)."""
        return self._port

    @property
    def connections(self) -> int:
        """Connections open now (uvicorn's own count)."""
        server = self._server
        return 0 if server is None else len(server.server_state.connections)

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls else "http"
        return f"{scheme}://{self.host}:{self._port}"

    def bind(self) -> int:
        if self._sock is not None:
            return self._port
        tls_context(self.settings)  # a bad certificate stops the start, in words
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when
        # the socket says it is TCP; without it small responses wait ~40 ms on delayed ACKs.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise RampartError(
                    f"Port {self._port} on {self.host} is already in use; set 'api.port' to "
                    "another port or stop the program using it."
                ) from None
            raise RampartError(
                f"The API cannot listen on {self.host}:{self._port}: {exc.strerror or exc}."
            ) from None
        sock.set_inheritable(True)
        self._port = sock.getsockname()[1]
        self._sock = sock
        return self._port

    async def serve(self, stop: asyncio.Event, beat: Callable[[], None] | None = None) -> None:
        """Serve until ``stop`` is set, then finish requests in flight and return.

        ``beat`` (a supervisor heartbeat) is called about every second while serving.
        """
        self.bind()
        sock = present(self._sock, "the socket bind() opened")
        api = self.settings
        self.protocol = guarded_protocol(
            ConnectionLimits(api.request_timeout_s, api.max_connections, api.max_header_bytes)
        )
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=self.graceful_s,
            server_header=False,
            http=self.protocol,
            ws="none",  # no route speaks WebSocket: refuse upgrades rather than parse them
            timeout_keep_alive=max(1, math.ceil(api.keep_alive_s)),
            h11_max_incomplete_event_size=api.max_header_bytes,
            # X-Forwarded-For is believed only from a proxy the operator says is there;
            # otherwise any local client could pick the address that failed logins count on.
            proxy_headers=api.behind_tls_proxy,
            # HTTPS by uvicorn itself when given a certificate (checked by bind, in words).
            ssl_certfile=str(api.tls_cert) if api.tls_cert else None,
            ssl_keyfile=str(api.tls_key) if api.tls_key else None,
        )
        server = self._server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="api-server")
        try:
            while not task.done():
                if server.started and not self.started.is_set():
                    self.started.set()
                    log.info("api_listening", url=self.url)
                if beat is not None:
                    beat()
                if self._auth is not None and server.started:
                    await self._auth.keep_fresh(0)  # starts a due refresh; never waits
                if stop.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._tick(server))
        finally:
            server.should_exit = True
            try:
                await task
            finally:
                self.started.clear()
                # uvicorn closes the socket on shutdown; a restart binds the same port again.
                self._sock = None
                self._server = None

    def _tick(self, server: _Server) -> float:
        return BEAT_EVERY_S if server.started else 0.01
