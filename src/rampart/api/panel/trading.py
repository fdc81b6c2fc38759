"""The Trading page: engines per symbol (start one, stop one) and the model registry
(versions with their out-of-sample metrics, promote, roll back).

Engines start and stop through the Operator facade and models through the registry, as
``POST /admin/engines/...`` and ``POST /admin/models/...`` do, with their sentences.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.agents.registry import AGENT_NAMES
from rampart.api.panel.actions import Action, action
from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import Who, ctx_of, render
from rampart.api.routes_models import ModelOut, ServingOut, _refused, _registry
from rampart.api.schemas import AccountOut
from rampart.ml.artifacts import ArtifactError
from rampart.operator.control import OPERATOR_OWNER
from rampart.operator.names import RegistryError

router = APIRouter(include_in_schema=False)


def _models(request: Request) -> tuple[list[dict[str, Any]], dict[str, Any] | None, str | None]:
    try:
        versions = _registry(request).versions()
    except Exception as exc:  # a registry that cannot be read must not take the page down
        return [], None, f"The model registry cannot be read: {exc}"
    status = ctx_of(request).operator.model_serving()
    serving = ServingOut.model_validate(status).model_dump() if status is not None else None
    models = [ModelOut.model_validate(v.summary()).model_dump() for v in versions]
    if serving is not None:
        # The registry's production, read now: the running source learns of a promotion made
        # elsewhere (the CLI) at its next poll, and said "Production: none" above it meanwhile.
        serving["production"] = next(
            (m["version"] for m in models if m["stage"] == "production"), None
        )
    return models, serving, None


@router.get("/panel/trading")
async def trading(request: Request, who: Who) -> Response:
    if not who.reads_all:
        return render(request, "missing.html", who, status=403, what=None)
    operator = ctx_of(request).operator
    accounts = [AccountOut.model_validate(a).model_dump(mode="json") for a in operator.accounts()]
    symbols = []
    for symbol in sorted(operator.feed_symbols):
        trading_it = [a for a in accounts if symbol in a["symbols"]]
        symbols.append(
            {
                "symbol": symbol,
                "accounts": trading_it,
                "engines": [a for a in trading_it if a["owner"] == OPERATOR_OWNER],
            }
        )
    models, serving, problem = await asyncio.to_thread(_models, request)
    return render(
        request,
        "trading.html",
        who,
        symbols=symbols,
        mode=operator.mode,
        models=models,
        serving=serving,
        models_problem=problem,
    )


def _engine_fields(request: Request, target: str) -> list[dict[str, object]]:
    profiles = ctx_of(request).operator.profile_names()
    return [
        {"name": "capital", "label": "Capital (quote currency)", "value": "1000", "choices": None},
        {"name": "agent", "label": "Agent", "value": "trend", "choices": list(AGENT_NAMES)},
        {"name": "profile", "label": "Risk profile", "value": "moderate", "choices": profiles},
    ]


async def _start(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    operator = ctx_of(request).operator
    summary = await operator.start_engine(
        target,
        operator.mode,
        f.get("capital", ""),
        who.actor,
        f.get("agent", "trend"),
        f.get("profile", "moderate"),
    )
    return (
        f"Engine {summary.account_id} started on {summary.symbols[0]} "
        f"with {summary.capital} {summary.quote}."
    )


async def _stop(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    reason = f.get("reason", "") or "stopped by the operator"
    result = await ctx_of(request).operator.stop_engine(target, who.actor, reason)
    return str(result.message)


async def _promote(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    ctx = ctx_of(request)
    try:
        done = await ctx.operator.promote_model(
            ctx.settings.ml.models_dir, target, who.actor, f.get("reason", "")
        )
    except (RegistryError, ArtifactError) as exc:
        raise _refused(exc) from None
    return str(done.message)


async def _rollback(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    ctx = ctx_of(request)
    try:
        done = await ctx.operator.rollback_model(
            ctx.settings.ml.models_dir, who.actor, f.get("reason", "")
        )
    except RegistryError as exc:
        raise _refused(exc) from None
    return str(done.message)


for made in (
    Action(
        "engine-start",
        "Start engine",
        "Start a new operator account trading this symbol on the running engine, in this "
        "service's mode, with the capital, agent and risk profile below.",
        _start,
        "/panel/trading",
        target="symbol",
        fields=_engine_fields,
        danger=False,
    ),
    Action(
        "engine-stop",
        "Stop engine",
        "Pause this engine for good and close its positions at market.",
        _stop,
        "/panel/trading",
        reason="stopped by the operator",
        target="engine",
    ),
    Action(
        "model-promote",
        "Promote",
        "Make this model version production (its artifact is verified first); the running "
        "service switches to it at once.",
        _promote,
        "/panel/trading",
        reason="",
        target="model version",
    ),
    Action(
        "model-rollback",
        "Roll back model",
        "Put the version that served before the current one back in production.",
        _rollback,
        "/panel/trading",
        reason="",
    ),
):
    action(made)
