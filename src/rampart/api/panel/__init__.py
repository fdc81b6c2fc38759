"""The operator panel: server-rendered pages over the same views and operator layer as the
API, served by the API's own app (docs/operators/panel.md)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rampart.api.panel import (
    accounts,
    actions,
    charts,
    launch,
    live,
    operations,
    overview,
    people,
    reports,
    revenue,
    signin,
    trades,
    trading,
)
from rampart.api.panel.web import HERE, SignIn, new_store, sign_in_redirect

ROUTERS = (
    signin,
    overview,
    accounts,
    trades,
    trading,
    launch,
    operations,
    reports,
    revenue,
    people,
    actions,
    charts,
    live,
)
"""The panel's modules, each with its ``router``, in the order they are installed."""


def install(app: FastAPI, ctx: Any) -> None:
    """Add the panel's pages, its static files and its session store to ``app``."""
    if ctx is not None:  # None: an app built only for its OpenAPI document
        app.state.panel_sessions = new_store(ctx)
    app.add_exception_handler(SignIn, sign_in_redirect)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/panel/static", StaticFiles(directory=HERE / "static"), name="panel-static")
