"""``rampart doctor``: check a deployment's settings and database, and say what to fix.

Each check answers OK, WARN or FAIL with one sentence; a FAIL is something that makes the
deployment unsafe to run with real money (or unreachable by its operators). The checks only
read: the database is opened without migrating, and a missing database is reported, not made.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from rampart.config import Settings
from rampart.domain.errors import RampartError
from rampart.runtime.hosts import is_loopback
from rampart.store.errors import explain

Status = Literal["OK", "WARN", "FAIL"]
HOUR_MS = 3_600_000
DEFAULT_BACKUP_EVERY_H = 6.0
"""Assumed backup interval when the settings have no backup section."""


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    name: str
    message: str


def _ok(name: str, message: str) -> Check:
    return Check("OK", name, message)


def _warn(name: str, message: str) -> Check:
    return Check("WARN", name, message)


def _fail(name: str, message: str) -> Check:
    return Check("FAIL", name, message)


# -- settings-only checks -----------------------------------------------------------------


def check_master_key(settings: Settings) -> Check:
    name = "master key"
    from rampart.security.secrets import load_key_box

    key = settings.master_key
    vault = getattr(settings, "vault", None)
    has_vault = vault is not None and bool(getattr(vault, "url", None))
    if (key is None or not key.get_secret_value().strip()) and not has_vault:
        message = (
            "RAMPART_MASTER_KEY is not set, so exchange keys cannot be stored encrypted; make "
            "one with `rampart secrets generate` and set it in the service's environment."
        )
        return _warn(name, message) if settings.mode == "paper" else _fail(name, message)
    if has_vault:
        return _ok(name, "the master key comes from Vault (not read by doctor).")
    try:
        box = load_key_box(key)
    except RampartError as err:
        return _fail(name, f"the master key cannot be used: {err.message}")
    return _ok(name, f"set (key id {box.key_id}).")


def _mode_sentences(settings: Settings, topic: str) -> list[str]:
    from rampart.wiring.venue_kinds import mode_problems

    return [p.sentence for p in mode_problems(settings) if p.topic == topic]


def _first(sentences: list[str]) -> str:
    more = len(sentences) - 1
    return sentences[0] + (f" (and {more} more to fix)" if more else "")


def check_mode(settings: Settings) -> Check:
    """Mode, feed and venue agree: the refusal ``rampart run`` would print, or where the
    candles come from and the orders go."""
    name = "mode"
    problems = _mode_sentences(settings, "mode") + _mode_sentences(settings, "solana routes")
    if problems:
        return _fail(name, _first(problems))
    mode, feed, venue = settings.mode, settings.feed, settings.venue
    if venue.kind == "paper":
        return _ok(name, f"{mode}: {feed.kind} candles, orders to the in-process paper venue.")
    if venue.kind == "solana":
        nodes = len(settings.solana.rpc_urls)
        prices = "the chain's own prices" if feed.kind == "solana" else f"{feed.kind} candles"
        keyed = [r for r in settings.solana.route.routes if settings.solana.route_key(r)]
        return _ok(
            name,
            f"{mode}: swaps through {', '.join(keyed)} on Solana "
            f"({nodes} RPC node{'s' if nodes != 1 else ''}), on {prices}.",
        )
    if venue.api_url is not None:
        where = f"the exchange at {venue.api_url} (as {venue.exchange})"
    elif venue.sandbox or mode == "testnet":
        where = f"{venue.exchange}'s testnet"
    else:
        where = f"{venue.exchange} with real money"
    candles = f"{feed.kind} candles" if feed.kind != "ccxt" else "its own candles"
    return _ok(name, f"{mode}: orders to {where} through ccxt, on {candles}.")


def check_store_kind(settings: Settings) -> Check:
    """An exchange mode keeps its books in PostgreSQL unless SQLite is explicitly accepted."""
    from rampart.modes import EXCHANGE_MODES

    name = "store kind"
    problems = _mode_sentences(settings, "store")
    if problems:
        return _fail(name, _first(problems))
    if not settings.store.url.startswith("sqlite:"):
        return _ok(name, "PostgreSQL.")
    if settings.mode not in EXCHANGE_MODES:
        return _ok(name, f"SQLite, enough for {settings.mode} mode.")
    message = "SQLite, accepted by store.allow_sqlite_on_exchange"
    if settings.mode == "live":
        return _warn(
            name, f"{message}; move the books to PostgreSQL before real money rides on them."
        )
    return _ok(name, f"{message} for a {settings.mode} trial.")


def check_reconciliation(settings: Settings) -> Check:
    """A venue that can be reconciled is, by the same rule the service follows."""
    from rampart.trading.reconcile.schedule import RECONCILE_EVERY_S, reconciled_by
    from rampart.wiring.venue_kinds import live_feed, venue_kind

    name = "reconciliation"
    venue, feed = settings.venue, settings.feed
    own_books = venue_kind(settings).own_books
    by = reconciled_by(own_books, live_feed(settings))
    if by is None:
        if own_books:
            return _fail(name, f"nothing would reconcile the {venue.kind} venue with the books.")
        return _ok(name, f"not needed: the {venue.kind} venue keeps the books itself.")
    when = f"at start, after every reconnect and every {RECONCILE_EVERY_S:g} s"
    where = (
        "the wallets' balances on chain are" if venue.kind == "solana" else f"{venue.exchange} is"
    )
    if by == "exchange loop":
        return _ok(name, f"{where} reconciled {when}, between its candles.")
    return _ok(
        name,
        f"{where} reconciled {when} of wall time, by its own component (the feed is {feed.kind}).",
    )


def check_bind(settings: Settings) -> Check:
    name = "API bind"
    api = settings.api
    if not api.enabled:
        return _ok(name, "the HTTP API is off.")
    if is_loopback(api.host):
        return _ok(name, f"listens on {api.host} (loopback only).")
    if getattr(api, "behind_tls_proxy", False):
        return _ok(name, f"listens on {api.host} behind a TLS proxy (api.behind_tls_proxy).")
    if getattr(api, "tls_cert", None) is not None:
        return _ok(name, f"listens on {api.host} in HTTPS (api.tls_cert, api.tls_key).")
    return _fail(
        name,
        f"listens on {api.host} in plain HTTP, so tokens cross the network unencrypted; bind "
        "to 127.0.0.1, set api.tls_cert and api.tls_key, or put a TLS proxy in front and set "
        "api.behind_tls_proxy: true.",
    )


def check_cors(settings: Settings) -> Check:
    name = "CORS"
    origins = list(getattr(settings.api, "cors_origins", []) or [])
    if not origins:
        return _ok(name, "off (no browser origin may call the API).")
    if "*" in origins:
        return _warn(name, "api.cors_origins allows every origin ('*'); list the ones you use.")
    return _ok(name, f"allowed for {', '.join(origins)}.")


def check_telegram(settings: Settings) -> Check:
    name = "Telegram operators"
    token = settings.telegram_token
    if token is None or not token.get_secret_value().strip():
        return _warn(
            name,
            "no Telegram bot is configured, so alerts and the kill switch are not in your "
            "pocket; set RAMPART_TELEGRAM_TOKEN and telegram.operator_ids.",
        )
    ids = list(settings.telegram.operator_ids)
    if not ids:
        return _fail(
            name,
            "the bot runs but telegram.operator_ids is empty, so nobody can use /kill; add "
            "your numeric Telegram id.",
        )
    return _ok(name, f"{len(ids)} operator id{'' if len(ids) == 1 else 's'} set.")


TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_TIMEOUT_S = 10.0


def check_operator_chat(settings: Settings) -> Check | None:
    """Whether alerts can reach ``telegram.operator_chat_id``: ``getChat`` answers for it only
    once the operator has written to the bot (or, for a group, added it). None when no bot
    or no operator chat is configured (``Telegram operators`` says what is missing)."""
    name = "Telegram operator chat"
    token = settings.telegram_token
    chat = settings.telegram.operator_chat_id
    if token is None or not token.get_secret_value().strip() or chat is None:
        return None
    import httpx

    base = (settings.telegram.api_url or TELEGRAM_API).rstrip("/")
    try:
        answer = httpx.get(
            f"{base}/bot{token.get_secret_value()}/getChat",
            params={"chat_id": chat},
            timeout=TELEGRAM_TIMEOUT_S,
        )
        body = answer.json()
    except (httpx.HTTPError, ValueError) as err:
        # Never the exception's text: the request's URL carries the bot token.
        return _warn(
            name, f"could not ask Telegram about chat {chat} ({type(err).__name__}); run again."
        )
    if not isinstance(body, dict):
        body = {}
    if body.get("ok"):
        kind = (body.get("result") or {}).get("type", "chat")
        return _ok(name, f"alerts can reach the operator chat {chat} ({kind}).")
    said = str(body.get("description") or f"HTTP {answer.status_code}")
    if answer.status_code == 401:
        return _fail(
            name, f"Telegram refuses the bot token ({said}); check RAMPART_TELEGRAM_TOKEN."
        )
    return _fail(
        name,
        f'alerts cannot reach telegram.operator_chat_id {chat}: Telegram says "{said}". The '
        "operator must open the bot in Telegram and send /start (for a group: add the bot to "
        "it), then run doctor again.",
    )


# -- database checks ----------------------------------------------------------------------


def _sqlite_file(url: str) -> Path | None:
    from rampart.store.db import _sqlite_path, parse_url

    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return _sqlite_path(parsed)


def check_db_file(settings: Settings) -> Check:
    name = "database file"
    try:
        path = _sqlite_file(settings.store.url)
    except RampartError as err:
        return _fail(name, err.message)
    if path is None:
        return _ok(name, "PostgreSQL (or in-memory): access is controlled by the server.")
    if not path.exists():
        return _fail(name, f"{path} does not exist yet; start the service once (`rampart run`).")
    loose = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists() and candidate.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH):
            loose.append(candidate)
    if loose:
        names = " ".join(str(p) for p in loose)
        return _fail(
            name, f"{names} can be read by every user on this machine; run `chmod 600 {names}`."
        )
    if path.stat().st_mode & (stat.S_IRGRP | stat.S_IWGRP):
        return _warn(name, f"{path} is readable by its group; `chmod 600 {path}` unless meant.")
    return _ok(name, f"{path} is readable only by its owner.")


def check_admin_tokens(settings: Settings, db: sa.Engine) -> Check:
    name = "admin tokens"
    from rampart.security import tokens

    admins = [t for t in tokens.list_tokens(db) if t.scope == tokens.ADMIN]
    if admins:
        return _ok(name, f"{len(admins)} active admin token{'' if len(admins) == 1 else 's'}.")
    message = "there is no active admin token; make one with `rampart token create --scope admin`."
    return _fail(name, message) if settings.api.enabled else _warn(name, message)


def check_backups(settings: Settings, db: sa.Engine, now_ms: int) -> Check:
    name = "backups"
    from rampart.store.ops_records import BACKUP_CREATED, last_event

    backup = getattr(settings, "backup", None)
    every_h = float(getattr(backup, "every_hours", DEFAULT_BACKUP_EVERY_H))
    limit_ms = int(2 * every_h * HOUR_MS)
    last = last_event(db, BACKUP_CREATED)
    if last is None:
        return _fail(name, "no backup was ever made; run `rampart backup create` and schedule it.")
    age_ms = now_ms - last.ts
    age_h = age_ms / HOUR_MS
    if age_ms > limit_ms:
        return _fail(
            name,
            f"the newest backup is {age_h:.1f} h old (over twice the {every_h:g} h interval); "
            "check the backup job and run `rampart backup create`.",
        )
    return _ok(name, f"the newest backup is {age_h:.1f} h old.")


def check_audit(db: sa.Engine) -> Check:
    name = "audit log"
    from rampart.store.audit import AuditLog

    verdict = AuditLog(db).verify()
    if not verdict.ok:
        problem = verdict.problem or ""
        return _fail(name, f"{problem[:1].upper()}{problem[1:]} See `rampart audit verify`.")
    count = f"{verdict.entries} entr{'y' if verdict.entries == 1 else 'ies'}"
    return _ok(name, f"intact, {count}, head {verdict.head_hash[:16]}….")


def _guard(name: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except RampartError as err:
        return _fail(name, err.message)
    except sa.exc.SQLAlchemyError as err:
        return _fail(name, f"the database could not be read: {explain(err)}.")


def run_checks(settings: Settings, now_ms: int) -> list[Check]:
    """Every check, in a fixed order. Never raises for a problem it can describe."""
    from rampart.store.db import open_database

    checks = [
        _guard("mode", lambda: check_mode(settings)),
        _guard("master key", lambda: check_master_key(settings)),
        _guard("store kind", lambda: check_store_kind(settings)),
        _guard("reconciliation", lambda: check_reconciliation(settings)),
        _guard("API bind", lambda: check_bind(settings)),
        _guard("CORS", lambda: check_cors(settings)),
        _guard("Telegram operators", lambda: check_telegram(settings)),
        *[c for c in [check_operator_chat(settings)] if c is not None],
        _guard("database file", lambda: check_db_file(settings)),
    ]
    if checks[-1].status == "FAIL" and "does not exist" in checks[-1].message:
        return checks
    db: Any = None
    try:
        db = open_database(settings.store.url, migrate=False)
    except RampartError as err:
        return [*checks, _fail("database", err.message)]
    try:
        checks += [
            _guard("admin tokens", lambda: check_admin_tokens(settings, db)),
            _guard("backups", lambda: check_backups(settings, db, now_ms)),
            _guard("audit log", lambda: check_audit(db)),
        ]
    finally:
        db.dispose()
    return checks
