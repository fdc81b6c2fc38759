"""The operator panel: server-rendered pages over the same views and operator layer as the
API, served by the API's own app (docs/operators/panel.md)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rampart.api.panel import (
    accounts,
    actions,
    launch,
    live,
    operations,
    overview,
    reports,
    signin,
    trading,
)
from rampart.api.panel.sessions import SessionStore
from rampart.api.panel.web import HERE, SignIn, sign_in_redirect

DEFAULT_SESSION_S = 8 * 3600.0


def install(app: FastAPI, ctx: Any) -> None:
    """Add the panel's pages, its static files and its session store to ``app``."""
    api = getattr(getattr(ctx, "settings", None), "api", None)
    lifetime = float(getattr(api, "panel_session_s", DEFAULT_SESSION_S))
    app.state.panel_sessions = SessionStore(ctx.clock, lifetime)
    app.add_exception_handler(SignIn, sign_in_redirect)
    for module in (
        signin,
        overview,
        accounts,
        trading,
        launch,
        operations,
        reports,
        actions,
        live,
    ):
        app.include_router(module.router)
    app.mount("/panel/static", StaticFiles(directory=HERE / "static"), name="panel-static")
