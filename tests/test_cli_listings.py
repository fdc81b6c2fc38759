"""Listings a person reads in a terminal and copies ids from.

At 80 columns (a laptop's split terminal, an SSH session) every id a user must copy stays
whole: a model version for ``models promote``, an incident id for ``incidents --ack``. The
other columns wrap at word boundaries instead. Every listing also has ``--json``, the same
rows for scripts, whatever the terminal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.ml.registry import ModelRegistry, ModelVersion, new_version_id
from rampart.observability import incidents
from rampart.store.db import open_database

T0 = 1_704_067_200_000
SUMMARY = (
    "The kill switch is engaged: no new entries are placed on any account until the operator "
    "releases it."
)
RULES = ("KillSwitchEngaged", "ExchangeApiErrorsHigh", "OrderSuccessBelowTarget")


@pytest.fixture
def filled(tmp_path: Path) -> tuple[dict[str, str], list[str], list[int]]:
    """A store with three model versions and three incidents (two-digit ids)."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = open_database(url)
    registry = ModelRegistry(db, tmp_path / "models")
    versions = []
    for i in range(3):
        version = new_version_id(T0 + i * 60_000, f"{i:02d}ab34cd56ef7890")
        registry.register(
            ModelVersion(
                version=version,
                created_at=T0 + i * 60_000,
                created_by="operator",
                algorithm="lightgbm",
                feature_names=["ret_1"],
                params={},
                data={},
                metrics={"trades": 12_345, "precision": 0.5612, "ev": 0.0012, "baseline_ev": -4e-4},
                artifact_path=f"{version}/model.pkl",
                artifact_sha256="0" * 64,
                stage="candidate",
                promoted_by=None,
                promoted_at=None,
            )
        )
        versions.append(version)
    ids = []
    for i in range(12):  # ids up to 12: two digits, as any service that has run a while
        found = incidents.open_incident(
            db,
            key=f"k{i}",
            rule=RULES[i % 3],
            severity="P1",
            summary=SUMMARY,
            value=1.0,
            threshold=0.0,
            labels={},
            now_ms=T0 + i,
        )
        ids.append(found.id)
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env.update(RAMPART_STORE__URL=url, RAMPART_ML__MODELS_DIR=str(tmp_path / "models"))
    return env, versions, ids


def _at_80(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """What ``rampart ARGS`` prints in an 80-column terminal (a new process: rich reads the
    width when the console is made)."""
    done = subprocess.run(
        [sys.executable, "-m", "rampart.cli.main", *args],
        env={**env, "COLUMNS": "80", "LINES": "40"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    return done.stdout


def test_at_80_columns_every_id_is_whole(
    filled: tuple[dict[str, str], list[str], list[int]], tmp_path: Path
) -> None:
    env, versions, ids = filled
    shown = _at_80(["models", "list"], env, tmp_path)
    for version in versions:
        assert version in shown, shown
    shown = _at_80(["incidents"], env, tmp_path)
    for incident_id in ids:
        assert re.search(rf"(?<![\d#]){incident_id}(?!\d)", shown), (incident_id, shown)
    # The other columns wrap between words: every word of the summary and each rule is whole.
    words = set(re.findall(r"[A-Za-z]{4,}", shown))
    assert {"engaged", "entries", "operator", "releases", *RULES} <= words, shown


LISTINGS = [
    pytest.param(["models", "list"], id="models list"),
    pytest.param(["incidents"], id="incidents"),
    pytest.param(["report", "list"], id="report list"),
    pytest.param(["token", "list"], id="token list"),
    pytest.param(["backup", "list"], id="backup list"),
    pytest.param(["wallet", "list"], id="wallet list"),
    pytest.param(["audit", "show"], id="audit show"),
    pytest.param(["agents"], id="agents"),
]


@pytest.mark.parametrize("listing", LISTINGS)
def test_every_listing_has_json(
    filled: tuple[dict[str, str], list[str], list[int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listing: list[str],
) -> None:
    env, _, _ = filled
    for key in ("RAMPART_STORE__URL", "RAMPART_ML__MODELS_DIR"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setenv("RAMPART_BACKUP__DIR", str(tmp_path / "backups"))
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, [*listing, "--json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.output)
    assert isinstance(rows, list)
    if listing[0] in {"models", "incidents", "agents"}:
        assert rows and all(isinstance(r, dict) for r in rows)
