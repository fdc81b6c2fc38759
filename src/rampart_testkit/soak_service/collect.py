"""Reading the evidence a service soak leaves: the service's database (fills, incidents, audit
chain, positions), its backups (each restored into a scratch SQLite file and opened), its
``/metrics`` and ``/health``, and the simulator's own record of trades and resting orders."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import sqlalchemy as sa

from rampart.backup.destinations import DirectoryDestination
from rampart.backup.staging import leftovers
from rampart.clock import ms_to_datetime
from rampart.store import models as m
from rampart.store.audit import AuditLog
from rampart.store.models.ops import scheduler_runs
from rampart_testkit.soak_service.evidence import AlertSeen, BackupCheck, Evidence, Holding, JobRun

HTTP_TIMEOUT_S = 5.0
PAGE = 1000
STOP_TYPES = frozenset({"stop_market", "stop_loss", "stop_loss_limit", "stop_limit"})


def parse_metrics(text: str) -> tuple[float, int]:
    """(sum in seconds, count) of ``rampart_order_latency_seconds`` over every label set."""
    total, count = 0.0, 0
    for line in text.splitlines():
        if line.startswith("rampart_order_latency_seconds_sum"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith("rampart_order_latency_seconds_count"):
            count += int(float(line.rsplit(" ", 1)[1]))
    return total, count


def read_books(url: str, ev: Evidence) -> dict[str, dict[str, Decimal]]:
    """Fills by trade id, incidents, the audit chain; the positions held (account -> symbol ->
    qty) for the stop check."""
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            for account, fill_id in conn.execute(
                sa.select(m.fills.c.account_id, m.fills.c.fill_id)
            ):
                ev.book_trade_ids.setdefault(str(account), []).append(
                    str(fill_id).rsplit(":", 1)[-1]
                )
            i = m.incidents.c
            rows = conn.execute(
                sa.select(i.rule, i.severity, i.opened_at, i.resolved_at, i.summary).order_by(i.id)
            ).all()
            jobs = conn.execute(sa.select(scheduler_runs).order_by(scheduler_runs.c.job)).mappings()
            ev.jobs = [
                JobRun(
                    str(j["job"]),
                    f"{ms_to_datetime(int(j['last_slot'] or 0)):%Y-%m-%d %H:%M}",
                    str(j["status"]),
                    str(j["detail"] or "")[:120],
                    int(j["last_slot"] or 0),
                    int(j["last_run_at"] or 0),
                )
                for j in jobs
            ]
            held: dict[str, dict[str, Decimal]] = {}
            for row in conn.execute(sa.select(m.positions)).mappings():
                qty = Decimal(str(row["qty"]))
                if qty > 0:
                    held.setdefault(str(row["account_id"]), {})[str(row["symbol"])] = qty
        ev.alerts = [
            AlertSeen(
                str(rule),
                str(severity),
                int(str(opened or 0)),
                None if resolved is None else int(str(resolved)),
                str(summary or "")[:160],
            )
            for rule, severity, opened, resolved, summary in rows
        ]
        verdict = AuditLog(db).verify()
        ev.audit_read = True
        ev.audit_entries = verdict.entries
        ev.audit_problem = verdict.problem
        return held
    finally:
        db.dispose()


def open_incidents(db: sa.Engine) -> int:
    """Incidents not yet resolved (0 when the store cannot be read now)."""
    i = m.incidents.c
    try:
        with db.connect() as conn:
            query = sa.select(sa.func.count()).where(i.status != "resolved")
            return int(conn.execute(query).scalar_one())
    except sa.exc.SQLAlchemyError:
        return 0


def job_slots(db: sa.Engine) -> dict[str, tuple[int, str]]:
    """Each scheduled job's last slot and status (empty when the store cannot be read now)."""
    j = scheduler_runs.c
    try:
        with db.connect() as conn:
            rows = conn.execute(sa.select(j.job, j.last_slot, j.status)).all()
    except sa.exc.SQLAlchemyError:
        return {}
    return {str(job): (int(str(slot or 0)), str(status)) for job, slot, status in rows}


def opened_since(db: sa.Engine, rules: Iterable[str], since_ms: int) -> bool:
    """Whether an incident of one of ``rules`` opened at ``since_ms`` or later."""
    i = m.incidents.c
    try:
        with db.connect() as conn:
            query = sa.select(i.id).where(i.rule.in_(list(rules)), i.opened_at >= since_ms)
            return conn.execute(query.limit(1)).first() is not None
    except sa.exc.SQLAlchemyError:
        return False


