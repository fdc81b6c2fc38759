"""Liveness, readiness and Prometheus metrics: open to the load balancer and the scraper."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from rampart.api.schemas import CheckOut, Liveness, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Liveness, summary="Liveness: the service answers")
async def health() -> Liveness:
    return Liveness()


@router.get(
    "/health/ready",
    response_model=Readiness,
    summary="Readiness: database, venue, feed and workers",
    responses={503: {"model": Readiness, "description": "At least one check failed."}},
)
async def ready(request: Request) -> Any:
    ok, checks = await request.app.state.ctx.health.ready()
    body = Readiness(
        ready=ok, checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in checks]
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
