"""docs/operators/launch-defaults.md lists every number of the launch plans with Rampart's
default and where it is set: each row's default is read from there and must equal the shipped
value, so the table cannot drift from the code (and a default changed in code must change the
table too)."""

from __future__ import annotations

import importlib
import re
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest

from rampart.config import load_settings
from rampart.observability.alerts.overrides import rules_from_settings
from rampart.rollout.rules.gates import default_gates

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "operators" / "launch-defaults.md"
STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[([^\]]+)\]")


def _rows() -> list[tuple[str, str, str]]:
    """(what the plan says, the default, where it is set) of each row naming a place."""
    rows = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[2].startswith("`"):
            continue
        rows.append((f"{cells[0]}: {cells[1]}", cells[2].strip("`"), cells[3].strip("`")))
    return rows


def _root(name: str) -> Any:
    """``rules`` and ``gates`` by name (their thresholds), ``pyproject``; else the settings."""
    settings = load_settings(None)
    if name == "rules":
        return {r.name: r.threshold for r in rules_from_settings(settings)}
    if name == "gates":
        r = settings.rollout
        return {g.name: g.threshold for g in default_gates(r.latency_target_ms, r.uptime_target)}
    if name == "pyproject":
        return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return settings


def _step(value: Any, attr: str | None, key: str | None) -> Any:
    if attr is not None:
        return value[attr] if isinstance(value, dict) else getattr(value, attr)
    assert key is not None
    if isinstance(value, dict):
        return value[key]
    if key.isdigit():
        return list(value)[int(key)]
    found = [v for v in value if getattr(v, "name", None) == key]
    assert found, f"nothing named {key!r}"
    return found[0]


def resolve(place: str) -> Any:
    """The shipped value at ``place`` (the page's **Set in** column)."""
    place, _, suffix = place.partition("#")
    if ":" in place:
        module, _, path = place.partition(":")
        value: Any = importlib.import_module(module)
    else:
        head = re.match(r"\w+", place)
        name = head.group(0) if head else ""
        value = _root(name)
        path = place[len(name) :] if name in ("rules", "gates", "pyproject") else place
    for attr, key in STEP.findall(path):
        value = _step(value, attr or None, key or None)
    return len(value) if suffix == "len" else value


def _same(shown: str, actual: Any) -> bool:
    try:
        return Decimal(shown) == Decimal(str(actual))
    except InvalidOperation:
        return shown == str(actual)


ROWS = _rows()


def test_the_page_lists_the_launch_plans_numbers() -> None:
    assert len(ROWS) >= 60
    places = {place for _, _, place in ROWS}
    # Numbers once carried by no default have one now.
    for new in (
        "alerts.levels.swap_confirmation_p95_ms",
        "pyproject.tool.coverage.report.fail_under",
        "rollout.targets.retention",
        "rollout.targets.users",
        "telegram.vibe_response_s",
        "risk.kill_on_position_loss",
    ):
        assert new in places, new


@pytest.mark.parametrize(("said", "shown", "place"), ROWS, ids=[r[2] for r in ROWS])
def test_each_default_is_the_shipped_value(said: str, shown: str, place: str) -> None:
    actual = resolve(place)
    assert _same(shown, actual), f"{said}: the page says {shown}, {place} is {actual!r}"