def check_backups(
    backup_dir: Path,
    key: bytes,
    now_ms: int,
    deadline: float,
    ev: Evidence,
    store_url: str | None = None,
) -> None:
    """Restore each backup the service wrote into a scratch store and open it (a SQLite file;
    a scratch database on the PostgreSQL server at ``store_url``, the store's own URL, when the
    service's store was there); what is left when ``deadline`` (monotonic seconds) passes is
    counted as unchecked."""
    found = [backup_dir / name for name in DirectoryDestination(backup_dir).names()]
    for left in leftovers(backup_dir):
        ev.notes.append(
            f"{left.name} left by a backup cut short (not a backup; the next one clears it)"
        )
    for path in found:
        if time.monotonic() > deadline:
            ev.backups_unchecked += 1
            continue
        try:
            with _scratch(store_url) as (target, read):
                detail = _restore_and_open(path, key, now_ms, target, read)
            ev.backups.append(BackupCheck(path.name, True, detail))
        except (
            Exception
        ) as exc:  # a backup that fails to restore, whatever the cause, is the finding
            ev.backups.append(BackupCheck(path.name, False, f"{type(exc).__name__}: {exc}"))


def _restore_and_open(path: Path, key: bytes, now_ms: int, target: str, read: str) -> str:
    from rampart.backup.restore import restore_backup

    restore_backup(path, key, target, now_ms, record=False)
    opened = sa.create_engine(read)
    try:
        with opened.connect() as conn:
            fills = conn.execute(sa.select(sa.func.count()).select_from(m.fills)).scalar_one()
        tables = len(sa.inspect(opened).get_table_names())
    finally:
        opened.dispose()
    return f"{tables} tables, {fills} fills"


@contextlib.contextmanager
def _scratch(store_url: str | None) -> Iterator[tuple[str, str]]:
    """(where to restore, how to read it): a SQLite file, or a database made for it on the
    store's PostgreSQL server and dropped after (read in the store's schema, which the dump
    recreates)."""
    if store_url is None:
        with tempfile.TemporaryDirectory() as scratch:
            target = f"sqlite:///{Path(scratch) / 'restored.db'}"
            yield target, target
        return
    url = sa.engine.make_url(store_url)
    name = f"soak_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.set(query={}), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield (
                url.set(database=name, query={}).render_as_string(False),
                url.set(database=name).render_as_string(False),
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _signed(query: dict[str, Any], secret: str) -> str:
    text = urlencode(query)
    sig = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return f"{text}&signature={sig}"


async def sim_trades(
    http: aiohttp.ClientSession,
    url: str,
    keys: dict[str, tuple[str, str]],
    symbols: Iterable[str],
) -> dict[str, list[str]]:
    """Every trade id the simulator made per account."""
    found = await sim_trade_times(http, url, keys, symbols)
    return {account: [t for t, _ in each] for account, each in found.items()}


async def sim_trade_times(
    http: aiohttp.ClientSession,
    url: str,
    keys: dict[str, tuple[str, str]],
    symbols: Iterable[str],
) -> dict[str, list[tuple[str, int]]]:
    """Every trade the simulator made per account, (id, time) (its Binance API, ``myTrades``
    by ``fromId`` pages, signed with the account's own key)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for account, (key, secret) in keys.items():
        ids: list[tuple[str, int]] = out.setdefault(account, [])
        for symbol in symbols:
            from_id = 0
            while True:
                async with http.get(f"{url}/api/v3/time") as answer:
                    server_ms = int((await answer.json())["serverTime"])
                query = {
                    "symbol": symbol.replace("/", ""),
                    "fromId": from_id,
                    "limit": PAGE,
                    "recvWindow": 60000,
                    "timestamp": server_ms,
                }
                async with http.get(
                    f"{url}/api/v3/myTrades?{_signed(query, secret)}",
                    headers={"X-MBX-APIKEY": key},
                ) as answer:
                    page = await answer.json(content_type=None)
                    if answer.status != 200:
                        raise RuntimeError(f"myTrades answered {answer.status}: {page}")
                ids += [(str(t["id"]), int(t["time"])) for t in page]
                if len(page) < PAGE:
                    break
                from_id = max(int(t["id"]) for t in page) + 1
    return out


async def sim_stops(http: aiohttp.ClientSession, url: str) -> dict[str, dict[str, Decimal]]:
    """Account -> symbol -> quantity of the stop orders resting at the simulator."""
    async with http.get(f"{url}/sim/state") as answer:
        state = await answer.json(content_type=None)
    out: dict[str, dict[str, Decimal]] = {}
    for account, data in state["accounts"].items():
        for order in data["open_orders"]:
            if str(order["type"]).lower() in STOP_TYPES or order.get("stop_price"):
                per = out.setdefault(account, {})
                remaining = Decimal(order["qty"]) - Decimal(order["filled_qty"])
                per[order["symbol"]] = per.get(order["symbol"], Decimal(0)) + remaining
    return out


def holdings(
    held: dict[str, dict[str, Decimal]], stopped: dict[str, dict[str, Decimal]]
) -> list[Holding]:
    return [
        Holding(account, symbol, str(qty), str(stopped.get(account, {}).get(symbol, Decimal(0))))
        for account, per in sorted(held.items())
        for symbol, qty in sorted(per.items())
    ]


__all__ = [
    "check_backups",
    "holdings",
    "job_slots",
    "open_incidents",
    "opened_since",
    "parse_metrics",
    "read_books",
    "sim_stops",
    "sim_trade_times",
    "sim_trades",
]
