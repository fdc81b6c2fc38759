"""``make mutate`` (scripts/mutate.py): every area names files and tests that exist, round 4's
money and safety code has its areas, and ``--list`` shows them."""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROUND_4 = ("market", "anomaly", "shards", "adoption", "inbox", "plugins", "lookahead", "redaction")


@pytest.fixture(scope="module")
def areas() -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import mutate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return dict(mutate.AREAS)


def test_every_area_names_files_and_tests_that_exist(areas: dict[str, object]) -> None:
    missing = [
        f"{name}: {path}"
        for name, area in areas.items()
        for path in (*area.mutate, *area.tests)  # type: ignore[attr-defined]
        if not glob.glob(str(ROOT / path))
    ]
    assert missing == []


def test_round_4_has_its_areas_and_list_shows_them(areas: dict[str, object]) -> None:
    assert set(ROUND_4) <= set(areas)
    listed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "mutate.py"), "--list"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert all(f"\n{name} " in f"\n{listed}" for name in ROUND_4)
    assert "src/rampart/market/price_guard.py" in listed


def test_the_bracket_is_an_area_of_its_own(areas: dict[str, object]) -> None:
    assert areas["bracket"].mutate == ("src/rampart/trading/bracket.py",)  # type: ignore[attr-defined]
