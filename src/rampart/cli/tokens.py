"""``rampart token create|list|revoke``: API tokens, shown once and stored only as a hash."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.cli.tables import Col, print_json, print_listing
from rampart.clock import WallClock, ms_to_datetime

console = Console(soft_wrap=True)
token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)


def _open(config: Path | None) -> tuple[Any, Any]:
    from rampart.cli.common import load_settings
    from rampart.store.db import open_database

    settings = load_settings(config)
    url = settings.store.url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return settings, open_database(url)


@contextlib.contextmanager
def _store(config: Path | None) -> Iterator[tuple[Any, Any, Any]]:
    """Settings, the database and the master key's box, as ``rampart secrets`` opens them (the
    wallet commands and ``wallet partner-fees``)."""
    from rampart.security.secrets import load_key_box

    settings, db = _open(config)
    try:
        yield settings, db, load_key_box(settings.master_key, settings.vault)
    finally:
        db.dispose()


def _audit(db: Any, action: str, target: str, **detail: Any) -> None:
    from rampart.store.audit import AuditLog

    AuditLog(db).record(WallClock().now_ms(), "cli", action, target, detail)


def _when(ms: int | None) -> str:
    return "" if ms is None else ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M")


@token_app.command("create")
@friendly
def create(
    scope: Annotated[
        str,
        typer.Option(
            help="admin (everything), read (view everything, change nothing) or user (one account)."
        ),
    ],
    account: Annotated[
        str | None,
        typer.Option("--account", help="The account a user token reads.", show_default=False),
    ] = None,
    name: Annotated[
        str, typer.Option(help="A label to tell tokens apart (who or what uses it).")
    ] = "",
    config: ConfigOpt = None,
) -> None:
    """Make a token and print it once: only its hash is kept."""
    from rampart.domain.errors import RampartError
    from rampart.security import tokens
    from rampart.store.queries import list_accounts

    settings, db = _open(config)
    try:
        wanted = (scope or "").strip().lower()
        if wanted == tokens.USER and account:
            known = {a.id for a in settings.accounts} | {a.account_id for a in list_accounts(db)}
            if account.strip() not in known:
                raise RampartError(
                    f"There is no account called {account!r}: it is neither in the "
                    "configuration nor in the database."
                )
        token = tokens.create_token(db, scope, account, name, WallClock().now_ms())
        _audit(db, "token.create", token[: tokens.PREFIX_LEN], scope=wanted, account=account)
    finally:
        db.dispose()
    who = f"account {account.strip()}" if wanted == tokens.USER and account else "every account"
    article = "an" if wanted == tokens.ADMIN else "a"
    can = " (it may read, never act)" if wanted == tokens.READ else ""
    console.print(f"Created {article} {wanted} token for {who}{can}:")
    console.print(token, highlight=False, markup=False)
    console.print(
        "Keep it now: it is not shown again (only its hash is stored). "
        "Send it as 'Authorization: Bearer <token>'.",
        style="yellow",
    )


@token_app.command("list")
@friendly
def list_(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked tokens.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """List tokens by id and prefix (never the tokens themselves)."""
    from rampart.security import tokens

    _, db = _open(config)
    try:
        found = tokens.list_tokens(db, include_revoked=revoked)
    finally:
        db.dispose()
    if as_json:
        print_json([dataclasses.asdict(t) for t in found])
        return
    if not found:
        console.print("No tokens yet; make one with `rampart token create --scope admin`.")
        return
    columns = [
        Col("id", key=True),
        Col("prefix", key=True),
        Col("scope"),
        Col("account", key=True),
        Col("name"),
        Col("created"),
        Col("last used"),
        Col("revoked"),
    ]
    rows = (
        [
            str(t.id),
            t.prefix + "…",
            t.scope,
            t.account_id or "",
            t.name,
            _when(t.created_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        ]
        for t in found
    )
    print_listing(console, columns, rows, "API tokens")


@token_app.command("revoke")
@friendly
def revoke(
    token: Annotated[str, typer.Argument(help="The token's id or prefix, from `token list`.")],
    config: ConfigOpt = None,
) -> None:
    """Revoke a token: the API refuses it within seconds."""
    from rampart.security import tokens

    _, db = _open(config)
    try:
        done = tokens.revoke(db, token, WallClock().now_ms())
        _audit(db, "token.revoke", str(done.id), prefix=done.prefix, scope=done.scope)
    finally:
        db.dispose()
    console.print(f"Revoked token {done.id} ({done.prefix}…, {done.scope}, {done.name}).")


@token_app.command("rotate")
@friendly
def rotate(
    token: Annotated[str, typer.Argument(help="The token's id or prefix, from `token list`.")],
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            max=7 * 24 * 60,
            help="Minutes the old token keeps working, so clients can switch (default 0).",
        ),
    ] = 0,
    config: ConfigOpt = None,
) -> None:
    """Replace a token: a new one with the same scope, account and name; the old is revoked
    (at once, or after --grace minutes)."""
    from rampart.domain.errors import RampartError
    from rampart.security import tokens

    _, db = _open(config)
    try:
        found = [t for t in tokens.find_tokens(db, token) if t.active]
        if len(found) != 1:
            # revoke() words the unknown and ambiguous cases; nothing has been made yet.
            tokens.revoke(db, token, WallClock().now_ms())
            raise RampartError(f"There is no single active token {token!r} to rotate.")
        old = found[0]
        now = WallClock().now_ms()
        fresh = tokens.create_token(db, old.scope, old.account_id, old.name, now)
        retired_at = now + int(grace * 60_000)
        tokens.revoke(db, str(old.id), now, effective_ms=retired_at)
        detail = {
            "replaced_by": fresh[: tokens.PREFIX_LEN],
            "scope": old.scope,
            "grace_minutes": grace,
        }
        _audit(db, "token.rotate", str(old.id), **detail)
    finally:
        db.dispose()
    when = "is revoked" if not grace else f"stops working in {grace:g} minutes"
    console.print(f"Token {old.id} ({old.prefix}…) {when}; its replacement:")
    console.print(fresh, highlight=False, markup=False)
    console.print(
        "Keep it now: it is not shown again. Switch clients to it"
        + (": the old token is refused." if not grace else " before the old one stops."),
        style="yellow",
    )
