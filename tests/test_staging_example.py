"""deploy/examples/staging.yaml, the settings docs/operations/staging.md gives: it loads, it is
testnet against the exchange's sandbox on its own PostgreSQL, and with its secrets in the
environment nothing stops it trading in its mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.wiring.venue_kinds import mode_problems

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "deploy" / "examples" / "staging.yaml"


def test_the_staging_example_fits_testnet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPART_STORE__URL", "postgresql+psycopg://rampart@db/rampart_staging")
    monkeypatch.setenv("RAMPART_MASTER_KEY", "ab" * 32)
    settings = load_settings(STAGING)
    assert settings.mode == "testnet"
    assert settings.venue.kind == "ccxt" and settings.venue.sandbox
    assert settings.feed.kind == "ccxt"
    assert settings.store.url.endswith("/rampart_staging")
    assert settings.rollout.enabled and settings.accounts == []
    assert mode_problems(settings) == []
    # Without its master key it refuses, as production would.
    monkeypatch.delenv("RAMPART_MASTER_KEY")
    assert [p.topic for p in mode_problems(load_settings(STAGING))] == ["master key"]


def test_the_staging_page_names_the_example_and_the_drill() -> None:
    page = (ROOT / "docs" / "operations" / "staging.md").read_text()
    assert "deploy/examples/staging.yaml" in page
    assert "tests/test_rollback_drill.py" in page
