"""One settings Protocol: each section is named once.

``rampart.operator.settings.Settings`` names every section the layers below the composition root
read; a package above it that needs a section the facade may not name (the rollout's, a front's
own) extends it by that section alone. A package that declares its own copy of the list (as the
API, the bot, the desk, the session, GO/NO-GO and the rollout's desk did) fails here."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "rampart"
ROOT = "Settings"
BELOW_THE_FACADE = {"AlertingSettings"}
"""observability sits below the operator facade, so it cannot import the one Protocol; it reads
its own section, ``ops`` and the rollout's latency target through a Protocol of its own."""


def _settings_protocols() -> dict[str, tuple[list[str], list[str], str]]:
    """name → (its bases, the members it declares, where)."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef) or not node.name.endswith(ROOT):
                continue
            bases = [ast.unparse(b) for b in node.bases]
            if "Protocol" not in bases:
                continue
            members = [
                m.name if isinstance(m, ast.FunctionDef) else ast.unparse(m.target)
                for m in node.body
                if isinstance(m, ast.FunctionDef | ast.AnnAssign)
            ]
            where = str(path.relative_to(SRC.parent))
            assert node.name not in found, f"{node.name} declared twice: {where}"
            found[node.name] = ([b for b in bases if b != "Protocol"], members, where)
    return found


def test_every_settings_protocol_extends_the_one() -> None:
    found = _settings_protocols()
    assert found[ROOT][2] == "rampart/operator/settings.py"
    assert not found[ROOT][0]
    for name, (bases, _, where) in found.items():
        if name == ROOT or name in BELOW_THE_FACADE:
            continue
        assert bases and all(b in found for b in bases), f"{where}: {name} copies the sections"
        chain, seen = list(bases), set()
        while chain:
            seen.add(chain[-1])
            chain.extend(found[chain.pop()][0])
        assert ROOT in seen, f"{where}: {name} does not extend {ROOT}"


def test_each_section_is_named_once() -> None:
    found = _settings_protocols()
    owner: dict[str, str] = {}
    for name, (_, members, _) in found.items():
        if name in BELOW_THE_FACADE:
            continue
        for member in members:
            assert member not in owner, f"{member} named by {owner[member]} and {name}"
            owner[member] = name
