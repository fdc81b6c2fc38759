"""How fast the ``rampart`` command answers: ``--help`` and read-only commands, idle and beside
a running service.

Run with ``python bench/startup.py`` (``--runs 7`` for more samples). Each command runs in its
own process, as an operator types it; the figure is the wall time from starting the process to
its first byte of output (stdout or stderr, unbuffered), and to its exit. Best and median of
``--runs``. The commands read a temporary SQLite store that a short ``rampart run`` fills
first; then a second ``rampart run`` (no live view, API on a free port, bounded by
``--service-seconds``) trades on the same store while the commands run again beside it, and is
stopped with SIGTERM. Goals: ``--help`` under 0.3 s, a read-only command under 0.5 s,
idle or beside the service. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _util import compile_bytecode, machine_speed

COMMANDS: list[list[str]] = [
    ["--help"],
    ["rollout", "status"],
    ["report", "list"],
    ["incidents"],
    ["go-nogo"],
]


def rampart() -> list[str]:
    script = Path(sys.executable).with_name("rampart")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "rampart.cli.entry"]


def environment(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env.update(
        RAMPART_STORE__URL=f"sqlite:///{db}",
        RAMPART_API__PORT="0",  # a free port: never collide with a service already running
        PYTHONUNBUFFERED="1",  # the first byte leaves when it is printed, as on a terminal
        COLUMNS="120",
    )
    return env


def once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(seconds to the first byte of output, seconds to exit, exit code) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    out = proc.stdout
    if out is None:  # pragma: no cover - stdout=PIPE always gives one
        raise RuntimeError("no pipe to the command's output")
    first = out.read(1)
    first_s = time.perf_counter() - start
    out.read()
    code = proc.wait()
    total_s = time.perf_counter() - start
    return (first_s if first else total_s), total_s, code


FLOOR = "import sqlalchemy, pydantic_settings, typer"
"""What any read-only command must import before Rampart's own code runs: the store's,
the settings' and the command line's libraries. Its time is the floor under the goal."""


def measure(label: str, env: dict[str, str], cwd: Path, runs: int) -> None:
    print(f"\n{label}: seconds, best / median of {runs} (first output; exit)")
    floor = [once([sys.executable, "-c", FLOOR], env, cwd)[1] for _ in range(runs)]
    print(
        f"  (libraries alone: {min(floor):5.2f} / {statistics.median(floor):5.2f}"
        f"   python -c '{FLOOR}', to exit)"
    )
    for args in COMMANDS:
        samples = [once([*rampart(), *args], env, cwd) for _ in range(runs)]
        firsts = [s[0] for s in samples]
        totals = [s[1] for s in samples]
        codes = sorted({s[2] for s in samples})
        print(
            f"  rampart {' '.join(args):<16} {min(firsts):5.2f} / {statistics.median(firsts):5.2f}"
            f"   exit {min(totals):5.2f} / {statistics.median(totals):5.2f}"
            f"   (exit code {', '.join(map(str, codes))})"
        )


def trading(db: Path) -> int:
    """Orders in the store so far (0 while the service has not traded or the file is new)."""
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return 0
    try:
        return int(conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def start_service(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [*rampart(), "run", "--no-view"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="Samples per command.")
    parser.add_argument(
        "--service-seconds",
        type=float,
        default=180.0,
        help="Longest the background service may run (it is stopped when the figures are in).",
    )
    parser.add_argument("--skip-service", action="store_true", help="Idle figures only.")
    args = parser.parse_args()
    print(machine_speed())
    print(compile_bytecode())

    work = Path(tempfile.mkdtemp(prefix="rampart-bench-startup-"))
    db = work / "r.db"
    env = environment(db)
    log = work / "service.out"
    try:
        # A store with something in it: a short, fast run trades some candles and stops.
        subprocess.run(
            [*rampart(), "run", "--no-view", "--max-candles", "600", "--speed", "3000"],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        print(f"Store {db} ({db.stat().st_size / 1e6:.1f} MB, {trading(db)} orders)")
        measure("Idle", env, work, args.runs)
        if args.skip_service:
            return

        before = trading(db)
        service = start_service(env, work, log)
        deadline = time.monotonic() + args.service_seconds
        # The bound holds even if the measuring outlasts it.
        guard = threading.Timer(args.service_seconds, stop, args=(service,))
        guard.daemon = True
        guard.start()
        try:
            # Beside the service means while it trades: wait for its first new order.
            while time.monotonic() < deadline and service.poll() is None:
                if trading(db) > before:
                    break
                time.sleep(0.5)
            if service.poll() is not None:
                print(f"\nThe service stopped early (exit {service.returncode}); see {log}.")
                return
            print(f"\nService running (pid {service.pid}), {trading(db)} orders in the store.")
            measure("Beside a running service", env, work, args.runs)
        finally:
            guard.cancel()
            stop(service)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
