"""Sign-in and sign-out: an API token in, a session cookie out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rampart.api.errors import ApiError
from rampart.api.panel.sessions import COOKIE
from rampart.api.panel.web import (
    BAD_CSRF,
    ctx_of,
    form,
    redirect,
    refuse,
    render,
    store_of,
)

router = APIRouter(include_in_schema=False)
WRONG = "That token is not valid."


def _https(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    api = ctx_of(request).settings.api
    # Behind a TLS proxy the browser speaks https even though this hop is plain http.
    return bool(api.behind_tls_proxy) and request.headers.get("x-forwarded-proto") == "https"


@router.get("/")
async def root() -> Response:
    return redirect("/panel")


@router.get("/panel/login")
async def login_form(request: Request) -> Response:
    return render(request, "login.html", None)


@router.post("/panel/login")
async def login(request: Request) -> Response:
    ctx = ctx_of(request)
    token = (await form(request)).get("token", "")[:512]
    client = request.client.host if request.client is not None else "unknown"
    try:
        who = await ctx.auth.identify(token.strip(), client)
    except ApiError as exc:
        message = WRONG if exc.status == 401 else exc.message
        return render(request, "login.html", None, status=exc.status, error=message)
    store = store_of(request)
    made = await store.create(who.token_id, who.name, who.scope, who.account_id)
    response = redirect("/panel")
    response.set_cookie(
        COOKIE,
        made.id,
        max_age=store.lifetime_ms // 1000,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return response


@router.post("/panel/logout")
async def logout(request: Request) -> Response:
    csrf = (await form(request)).get("csrf")
    store = store_of(request)
    found = await store.get(request.cookies.get(COOKIE))
    if found is not None and not found.csrf_ok(csrf):
        return refuse(403, BAD_CSRF)
    await store.end(found.id if found is not None else None)
    response = redirect("/panel/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
