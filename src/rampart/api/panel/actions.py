"""Every panel action: a button opens a confirm page (with the reason where the API takes one),
its form posts here, and the action runs through the same operator layer as the API and the
bot, so it is authorised, audited and answered with the same sentence.

An action is refused before it runs when the session may only read (403, no CSRF check: such a
session has no action forms) or the form's CSRF value is not the session's (403).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rampart.api.errors import ApiError, status_for
from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import Who, check_action, form, redirect, render
from rampart.domain.errors import RampartError
from rampart.operator.errors import Conflict

router = APIRouter(include_in_schema=False)

Runner = Callable[[Request, PanelSession, str, dict[str, str]], Awaitable[str]]
"""(request, session, target, form fields) -> the operator layer's sentence."""


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    button: str
    explain: str
    run: Runner
    back: str
    """Where to go after it ran; ``{target}`` is replaced by the target."""
    reason: str | None = None
    """The reason field's suggested text; None: the action takes no reason."""
    option: tuple[str, str] | None = None
    """A checkbox (field name, label), e.g. also close positions."""
    target: str | None = None
    """What the target is called on the confirm page (account, incident); None: no target."""
    danger: bool = True
    fields: Callable[[Request, str], list[dict[str, object]]] | None = None
    """More inputs on the confirm page (request, target) -> [{name, label, value, choices}];
    ``choices`` (a list) makes a select, else a text input."""
    note: Callable[[Request, str], str | None] | None = None
    """A sentence about the target shown above the form (request, target), e.g. that resuming
    a halted account needs the breaker lifted instead; None: nothing to add."""


ACTIONS: dict[str, Action] = {}


def action(act: Action) -> Action:
    ACTIONS[act.name] = act
    return act


def _checked(fields: dict[str, str], name: str) -> bool:
    return fields.get(name, "") in ("on", "true", "1", "yes")


def _confirm(
    request: Request,
    who: PanelSession,
    act: Action,
    target: str,
    *,
    error: str | None = None,
    status: int = 200,
    reason: str | None = None,
) -> Response:
    return render(
        request,
        "confirm.html",
        who,
        status=status,
        act=act,
        target=target,
        error=error,
        reason=act.reason if reason is None else reason,
        back=act.back.format(target=target),
        fields=act.fields(request, target) if act.fields is not None else [],
        note=act.note(request, target) if act.note is not None else None,
    )


@router.get("/panel/act/{name}")
async def confirm_page(
    request: Request,
    name: str,
    who: Who,
    target: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    act = ACTIONS.get(name)
    if act is None:
        return render(request, "missing.html", who, status=404, what=f"an action called {name!r}")
    if not who.admin:
        return render(request, "missing.html", who, status=403, what=None)
    return _confirm(request, who, act, target)


@router.post("/panel/act/{name}")
async def run_action(request: Request, name: str, who: Who) -> Response:
    act = ACTIONS.get(name)
    fields = await form(request)
    refused = check_action(who, fields.get("csrf"))
    if refused is not None:
        return refused
    if act is None:
        return render(request, "missing.html", who, status=404, what=f"an action called {name!r}")
    target = fields.get("target", "")[:128]
    reason = fields.get("reason", "")[:500]
    try:
        sentence = await act.run(request, who, target, fields)
    except ApiError as exc:
        return _confirm(request, who, act, target, error=exc.message, status=exc.status,
                        reason=reason)  # fmt: skip
    except RampartError as exc:
        return _confirm(request, who, act, target, error=exc.message, status=status_for(exc),
                        reason=reason)  # fmt: skip
    who.flash.append(("status", sentence))
    return redirect(act.back.format(target=target))


# -- the kill switch and accounts (the Operator facade) -------------------------------------------


async def _engage(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    result = await request.app.state.ctx.operator.engage_kill_switch(
        who.actor, f.get("reason", ""), _checked(f, "flatten")
    )
    return str(result.message)


async def _release(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    result = await request.app.state.ctx.operator.release_kill_switch(
        who.actor, f.get("reason", "")
    )
    return str(result.message)


async def _pause(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    result = await request.app.state.ctx.operator.pause_account(
        target, who.actor, f.get("reason", ""), _checked(f, "flatten")
    )
    return str(result.message)


async def _flatten(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    result = await request.app.state.ctx.operator.pause_account(
        target, who.actor, f.get("reason", ""), True
    )
    return str(result.message)


def _halted_not_paused(request: Request, target: str) -> str | None:
    """Why Resume does nothing on ``target``: a circuit breaker halts it and it is not paused
    (the sentence points to the Lift circuit breaker button); None when Resume applies."""
    try:
        summary = request.app.state.ctx.operator.summary(target)
    except RampartError:
        return None  # an unknown account: the action itself answers in words
    if summary.paused or summary.state == "active":
        return None
    return (
        f"Account {target} is not paused: a circuit breaker holds it ({summary.state}). "
        "Resuming changes nothing; lift the breaker with “Lift circuit breaker” on the "
        f"account's page (/panel/act/account-lift?target={target})."
    )


async def _resume(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    lift = _checked(f, "lift_breakers")
    halted = _halted_not_paused(request, target)
    if halted is not None and not lift:
        raise Conflict(halted)
    result = await request.app.state.ctx.operator.resume_account(
        target, who.actor, f.get("reason", ""), lift
    )
    return str(result.message)


async def _lift(request: Request, who: PanelSession, target: str, f: dict[str, str]) -> str:
    result = await request.app.state.ctx.operator.resume_account(
        target, who.actor, f.get("reason", ""), True
    )
    return str(result.message)


action(
    Action(
        "kill-engage",
        "Engage kill switch",
        "No account opens a new position until the kill switch is released; working entry "
        "orders are canceled. Stop-losses and take-profits keep working.",
        _engage,
        "/panel",
        reason="",
        option=("flatten", "Also close every open position at market"),
    )
)
action(
    Action(
        "kill-release",
        "Release kill switch",
        "Accounts may open positions again (paused or halted accounts stay as they are).",
        _release,
        "/panel",
        reason="",
    )
)
action(
    Action(
        "account-pause",
        "Pause account",
        "This account opens no new positions until resumed; its working entry orders are "
        "canceled. Its stop-losses and take-profits keep working.",
        _pause,
        "/panel/accounts/{target}",
        reason="",
        option=("flatten", "Also close its open positions at market"),
        target="account",
    )
)
action(
    Action(
        "account-resume",
        "Resume account",
        "This account may open positions again.",
        _resume,
        "/panel/accounts/{target}",
        reason="",
        option=("lift_breakers", "Also lift a circuit-breaker halt"),
        target="account",
        note=_halted_not_paused,
    )
)
action(
    Action(
        "account-lift",
        "Lift circuit breaker",
        "The circuit breaker's halt on this account is lifted (and a pause with it): it may "
        "open positions again. Only an operator lifts a breaker; it trips again if its limit "
        "is crossed again.",
        _lift,
        "/panel/accounts/{target}",
        reason="",
        target="account",
    )
)
action(
    Action(
        "account-flatten",
        "Flatten account",
        "This account is paused and every open position of it is closed at market now.",
        _flatten,
        "/panel/accounts/{target}",
        reason="",
        target="account",
    )
)
