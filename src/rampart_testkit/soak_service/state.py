"""A service soak's state in its work folder, saved as it goes, so the same command started
again after a host restart (every process of the run gone) resumes the day where it stopped and
its report covers both parts.

What is saved (``soak-state.json``, rewritten whole and atomically): what was planned (the
settings' essentials, the backup key, the kill points and faults still to come), what ran (each
life of the service, each fault's window, the notes), where the service's business clock
stood, and the simulator's own record: its accounts (keys and balances) and its trades so far,
read every :data:`SIM_RECORD_EVERY_S` wall seconds. The simulator keeps nothing across its
restart; the resumed run starts a new one with the same accounts, keys and last balances, and
judges the part before the restart on the trades of that record (:func:`earlier_part`)."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from rampart.domain.errors import ConfigError
from rampart_testkit.soak_service.evidence import Evidence, FaultWindow, Life, Part

FILE = "soak-state.json"
SAVE_EVERY_S = 2.0
SIM_RECORD_EVERY_S = 10.0
SETTLE_MS = 10 * 60_000
"""Business time before the simulator's last record from which trades and fills of the part
before a host restart are judged: what happened after it (orders in flight, fills not yet read
back) went with the simulator's memory, and is counted as unjudged instead."""
REPAIR_MS = 30 * 60_000
REPAIR_PREFIX = "adj-"
"""A fill the service books to bring its holdings to what the exchange holds (no exchange trade)."""
RUNNING, DONE = "running", "done"


@dataclass
class Saved:
    plan: dict[str, Any]
    """hours, kills, speed, seed, faults, backup_every_h, accounts, report: what was asked."""
    key: str
    settings_file: str
    status: str = RUNNING
    pid: int = 0
    """The soak's own process (a live one means the run is not over: no resume)."""
    service_pid: int = 0
    simulator_pid: int = 0
    kills_left_s: list[float] = field(default_factory=list)
    faults_left: list[str] = field(default_factory=list)
    lives: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    begin_ms: int | None = None
    end_ms: int | None = None
    simulated_s: float = 0.0
    wall_s: float = 0.0
    sim_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Account -> {"key", "secret", "balances": {asset: total}} as the simulator last said."""
    sim_trades: dict[str, list[list[Any]]] = field(default_factory=dict)
    record_ms: int = 0
    parts: list[dict[str, Any]] = field(default_factory=list)


def path(out: Path) -> Path:
    return out / FILE


def save(out: Path, saved: Saved) -> None:
    target = path(out)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(saved)), encoding="utf-8")
    tmp.chmod(0o600)  # it holds the backup key and the simulator's keys
    tmp.replace(target)


def load(out: Path) -> Saved | None:
    """The state of an unfinished run in ``out``, or None (none, or one that ended)."""
    try:
        data = json.loads(path(out).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path(out)} cannot be read ({exc}): remove it to start a new run there."
        ) from None
    saved = Saved(**data)
    return saved if saved.status == RUNNING else None


def check_resumable(saved: Saved, plan: dict[str, Any], out: Path) -> None:
    """A ConfigError in one sentence when the saved run cannot be resumed by this command: its
    soak still runs, it was asked differently, or its store is not a file here."""
    if saved.pid and saved.pid != os.getpid() and _alive(saved.pid, "soak"):
        raise ConfigError(
            f"A service soak is still running in {out} (pid {saved.pid}): stop it (SIGTERM) or "
            "wait for its report."
        )
    asked = {k: plan[k] for k in ("hours", "kills", "speed", "seed", "faults") if k in plan}
    before = {k: saved.plan.get(k) for k in asked}
    if asked != before:
        raise ConfigError(
            f"The unfinished run in {out} was asked for {before}, this command for {asked}: "
            f"run it as before to resume it, or remove {path(out)} to start a new run."
        )
    if saved.plan.get("store_url"):
        raise ConfigError(
            f"The unfinished run in {out} kept its store on PostgreSQL, which a resumed run "
            f"does not reopen: remove {path(out)} to start a new run."
        )


def _alive(pid: int, word: str) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.is_running() and word in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def kill_leftovers(saved: Saved, settings_file: Path) -> list[str]:
    """End the service and simulator of the stopped part if they outlived it (the soak alone
    was killed, not the host): a second service on the same store would corrupt the run."""
    ended = []
    for pid, word in ((saved.service_pid, str(settings_file)), (saved.simulator_pid, "simulator")):
        if pid and _alive(pid, word):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
                ended.append(f"pid {pid}")
    return ended


def restore(saved: Saved, ev: Evidence) -> None:
    """Put what the stopped part recorded into the new part's evidence."""
    ev.lives = [Life(**life) for life in saved.lives]
    for life in ev.lives:
        if life.ended_by == "running":
            life.ended_by = "host restart"
    ev.faults = [FaultWindow(**{**f, "expects": tuple(f["expects"])}) for f in saved.faults]
    ev.notes = list(saved.notes) + ev.notes
    ev.begin_ms, ev.end_ms = saved.begin_ms, saved.end_ms
    ev.simulated_s = saved.simulated_s
    ev.parts = [Part(**p) for p in saved.parts]


