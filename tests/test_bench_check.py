"""``make bench-check`` (bench/check.py): the deterministic call counts against the committed
baseline fail the check when one grows more than 5 %, and only an update with a reason moves
the baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import check  # noqa: E402  (bench/ is not a package)

COUNTS = {"quiet_candle": 20.0, "round_trip": 600.0, "trial": 100_000.0}


def _baseline(path: Path, counts: dict[str, float]) -> Path:
    path.write_text(json.dumps({"counts": counts, "reason": "test"}))
    return path


def test_a_count_grown_past_five_percent_fails_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = _baseline(tmp_path / "baseline.json", COUNTS)
    grown = {**COUNTS, "round_trip": 631.0}  # +5.2 %
    assert check.main(["--baseline", str(baseline)], counter=lambda: grown) == 1
    said = capsys.readouterr().out
    assert "a trade's round trip's Python calls grew from 600.0 to 631.0 (+5.2%" in said
    assert "quiet candle's Python calls grew" not in said
    assert 'make bench-check UPDATE=1 REASON="..."' in said


def test_a_count_within_five_percent_or_fallen_passes(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path / "baseline.json", COUNTS)
    within = {"quiet_candle": 21.0, "round_trip": 400.0, "trial": 100_000.0}  # +5.0 %, -33 %
    assert check.main(["--baseline", str(baseline)], counter=lambda: within) == 0


def test_an_update_needs_a_reason_and_writes_it(tmp_path: Path) -> None:
    baseline = _baseline(tmp_path / "baseline.json", COUNTS)
    grown = {**COUNTS, "trial": 150_000.0}
    assert check.main(["--baseline", str(baseline), "--update"], counter=lambda: grown) == 2
    assert json.loads(baseline.read_text())["counts"] == COUNTS  # untouched
    argv = ["--baseline", str(baseline), "--update", "--reason", "trials record more"]
    assert check.main(argv, counter=lambda: grown) == 0
    written = json.loads(baseline.read_text())
    assert written["counts"] == grown
    assert written["reason"] == "trials record more"
    assert check.main(["--baseline", str(baseline)], counter=lambda: grown) == 0


def test_no_baseline_is_said_not_passed(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    assert check.main(["--baseline", str(missing)], counter=lambda: COUNTS) == 2


def test_the_committed_baseline_names_every_count_with_a_reason() -> None:
    committed = json.loads((BENCH / "baseline.json").read_text())
    assert set(committed["counts"]) == set(check.NAMES)
    assert committed["reason"].strip()


@pytest.mark.slow
def test_the_real_counts_fail_against_a_baseline_edited_down(tmp_path: Path) -> None:
    """The check as CI runs it, on the committed baseline with every count cut by a sixth:
    the measured counts are then ~20 % above it, and each is named."""
    committed = json.loads((BENCH / "baseline.json").read_text())["counts"]
    edited = _baseline(tmp_path / "baseline.json", {k: v / 1.2 for k, v in committed.items()})
    done = subprocess.run(
        [sys.executable, str(BENCH / "check.py"), "--baseline", str(edited)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    for name in check.NAMES.values():
        assert f"FAIL: {name} grew from" in done.stdout
