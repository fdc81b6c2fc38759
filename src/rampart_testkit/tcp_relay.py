r"""A TCP relay on 127.0.0.1 in front of a real server (PostgreSQL), for outage tests and the
scale soak: while it is :meth:`cut` no connection gets through and the open ones are
dropped; while it is :meth:`silence`\ d every connection stays open and nothing is answered
(a peer gone silent: a partition, a dropped NAT entry), new ones included, until it
:meth:`speak`\ s again and what waited goes through in order."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class TcpRelay:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._links: list[tuple[socket.socket, socket.socket]] = []
        self._guard = threading.Lock()
        self._voice = threading.Event()
        """Set while bytes go through; cleared while the relay is silent."""
        self._voice.set()
        self.restore()

    @property
    def open(self) -> bool:
        return self._listener is not None

    def restore(self) -> None:
        """Listen again (on the same port) and relay new connections."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                # Each query is a few small packets: without this every one waits on Nagle.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._guard:
                self._links.append((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                args = (src, dst, self._voice)
                threading.Thread(target=_pump, args=args, daemon=True).start()

    @property
    def silent(self) -> bool:
        return not self._voice.is_set()

    def silence(self) -> None:
        """Keep every connection open and relay nothing, either way, until :meth:`speak`."""
        self._voice.clear()

    def speak(self) -> None:
        self._voice.set()

    def cut(self, before_close: Callable[[list[int]], object] | None = None) -> None:
        """Refuse new connections and drop the open ones; ``before_close`` gets the local
        ports of the server-side links first (to find their backends)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._guard:
            links, self._links = self._links, []
        if before_close is not None and links:
            before_close([up.getsockname()[1] for _, up in links])
        for client, upstream in links:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


def _pump(src: socket.socket, dst: socket.socket, voice: threading.Event) -> None:
    with contextlib.suppress(OSError):
        while voice.wait() and (data := src.recv(65536)):
            voice.wait()  # silenced while it waited on recv: held until it speaks
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
