"""The ``rampart`` script loads a command with the garbage collector off and runs the command's
body with it back on (rampart/cli/collector.py)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from typing import Any

import typer

from rampart.cli.common import friendly
from rampart.cli.lazy import LAZY
from rampart.cli.main import app

SCRIPT = """
import gc, json, sys
import rampart.agents.registry as registry
import rampart.cli.main as cli
from rampart.cli import entry

seen = {}
real_app = cli.app

def app(*args, **kwargs):
    seen["loading"] = gc.isenabled()
    return real_app(*args, **kwargs)

def describe_agents():
    seen["body"] = gc.isenabled()
    seen["frozen"] = gc.get_freeze_count()
    from rampart.wiring import replay_gc
    seen["said"] = replay_gc._start_up_frozen
    return []

cli.app = app
registry.describe_agents = describe_agents
sys.argv = ["rampart", "agents"]
try:
    entry.main()
except SystemExit as stop:
    assert not stop.code, stop.code
print(json.dumps(seen))
"""


def _seen_by(code: str) -> dict[str, Any]:
    """What a fresh interpreter running ``code`` printed last, as JSON."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    seen: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return seen


def test_the_script_loads_without_the_collector_and_runs_the_body_with_it() -> None:
    seen = _seen_by(SCRIPT)
    assert seen["loading"] is False  # entry.main paused it before loading the command
    assert seen["body"] is True  # a long-running command (run, replay) collects as before
    assert seen["frozen"] > 10_000  # what start-up built is never walked again
    assert seen["said"] is True  # and a replay's or a trial's session leaves it frozen


def test_outside_the_script_a_command_leaves_the_collector_as_it_was() -> None:
    frozen = gc.get_freeze_count()
    states: list[bool] = []
    friendly(lambda: states.append(gc.isenabled()))()
    assert states == [True]
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # the tests' CliRunner process is never frozen


def _callbacks(group: typer.Typer) -> list[tuple[str, Any]]:
    found = [(str(c.name or c.callback), c.callback) for c in group.registered_commands]
    if group.registered_callback is not None:
        found.append(("callback", group.registered_callback.callback))
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            found += _callbacks(sub.typer_instance)
    return found


def test_every_command_body_runs_inside_friendly() -> None:
    # friendly turns the collector back on: a command outside it would run with it off.
    from importlib import import_module

    apps = [app]
    functions: list[tuple[str, Any]] = []
    for name, target in LAZY.items():
        module, attr = target.split(":")
        found = getattr(import_module(module), attr)
        if isinstance(found, typer.Typer):
            apps.append(found)
        else:
            functions.append((name, found))
    for group in apps:
        functions += _callbacks(group)
    wrapper = friendly(lambda: None).__code__  # every friendly wrapper runs this code
    outside = [
        name
        for name, callback in functions
        if callback is not None and getattr(callback, "__code__", None) is not wrapper
    ]
    assert len(functions) > 40
    assert outside == []


LOADING = """
import gc, json
from rampart.cli import collector

collector.pause()
collector.resume()
frozen = gc.get_freeze_count()
seen = {}
with collector.loading():
    seen["inside"] = gc.isenabled()
    kept = [[i] for i in range(5_000)]  # what a command's imports would build
seen["after"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count() - frozen
print(json.dumps(seen))
"""


def test_a_command_loads_its_own_imports_without_the_collector_and_freezes_them() -> None:
    seen = _seen_by(LOADING)
    assert seen["inside"] is False
    assert seen["after"] is True
    assert seen["frozen"] >= 5_000  # the objects built while loading are never walked again


def test_outside_the_script_loading_leaves_the_collector_as_it_was() -> None:
    from rampart.cli.collector import loading
    from rampart.wiring import replay_gc

    frozen = gc.get_freeze_count()
    with loading():
        inside = gc.isenabled()
    assert inside is True
    assert gc.get_freeze_count() == frozen
    assert replay_gc._start_up_frozen is False  # a session here freezes and thaws its own
