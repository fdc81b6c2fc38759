"""The soak's list of where memory grew: tracemalloc at the baseline and at the end, the
line that kept the most new memory alive first."""

from __future__ import annotations

import tracemalloc
from typing import Any

from rampart_testkit.soak.memsites import SiteTracer, lines

KEPT: list[bytes] = []


def _grow() -> None:
    for i in range(2_000):
        KEPT.append(bytes(200) + i.to_bytes(4, "big"))  # the growing line


def test_the_line_that_kept_new_memory_is_listed_first() -> None:
    was_tracing = tracemalloc.is_tracing()
    tracer = SiteTracer(3)
    freed = [bytes(300) for _ in range(1_000)]  # allocated before the baseline, freed after
    tracer.baseline()
    del freed
    _grow()
    sites = tracer.growth()
    KEPT.clear()
    assert tracemalloc.is_tracing() == was_tracing  # stopped only if it started it
    total, top, *rest = sites
    assert total["site"].startswith("(every")
    assert top["site"].endswith(f"test_soak_memsites.py:{_grow.__code__.co_firstlineno + 2}")
    assert top["blocks"] >= 2_000 and top["kib"] >= 2_000 * 200 / 1024
    assert len(rest) == 2 and all(s["kib"] <= top["kib"] for s in rest)
    assert "test_soak_memsites.py" in lines(sites)[1]


def test_off_by_default_lists_nothing() -> None:
    tracer = SiteTracer(0)
    tracer.baseline()
    assert tracer.growth() == []


def test_the_command_passes_the_count_and_prints_the_sites(tmp_path: Any, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from rampart.cli.main import app
    from rampart_testkit import soak as soak_pkg
    from rampart_testkit.soak import SoakConfig, SoakStats

    asked: list[int] = []

    async def fake(config: SoakConfig, progress: object = None) -> SoakStats:
        asked.append(config.memory_sites)
        site = {"site": "src/rampart/x.py:12", "kib": 512.0, "blocks": 900}
        return SoakStats(memory_sites=[site])

    monkeypatch.setattr(soak_pkg, "run_soak", fake)
    monkeypatch.setattr("rampart.observability.logging.configure_logging", lambda *a, **k: None)
    result = CliRunner().invoke(
        app, ["soak", "--duration", "10m", "--memory-sites", "5", "--out", str(tmp_path)]
    )
    assert asked == [5]
    assert "Memory growth by allocation line" in result.output
    assert "+512.0 KiB     +900 blocks  src/rampart/x.py:12" in result.output
    assert "src/rampart/x.py:12" in (tmp_path / "soak-report.md").read_text()
