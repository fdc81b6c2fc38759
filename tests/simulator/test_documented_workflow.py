"""The simulator workflow of docs/operators/exchanges.md, run as written: ``rampart simulator``
and then ``rampart run --config sim.yaml`` against it, both as real processes on 127.0.0.1.

The commands and the YAML are read from the page itself, so the page cannot drift from what
works. The only changes: the simulator listens on a free port (``--port 0``, the URL it prints
goes into the YAML), the credentials it prints go into the documented exports, the API of
``rampart run`` takes a free port (others may hold 8080 on a shared machine), and the run is
ended with SIGTERM once an entry and its OCO bracket are on the simulator.

``rampart run`` reads the wall clock on an exchange and trades a one-minute candle only once
it has closed, so this waits for the next minute boundary: about half a minute on average.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest
import yaml

from rampart.config import EngineConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators" / "exchanges.md"
ORDERS_WITHIN_S = 240.0
"""Up to four traded minutes: the documented account enters on most of them (on the first
in nearly nine runs out of ten, so this usually ends within a minute)."""


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## The exchange simulator")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _blocks(section: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return [(m[1], m[2]) for m in re.finditer(r"```(\w*)\n(.*?)```", section, re.S)]


def _documented() -> tuple[list[str], str, dict[str, str], list[str]]:
    """The simulator command, sim.yaml, the exported variables and the run command."""
    sim_cmd: list[str] | None = None
    yaml_text: str | None = None
    exports: dict[str, str] = {}
    run_cmd: list[str] | None = None
    for lang, body in _blocks(_section()):
        if lang == "yaml" and body.startswith("# sim.yaml"):
            yaml_text = body
            continue
        if lang != "bash":
            continue
        for line in body.splitlines():
            if line.startswith("rampart simulator"):
                sim_cmd = shlex.split(line, comments=True)
            elif line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                exports[name] = value
            elif line.startswith("rampart run"):
                run_cmd = shlex.split(line, comments=True)
    assert sim_cmd and yaml_text and exports and run_cmd, "the page lost a step of the workflow"
    return sim_cmd, yaml_text, exports, run_cmd


def _rampart(args: list[str]) -> list[str]:
    """``rampart ...`` with this interpreter's entry point."""
    assert args[0] == "rampart"
    script = Path(sys.executable).with_name("rampart")
    if script.is_file():
        return [str(script), *args[1:]]
    return [sys.executable, "-c", "from rampart.cli.main import main; main()", *args[1:]]


def _lines(proc: subprocess.Popen[str]) -> Queue[str]:
    # A reader thread, because select() on the pipe cannot see lines already sitting in the
    # text wrapper's buffer; a bounded get() then fails a hung process instead of hanging.
    queue: Queue[str] = Queue()
    threading.Thread(
        target=lambda: [queue.put(line) for line in proc.stdout or ()], daemon=True
    ).start()
    return queue


def _started(queue: Queue[str]) -> tuple[str, str, str]:
    """The simulator's URL, api key and secret from its start-up lines."""
    seen: list[str] = []
    url = key = secret = None
    while "Ctrl-C stops" not in "".join(seen):
        try:
            seen.append(queue.get(timeout=30))
        except Empty:
            raise AssertionError(f"the simulator did not finish starting: {seen}") from None
        if url is None and (m := re.search(r"http://127\.0\.0\.1:\d+", seen[-1])):
            url = m.group(0)
        if m := re.search(r"api key (\w+) secret (\w+)", seen[-1]):
            key, secret = m.group(1), m.group(2)
    assert url and key and secret, seen
    return url, key, secret


def _state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/sim/state", timeout=5) as resp:
        return dict(json.load(resp))


def _stop(proc: subprocess.Popen[Any], sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Queue[str]]]:
    sim_cmd, *_ = _documented()
    args = [*sim_cmd]
    args[args.index("--port") + 1] = "0"  # a free port, read back from what it prints
    proc = subprocess.Popen(
        _rampart(args),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc, _lines(proc)
    finally:
        _stop(proc, signal.SIGINT)


@pytest.mark.slow
def test_the_documented_simulator_workflow_trades(
    tmp_path: Path, simulator: tuple[subprocess.Popen[str], Queue[str]]
) -> None:
    _, yaml_text, exports, run_cmd = _documented()
    sim, sim_lines = simulator
    url, key, secret = _started(sim_lines)
    assert "http://127.0.0.1:8900" in yaml_text
    (tmp_path / "sim.yaml").write_text(yaml_text.replace("http://127.0.0.1:8900", url))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    for name, value in exports.items():
        if value.startswith("$(rampart "):
            # A command the page has the reader run (the master key): run it as written.
            command = value[2 : value.index(")")].split()
            made = subprocess.run(_rampart(command), capture_output=True, text=True, check=True)
            env[name] = made.stdout.strip()
            continue
        env[name] = key if "KEY" in name else secret
        assert value.startswith("<"), "the page should show where the value comes from"
    env["RAMPART_API__PORT"] = "0"
    out = (tmp_path / "run.out").open("w")
    run = subprocess.Popen(
        _rampart(run_cmd), cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + ORDERS_WITHIN_S
        state = _state(url)
        # Until an entry has filled and its bracket rests on the exchange as an OCO list.
        while state["order_lists"] == 0 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.5)
            state = _state(url)
    finally:
        _stop(run, signal.SIGTERM)
        out.close()
    output = (tmp_path / "run.out").read_text()
    assert run.returncode == 0, output
    stopped = re.search(r"Stopped cleanly after ([\d,]+) candles", " ".join(output.split()))
    assert stopped is not None, output
    assert int(stopped.group(1).replace(",", "")) > 0, output
    assert state["orders"] > 0, f"no orders reached the simulator: {state}\n{output}"
    assert state["order_lists"] > 0, "every entry is protected by an OCO list on the exchange"
    # The warm-up window before now is on the simulator: engine.history candles per symbol.
    symbols = yaml.safe_load(yaml_text)["feed"]["symbols"]
    lines = (tmp_path / "var" / "rampart.log").read_text().splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    warmed = [e["candles"] for e in events if e.get("event") == "warmed"]
    # Every closed candle up to the moment each symbol is fetched: a minute that turns while
    # the warm-up pages through the symbols adds the candle that closed meanwhile (CI saw 903).
    history = EngineConfig().history
    assert len(warmed) == 1, warmed
    assert history * len(symbols) <= warmed[0] <= (history + 1) * len(symbols), warmed
