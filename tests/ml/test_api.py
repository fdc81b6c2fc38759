"""The operator's model endpoints on a real service: list, promote, roll back, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.ml.registry import ModelRegistry, artifact_file
from tests.api.conftest import LiveApi

from .helpers import add_model

MODELS = "/api/v1/admin/models"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[LiveApi]:
    live = LiveApi(tmp_path, ml={"models_dir": str(tmp_path / "models")})
    try:
        yield live.start(warm=10)
    finally:
        live.stop()


def test_list_promote_rollback_and_refusals(api: LiveApi) -> None:
    registry = ModelRegistry(api.session.db, api.settings.ml.models_dir)
    a = add_model(registry, 0.9, 1_700_000_000_000)
    b = add_model(registry, 0.1, 1_700_000_001_000)
    assert api.get(MODELS, who="alice").status_code == 403
    body = api.get(MODELS).json()
    assert [m["version"] for m in body["models"]] == [b.version, a.version]
    assert body["serving"] == {"production": None, "serving": None, "error": None}

    r = api.post(f"{MODELS}/{a.version}/promote", {"reason": "first"})
    assert r.status_code == 200, r.text
    assert r.json()["production"] == a.version and r.json()["previous"] is None
    r = api.post(f"{MODELS}/{b.version}/promote")
    assert r.json() == {
        "production": b.version,
        "previous": a.version,
        "message": f"Model {b.version} is in production.",
    }
    body = api.get(MODELS).json()
    assert body["serving"]["serving"] == b.version
    stages = {m["version"]: (m["stage"], m["promoted_by"]) for m in body["models"]}
    assert stages[b.version] == ("production", "api:ops")

    r = api.post(f"{MODELS}/rollback", {"reason": "b misbehaves"})
    assert r.status_code == 200 and r.json()["production"] == a.version
    assert api.get(MODELS).json()["serving"]["serving"] == a.version

    assert api.post(f"{MODELS}/nope/promote").status_code == 404
    assert api.post(f"{MODELS}/{a.version}/promote").status_code == 409
    artifact_file(registry.models_dir, b.artifact_path).write_bytes(b"swapped")
    r = api.post(f"{MODELS}/{b.version}/promote")
    assert r.status_code == 400 and "SHA-256" in r.json()["error"]
    assert api.get(MODELS).json()["serving"]["serving"] == a.version
    assert api.post(f"{MODELS}/rollback").status_code == 409  # nothing before a