def record(saved: Saved, ev: Evidence, kills_left_s: list[float], faults_left: list[str]) -> None:
    """Copy what the run knows now into ``saved``."""
    saved.lives = [asdict(life) for life in ev.lives]
    saved.faults = [asdict(f) for f in ev.faults]
    saved.notes = list(ev.notes)
    saved.begin_ms, saved.end_ms = ev.begin_ms, ev.end_ms
    saved.simulated_s = ev.simulated_s
    saved.kills_left_s = list(kills_left_s)
    saved.faults_left = list(faults_left)
    saved.parts = [asdict(p) for p in ev.parts]


def split_books(
    book: dict[str, list[list[Any]]], parts: list[Part]
) -> tuple[dict[str, list[str]], list[str]]:
    """The fills of the last part as trade ids (the books' fill ids, [id, business ms], less
    those an earlier part held: the new simulator numbers its trades from 1 again), and the
    service's own repairs of its holdings booked within :data:`REPAIR_MS` after a restart
    (``adj-`` fills: the stand-in's balances are those of its last record, so what traded after
    it is missing at the exchange and the service books the difference, as it must)."""
    before = {f for p in parts for fills in p.book_fills.values() for f, _ in fills}
    restarts = [p.business_ms for p in parts]
    trades: dict[str, list[str]] = {}
    repairs: list[str] = []
    for account, fills in book.items():
        mine = trades.setdefault(account, [])
        for fill_id, ms in fills:
            if fill_id in before:
                continue
            if str(fill_id).startswith(REPAIR_PREFIX) and any(
                r <= int(ms) <= r + REPAIR_MS for r in restarts
            ):
                repairs.append(f"{account}:{fill_id}")
            else:
                mine.append(str(fill_id).rsplit(":", 1)[-1])
    return trades, repairs


def earlier_part(part: Part) -> tuple[int, list[str], list[str], int]:
    """(trades matched, simulator trades not in the books, fills the simulator never made,
    trades and fills left unjudged) of a part before a host restart, judged up to
    :data:`SETTLE_MS` before the simulator's last record."""
    until = part.record_ms - SETTLE_MS
    matched = 0
    missing: list[str] = []
    extra: list[str] = []
    unjudged = 0
    for account in sorted(set(part.sim_trades) | set(part.book_fills)):
        sim = {str(t): int(ms) for t, ms in part.sim_trades.get(account, [])}
        books = {str(f).rsplit(":", 1)[-1]: int(ms) for f, ms in part.book_fills.get(account, [])}
        for trade, ms in sim.items():
            if ms > until:
                unjudged += 1
            elif trade in books:
                matched += 1
            else:
                missing.append(f"{account}:{trade}")
        for trade, ms in books.items():
            if ms > until:
                unjudged += trade not in sim
            elif trade not in sim:
                extra.append(f"{account}:{trade}")
    return matched, missing, extra, unjudged


__all__ = [
    "DONE",
    "RUNNING",
    "Saved",
    "check_resumable",
    "earlier_part",
    "kill_leftovers",
    "load",
    "record",
    "restore",
    "save",
    "split_books",
]
