"""The FastAPI application: health, investor and operator routes over one ApiContext."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute

from rampart import __version__
from rampart.api import (
    docs,
    errors,
    hardening,
    openapi_truth,
    panel,
    routes_admin,
    routes_health,
    routes_investor,
    routes_models,
    routes_overview,
    routes_reports,
    routes_revenue,
    routes_rollout,
    routes_status,
    routes_trades,
)
from rampart.api.context import ApiContext
from rampart.api.errors import ApiError

DESCRIPTION = """\
Rampart's HTTP API. `/health`, `/health/ready` and `/metrics` are open (load balancers and
Prometheus), and so is `/status` (the public status page, HTML or JSON); everything under
`/api/v1` needs `Authorization: Bearer <token>` from
`rampart token create`. A user token reads only its own account; an admin token reads every
account and may use the operator endpoints. Money is a decimal string; times are UTC ms.
Errors are `{"error": "<one sentence>"}`; unknown query parameters and body fields are refused
rather than ignored."""

_known: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def known_query(request: Request) -> None:
    """Refuse a query parameter the endpoint does not take: a typo must not pass silently."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _known.get(id(route))
    if allowed is None:
        allowed = _known[id(route)] = frozenset(_query_names(route.dependant))
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no query parameters"
        raise ApiError(422, f"Unknown query parameter {unknown[0]!r}; this endpoint takes {takes}.")


def create_app(ctx: ApiContext) -> FastAPI:
    app = FastAPI(
        title="Rampart",
        version=__version__,
        description=DESCRIPTION,
        # /docs and /redoc are added by api.docs with their assets served from here, so they
        # work offline (FastAPI's own load them from CDNs).
        docs_url=None,
        openapi_url="/openapi.json",
        redoc_url=None,
        dependencies=[Depends(known_query)],
    )
    app.state.ctx = ctx
    errors.install(app)
    hardening.install(app, getattr(getattr(ctx, "settings", None), "api", None))
    docs.install(app)
    openapi_truth.install(app, getattr(getattr(ctx, "settings", None), "mode", None))
    app.include_router(routes_health.router)
    app.include_router(routes_trades.router)  # before .../trades: its own paths
    app.include_router(routes_investor.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_rollout.router)
    app.include_router(routes_models.router)
    app.include_router(routes_reports.admin_router)
    app.include_router(routes_reports.investor_router)
    app.include_router(routes_revenue.router)
    app.include_router(routes_overview.router)
    app.include_router(routes_status.router)  # public: no token, no account data
    panel.install(app, ctx)  # the operator panel (docs/operators/panel.md)
    return app
