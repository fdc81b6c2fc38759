"""The OpenAPI document states what this server enforces: the engine-start ``mode`` offers only
the service's own mode (any other is refused with a 400), and the weekly report's ``date`` is
a ``format: date`` (anything else is refused)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

MODES = ("paper", "testnet", "live")


def narrow(document: dict[str, Any], mode: str | None) -> dict[str, Any]:
    """``document`` with the start command's ``mode`` limited to ``mode`` (in place)."""
    if mode not in MODES:
        return document
    schemas = document.get("components", {}).get("schemas", {})
    field = schemas.get("StartEngineIn", {}).get("properties", {}).get("mode")
    if isinstance(field, dict) and "enum" in field:
        field["enum"] = [mode]
        field["description"] = f"This service runs in {mode} mode; no other is accepted."
    return document


def install(app: FastAPI, mode: str | None) -> None:
    """Serve the narrowed document (built once, as FastAPI caches its own)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = narrow(build(), mode)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["MODES", "install", "narrow"]
