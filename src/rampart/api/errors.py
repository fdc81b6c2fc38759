"""Every error leaves the API as ``{"error": "<one sentence>"}`` with the right status.

Bad input is a 4xx that says what to fix; a database outage is a 503; anything unexpected is
a 500 with no detail (the traceback goes to the log, never to the client).
"""

from __future__ import annotations

from typing import Any, cast

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rampart.domain.errors import RampartError, StoreError
from rampart.operator.errors import Conflict, UnknownIncident
from rampart.operator.views import UnknownAccount

log = structlog.get_logger("rampart.api")


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def status_for(exc: RampartError) -> int:
    if isinstance(exc, UnknownAccount | UnknownIncident):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, StoreError):
        return 503
    return 400


def describe_validation(errors: list[Any]) -> str:
    """Pydantic's errors as one sentence a person can act on."""
    parts = []
    for err in errors[:3]:
        loc = [str(p) for p in err.get("loc", ())]
        kind = err.get("type", "")
        if kind == "json_invalid":
            parts.append("the request body is not valid JSON")
            continue
        if loc == ["body"] and kind == "missing":
            parts.append("the request needs a JSON body")
            continue
        source = loc[0] if loc else "body"
        name = ".".join(loc[1:]) or "(body)"
        label = f"field '{name}'" if source == "body" else f"{source} parameter '{name}'"
        if kind == "missing":
            parts.append(f"{label} is required")
        elif kind == "extra_forbidden":
            parts.append(f"{label} is not a known field")
        else:
            parts.append(f"{label}: {str(err.get('msg', 'is not valid')).rstrip('.')}")
    more = len(errors) - len(parts)
    text = "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return text[:1].upper() + text[1:] + "."


def install(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Any:
        err = cast(ApiError, exc)  # registered for ApiError only
        return error_response(err.status, err.message, err.headers)

    async def on_rampart_error(request: Request, exc: Exception) -> Any:
        err = cast(RampartError, exc)  # registered for RampartError only
        status = status_for(err)
        if status >= 500:
            log.error("api_store_error", path=request.url.path, error=err.message)
        return error_response(status, err.message)

    async def on_validation(request: Request, exc: Exception) -> Any:
        err = cast(RequestValidationError, exc)  # registered for it only
        return error_response(422, describe_validation(list(err.errors())))

    async def on_http(request: Request, exc: Exception) -> Any:
        exc = cast(StarletteHTTPException, exc)  # registered for it only
        text = exc.detail if isinstance(exc.detail, str) else "The request was refused."
        if exc.status_code == 404 and text == "Not Found":
            text = f"There is no {request.url.path} here; the API is described at /docs."
        elif exc.status_code == 405:
            text = f"{request.method} is not allowed on {request.url.path}."
        return error_response(exc.status_code, text, getattr(exc, "headers", None))

    async def on_crash(request: Request, exc: Exception) -> Any:
        log.exception("api_unexpected_error", path=request.url.path)
        return error_response(500, "Something went wrong on our side; it has been logged.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RampartError, on_rampart_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
