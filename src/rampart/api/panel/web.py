"""What every panel page shares: the templates, who is signed in, CSRF, rendering."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from rampart.api.errors import ApiError
from rampart.api.panel.cells import label_cells
from rampart.api.panel.sessions import COOKIE, PanelSession, SessionStore
from rampart.api.panel.shown import FILTERS
from rampart.clock import ms_to_datetime

HERE = Path(__file__).parent
env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def utc(ms: int | None) -> str:
    """A UTC millisecond time as people read it (the API sends the number)."""
    if ms is None:
        return "—"
    return f"{ms_to_datetime(int(ms)):%Y-%m-%d %H:%M:%S} UTC"


env.filters["utc"] = utc
env.filters.update(FILTERS)  # money as people read it (rampart.domain.money_format)

# The panel's own scripts and styles only: no inline code, no other origin (it works offline
# and an injected script has nowhere to come from).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {"content-security-policy": CSP, "cache-control": "no-store"}
READ_ONLY = "This token can only read."
DEFAULT_SESSION_S = 8 * 3600.0
BAD_CSRF = (
    "This form did not come from your panel session (or the session changed); "
    "reload the page and try again."
)
NAV = (
    ("Overview", "/panel", False),
    ("Accounts", "/panel/accounts", False),
    ("Trades", "/panel/trades", True),
    ("Trading", "/panel/trading", True),
    ("Launch", "/panel/launch", True),
    ("Reports", "/panel/reports", True),
    ("Revenue", "/panel/revenue", True),
    ("People", "/panel/people", True),
    ("Operations", "/panel/operations", True),
)
"""(label, address, needs a token that reads every account): a user token is shown only the
pages it may open."""


def nav_for(who: PanelSession | None) -> list[tuple[str, str]]:
    if who is None:
        return []
    return [(label, href) for label, href, everything in NAV if who.reads_all or not everything]


class SignIn(Exception):
    """No valid session: the handler sends the browser to the sign-in page."""


def ctx_of(request: Request) -> Any:
    return request.app.state.ctx


def new_store(ctx: Any) -> SessionStore:
    """Sessions on the ops clock, lasting ``api.panel_session_s`` (8 h without settings), stored
    in the service's database and re-read as often as the API re-reads its tokens."""
    api = getattr(getattr(ctx, "settings", None), "api", None)
    operator = getattr(ctx, "operator", None)
    return SessionStore(
        ctx.clock,
        float(getattr(api, "panel_session_s", DEFAULT_SESSION_S)),
        records=getattr(operator, "panel_sessions", None),
        recheck_s=float(getattr(api, "token_refresh_s", 5.0)),
    )


def store_of(request: Request) -> SessionStore:
    store: SessionStore | None = getattr(request.app.state, "panel_sessions", None)
    if store is None:
        store = request.app.state.panel_sessions = new_store(ctx_of(request))
    return store


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def signed_in(request: Request) -> PanelSession:
    """The session behind the cookie, its token checked again as the API checks it."""
    found = await store_of(request).get(request.cookies.get(COOKIE))
    if found is None:
        raise SignIn()
    try:
        who = await ctx_of(request).auth.identify_id(found.token_id, client_of(request))
    except ApiError as exc:
        if exc.status == 401:  # revoked or expired since sign-in
            await store_of(request).end(found.id)
            raise SignIn() from None
        raise
    # Read back after a restart, a session learns who it is from its token.
    found.name, found.scope, found.account_id = who.name, who.scope, who.account_id
    return found


Who = Annotated[PanelSession, Depends(signed_in)]


async def form(request: Request) -> dict[str, str]:
    """The posted form's fields (first value of each). Forms are URL-encoded, so the standard
    library reads them; the body limit middleware has already bounded the body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def render(
    request: Request,
    template: str,
    who: PanelSession | None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    partial = request.headers.get("hx-request") == "true"
    page = env.get_template(template).render(
        request=request,
        who=who,
        nav=nav_for(who),
        path=request.url.path,
        # A table refreshing itself (htmx) must not take the sentence meant for the page.
        messages=who.pop_flash() if who is not None and not partial else [],
        **values,
    )
    return HTMLResponse(label_cells(page), status_code=status, headers=HEADERS)


def refuse(status: int, sentence: str) -> Response:
    """A plain sentence, as every refusal is (a forged or stale form, a read-only token)."""
    return Response(sentence, status_code=status, media_type="text/plain", headers=HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    del request, exc
    return redirect("/panel/login")


def check_action(who: PanelSession, csrf: str | None) -> Response | None:
    """Why an action is refused before it runs (None: it may run). A read-only session is
    refused first: it has no action forms, so any action it sends is forged."""
    if not who.admin:
        return refuse(403, READ_ONLY)
    if not who.csrf_ok(csrf):
        return refuse(403, BAD_CSRF)
    return None
