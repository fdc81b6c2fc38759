"""Resuming a service soak after a host restart: the simulator started again with the accounts,
keys and balances it last reported, the service's settings pointed at it, the part before the
restart set aside for the judge; and the recorder that keeps the saved state current as the
run goes (:mod:`.state`)."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
import yaml

from rampart.clock import ms_to_datetime
from rampart.store import models as m
from rampart_testkit.soak_service import collect, procs, state
from rampart_testkit.soak_service.evidence import Evidence, Part


async def restart_simulator(
    sim: procs.FrozenSimulator, http: aiohttp.ClientSession, saved: state.Saved
) -> None:
    """The simulator (started with no account) given the saved accounts again: the same ids
    and keys, the balances of its last record (its open orders and trades are gone)."""
    for account, data in sorted(saved.sim_accounts.items()):
        body = {
            "account_id": account,
            "key": data["key"],
            "secret": data["secret"],
            "balances": data.get("balances", {}),
        }
        async with http.post(f"{sim.url}/sim/accounts", json=body) as answer:
            if answer.status != 200:
                raise RuntimeError(f"the simulator refused account {account}: {answer.status}")
        sim.keys[account] = (data["key"], data["secret"])


def point_settings(settings_file: Path, sim_url: str) -> int:
    """The service's settings with the new simulator's address (its port is new) and without
    the bot's section (the Bot API stand-in kept nothing across the host restart: the resumed
    part runs without the bot); the port of the service's API."""
    settings: dict[str, Any] = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    settings["venue"]["api_url"] = sim_url
    settings.pop("telegram", None)
    procs.write_settings(settings_file, settings)
    return int(settings["api"]["port"])


def book_fills(url: str) -> dict[str, list[list[Any]]]:
    """Account -> [fill id, business ms] of every fill in the books."""
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            rows = conn.execute(sa.select(m.fills.c.account_id, m.fills.c.fill_id, m.fills.c.ts))
            out: dict[str, list[list[Any]]] = {}
            for account, fill_id, ts in rows:
                out.setdefault(str(account), []).append([str(fill_id), int(str(ts or 0))])
            return out
    finally:
        db.dispose()


def set_aside(saved: state.Saved, ev: Evidence, url: str) -> Part:
    """The part that ended with the host restart, with the fills the books hold of it."""
    before = {f for p in ev.parts for fills in p.book_fills.values() for f, _ in fills}
    fills = {
        account: [f for f in each if f[0] not in before]
        for account, each in book_fills(url).items()
    }
    part = Part(
        resumed_at=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        business_ms=int(saved.end_ms or 0),
        record_ms=saved.record_ms,
        sim_trades=saved.sim_trades,
        book_fills=fills,
    )
    ev.parts.append(part)
    saved.sim_trades, saved.record_ms = {}, 0
    return part


async def read_simulator(
    http: aiohttp.ClientSession, sim: procs.FrozenSimulator, symbols: tuple[str, ...]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[list[Any]]], int]:
    """(accounts with keys and balances, trades with their times, the simulator's time)."""
    async with http.get(f"{sim.url}/sim/state") as answer:
        now = await answer.json(content_type=None)
    accounts: dict[str, dict[str, Any]] = {}
    for account, (key, secret) in sim.keys.items():
        balances = now["accounts"].get(account, {}).get("balances", {})
        accounts[account] = {
            "key": key,
            "secret": secret,
            "balances": {
                a: str(Decimal(b["free"]) + Decimal(b["locked"])) for a, b in balances.items()
            },
        }
    trades = await collect.sim_trade_times(http, sim.url, sim.keys, symbols)
    return (
        accounts,
        {a: [[t, ms] for t, ms in each] for a, each in trades.items()},
        int(now["time"]),
    )


async def set_up(
    sim: procs.FrozenSimulator,
    http: aiohttp.ClientSession,
    saved: state.Saved,
    ev: Evidence,
    out: Path,
) -> tuple[str, str, tuple[str, ...]]:
    """A run resumed after a host restart: the new simulator given the saved accounts, the
    service's settings pointed at it, the stopped part set aside. (The service's API, the store's
    URL, the faults still to come.)"""
    await restart_simulator(sim, http, saved)
    api = f"http://127.0.0.1:{point_settings(Path(saved.settings_file), sim.url)}"
    read_url = f"sqlite:///{out / 'service.db'}"
    state.restore(saved, ev)
    part = set_aside(saved, ev, read_url)
    ev.notes.append(
        f"resumed at {part.resumed_at} after a host restart: the service's clock stood at "
        f"{ms_to_datetime(part.business_ms):%H:%M} (business time); the simulator started "
        "again with the same accounts, keys and last balances, without its open orders"
    )
    procs.clock_file(out).write_text("0", encoding="utf-8")  # a clock step under way is over
    return api, read_url, tuple(saved.faults_left)


class Recorder:
    """Keeps ``soak-state.json`` current: the run's evidence every :data:`state.SAVE_EVERY_S`
    seconds, the simulator's record every :data:`state.SIM_RECORD_EVERY_S` while no fault is
    under way (a faulted exchange answers nothing worth keeping)."""

    def __init__(self, out: Path, saved: state.Saved, wall_start: float) -> None:
        self.out = out
        self.saved = saved
        self.wall_start = wall_start
        self.last_save = 0.0
        self.last_record = 0.0

    async def tick(
        self,
        ev: Evidence,
        kills: list[float],
        faults_left: list[str],
        service_pid: int,
        sim: procs.FrozenSimulator,
        http: aiohttp.ClientSession,
        symbols: tuple[str, ...],
        quiet: bool,
    ) -> None:
        now = time.monotonic()
        if quiet and now - self.last_record >= state.SIM_RECORD_EVERY_S:
            self.last_record = now
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, KeyError, RuntimeError):
                accounts, trades, sim_ms = await read_simulator(http, sim, symbols)
                self.saved.sim_accounts, self.saved.sim_trades = accounts, trades
                self.saved.record_ms = sim_ms
        if now - self.last_save >= state.SAVE_EVERY_S:
            self.last_save = now
            self.save(ev, kills, faults_left, service_pid, sim)

    def save(
        self,
        ev: Evidence,
        kills: list[float],
        faults_left: list[str],
        service_pid: int,
        sim: procs.FrozenSimulator,
        status: str = state.RUNNING,
    ) -> None:
        state.record(self.saved, ev, kills, faults_left)
        self.saved.wall_s = time.monotonic() - self.wall_start
        self.saved.service_pid = service_pid
        self.saved.simulator_pid = sim.proc.pid if sim.proc is not None else 0
        self.saved.status = status
        state.save(self.out, self.saved)


__all__ = [
    "Recorder",
    "book_fills",
    "point_settings",
    "read_simulator",
    "restart_simulator",
    "set_up",
]
