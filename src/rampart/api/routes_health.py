"""Liveness, readiness and Prometheus metrics: open to the load balancer and the scraper.

They need no login, so every sentence on them is masked as a log line is (else a refused
bot token, or a wrong ``telegram.api_url`` carrying it, shows here in clear)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from rampart.api.schemas import CheckOut, ComponentOut, Liveness, Readiness
from rampart.observability.logging import mask_text
from rampart.runtime.health import degraded

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Liveness,
    summary="Liveness: the service answers; its components and their lifecycle states",
)
async def health(request: Request) -> Liveness:
    lines = request.app.state.ctx.health.components()
    return Liveness(
        components=[
            ComponentOut(
                name=c.name,
                state=c.state,
                up=c.up,
                restarts=c.restarts,
                note=mask_text(c.note),
                last_error=None if c.last_error is None else mask_text(c.last_error),
            )
            for c in lines
        ]
    )


@router.get(
    "/health/ready",
    response_model=Readiness,
    summary="Readiness: database, venue, feed and workers",
    responses={503: {"model": Readiness, "description": "A required check failed."}},
)
async def ready(request: Request) -> Any:
    ok, checks = await request.app.state.ctx.health.ready()
    body = Readiness(
        ready=ok,
        checks=[
            CheckOut(name=c.name, ok=c.ok, detail=mask_text(c.detail), required=c.required)
            for c in checks
        ],
        degraded=degraded(checks),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    body, content_type = request.app.state.ctx.metrics.render()
    return Response(content=body, media_type=content_type)
