"""A local stand-in for HashiCorp Vault's KV v2 read, on 127.0.0.1: ``GET /v1/<mount>/data/
<path>`` with ``X-Vault-Token``; 403 for a wrong token, 404 for a missing path, as Vault
answers. The real hvac client talks to it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeVault:
    def __init__(self, token: str) -> None:
        self.token = token
        self.secrets: dict[str, dict[str, str]] = {}
        """By ``<mount>/<path>``: the secret's key/value data."""
        self.requests: list[tuple[str, str, str]] = []
        """(method, path, token sent)."""
        vault = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sent = self.headers.get("X-Vault-Token", "")
                vault.requests.append(("GET", self.path, sent))
                status, body = vault.answer(self.path, sent)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeVault:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def put(self, mount: str, path: str, data: dict[str, str]) -> None:
        self.secrets[f"{mount}/{path}"] = data

    def answer(self, url_path: str, token: str) -> tuple[int, dict[str, Any]]:
        if token != self.token:
            return 403, {"errors": ["permission denied"]}
        parts = url_path.split("?")[0].removeprefix("/v1/").split("/data/", 1)
        data = self.secrets.get("/".join(parts)) if len(parts) == 2 else None
        if data is None:
            return 404, {"errors": []}
        return 200, {
            "request_id": "r1",
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0,
            "data": {
                "data": data,
                "metadata": {
                    "created_time": "2026-01-01T00:00:00Z",
                    "deletion_time": "",
                    "destroyed": False,
                    "version": 1,
                },
            },
            "wrap_info": None,
            "warnings": None,
            "auth": None,
        }
