"""The operator's model registry endpoints (admin token): list, promote, roll back."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, Field

from rampart.api.auth import Admin
from rampart.api.errors import ApiError
from rampart.api.routes_admin import CONFLICT, ERRORS, REFUSED, STORE, _err
from rampart.ml.artifacts import ArtifactError
from rampart.operator.names import RegistryError

if TYPE_CHECKING:
    from rampart.ml.registry import ModelRegistry

router = APIRouter(prefix="/api/v1/admin/models", tags=["operator"], responses=ERRORS)
Version = Annotated[str, Path(min_length=1, max_length=64, description="A model version.")]


class ModelActionIn(BaseModel):
    model_config = {"extra": "forbid"}
    reason: str = Field(default="", max_length=500)


class ModelOut(BaseModel):
    version: str
    stage: str
    algorithm: str
    created_at: int
    created_by: str
    promoted_by: str | None
    promoted_at: int | None
    trades: int | None
    precision: float | None
    hit_rate: float | None
    ev: float | None
    """Mean net return per trade after fees, a fraction of the entry, out of sample."""
    baseline_precision: float | None
    baseline_ev: float | None
    auc: float | None
    files: list[str]


class ServingOut(BaseModel):
    production: str | None
    serving: str | None
    """The version the running service decides with (the previous one if production failed)."""
    error: str | None


class ModelsOut(BaseModel):
    models: list[ModelOut]
    serving: ServingOut | None


class ModelActionOut(BaseModel):
    production: str
    previous: str | None
    message: str


def _registry(request: Request) -> ModelRegistry:
    ctx = request.app.state.ctx
    registry: ModelRegistry = ctx.operator.model_registry(ctx.settings.ml.models_dir)
    return registry


def _refused(exc: RegistryError | ArtifactError) -> ApiError:
    text = exc.message
    status = 404 if text.startswith("There is no model version") else 409
    return ApiError(400 if isinstance(exc, ArtifactError) else status, text)


@router.get("", response_model=ModelsOut, summary="Every model version and what is serving")
async def list_models(request: Request, who: Admin) -> Any:
    del who
    versions = await asyncio.to_thread(_registry(request).versions)
    serving = request.app.state.ctx.operator.model_serving()
    return ModelsOut(
        models=[ModelOut.model_validate(v.summary()) for v in versions],
        serving=ServingOut.model_validate(serving) if serving is not None else None,
    )


@router.post(
    "/{version}/promote",
    response_model=ModelActionOut,
    summary="Make a version production (its artifact is verified first)",
    responses={**REFUSED, **CONFLICT, 404: _err("No such model version."), **STORE},
)
async def promote(
    request: Request, version: Version, who: Admin, body: Annotated[ModelActionIn, Body()] = None
) -> Any:
    ctx = request.app.state.ctx
    reason = body.reason if body else ""
    try:
        done = await ctx.operator.promote_model(
            ctx.settings.ml.models_dir, version, who.actor, reason
        )
    except (RegistryError, ArtifactError) as exc:
        raise _refused(exc) from None
    return ModelActionOut(production=done.production, previous=done.previous, message=done.message)


@router.post(
    "/rollback",
    response_model=ModelActionOut,
    summary="Put the version that served before the current one back",
    responses={**REFUSED, **CONFLICT, **STORE},
)
async def rollback(
    request: Request, who: Admin, body: Annotated[ModelActionIn, Body()] = None
) -> Any:
    ctx = request.app.state.ctx
    reason = body.reason if body else ""
    try:
        done = await ctx.operator.rollback_model(ctx.settings.ml.models_dir, who.actor, reason)
    except RegistryError as exc:
        raise _refused(exc) from None
    return ModelActionOut(production=done.production, previous=done.previous, message=done.message)
