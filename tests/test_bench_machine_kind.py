"""The benches reuse a slow peer figure (NautilusTrader at 1M bars) only on the kind of machine
it was recorded on, and cloud machines name several CPU generations alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import _proc  # noqa: E402  (bench/ is not a package)

ZEN2 = "processor\t: 0\ncpu family\t: 23\nmodel\t\t: 49\nmodel name\t: AMD EPYC\n"
ZEN5 = "processor\t: 0\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\n"


def test_the_same_name_of_two_generations_is_two_kinds() -> None:
    older, newer = _proc.machine_kind(ZEN2), _proc.machine_kind(ZEN5)
    assert older != newer
    assert older.startswith("AMD EPYC (family 23 model 49) x")
    assert newer.startswith("AMD EPYC (family 26 model 2) x")


def test_a_cpu_without_family_numbers_is_known_by_its_name() -> None:
    assert _proc.machine_kind("model name\t: Some ARM core\n").startswith("Some ARM core x")
    assert _proc.machine_kind("").startswith("unknown cpu x")


def test_a_figure_from_another_generation_is_not_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_proc, "PEER_RESULTS", tmp_path / "results.json")
    kind = ["AMD EPYC (family 23 model 49) x2"]
    monkeypatch.setattr(_proc, "machine_kind", lambda: kind[0])
    _proc.record_peer("nautilus 1000000", {"cpu": 625.37})
    found = _proc.cached_peer("nautilus 1000000")
    assert found is not None and found["cpu"] == 625.37 and found["date"]
    kind[0] = "AMD EPYC (family 26 model 2) x2"
    assert _proc.cached_peer("nautilus 1000000") is None


def test_a_figure_from_another_interpreter_is_not_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_proc, "PEER_RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(_proc, "machine_kind", lambda: "Intel Xeon (family 6 model 207) x2")
    base = ["/opt/pyenv/3.11.7/bin/python3.11"]
    monkeypatch.setattr(_proc, "base_interpreter", lambda: base[0])
    _proc.record_peer("nautilus 1000000", {"cpu": 367.44})
    found = _proc.cached_peer("nautilus 1000000")
    assert found is not None and found["interpreter"] == base[0]
    base[0] = "/usr/bin/python3.11"
    assert _proc.cached_peer("nautilus 1000000") is None


def test_a_figure_recorded_without_its_interpreter_is_not_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    results = tmp_path / "results.json"
    monkeypatch.setattr(_proc, "PEER_RESULTS", results)
    monkeypatch.setattr(_proc, "machine_kind", lambda: "Intel Xeon (family 6 model 207) x2")
    results.write_text(
        '{"Intel Xeon (family 6 model 207) x2": {"nautilus 1000000": {"cpu": 367.44}}}'
    )
    assert _proc.cached_peer("nautilus 1000000") is None


def test_a_peer_made_from_another_interpreter_is_made_again_from_ours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_proc, "PEERS", tmp_path)
    (tmp_path / "peer" / "bin").mkdir(parents=True)
    (tmp_path / "peer" / "bin" / "python").touch()
    ours = "/opt/pyenv/3.11.7/bin/python3.11"
    monkeypatch.setattr(_proc, "base_interpreter", lambda: ours)
    made_from = ["/usr/bin/python3.11"]
    monkeypatch.setattr(_proc, "env_state", lambda python, module: ("1.0", made_from[0]))
    ran: list[list[str]] = []

    def run(cmd: list[str], **_: object) -> object:
        ran.append(cmd)
        made_from[0] = ours  # what the new environment says once made
        return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

    monkeypatch.setattr(_proc.subprocess, "run", run)
    python, version = _proc.peer_python("peer", "peer==1.0", "peer")
    assert python == tmp_path / "peer" / "bin" / "python" and version == "1.0"
    assert ran[0] == [ours, "-m", "venv", "--clear", str(tmp_path / "peer")]
    ran.clear()
    assert _proc.peer_python("peer", "peer==1.0", "peer")[1] == "1.0"
    assert ran == []  # made from ours: used as it is


def test_the_peers_import_the_comparisons_with_the_standard_library_alone() -> None:
    # A peer's child process runs the comparison script on the peer's own python, where
    # none of Rampart's dependencies (psutil among them) is installed.
    probe = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r}); "
        "import compare_nautilus, compare_freqtrade; print('imported')"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
