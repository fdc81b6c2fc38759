"""A service soak's run between its lives and across a host restart: a fault meets only a life
that has traded a few candles of its own (the time read right after a restart is the last
life's), and a resumed part runs without the bot, its messages not judged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from rampart.domain.candles import timeframe_ms
from rampart_testkit.soak_service import harness, procs, resume
from rampart_testkit.soak_service.evidence import Evidence, Part
from rampart_testkit.soak_service.faults import BOT_CUT
from rampart_testkit.soak_service.judge import messages
from rampart_testkit.soak_service.report import render
from rampart_testkit.soak_service.run import Run, ServiceSoakConfig

TF = timeframe_ms("1m")
T0 = 1_700_000_000_000


def _run(tmp: Path) -> Run:
    sim = procs.FrozenSimulator(tmp / "sim.log", 0, "1m", 7)
    return Run(ServiceSoakConfig(tmp), asyncio.Event(), lambda _: None, Evidence(hours=1), sim)


def test_a_life_trades_three_candles_past_its_first_fresh_reading_before_a_fault(
    tmp_path: Path,
) -> None:
    run = _run(tmp_path)
    run.read(T0, 0.0)
    run.read(T0 + 10 * TF, 1.0)  # the last life traded long enough
    run.stale_ms, run.life_from_ms = run.business_ms, None  # a restart, as start_service does
    run.read(T0 + 10 * TF, 2.0)  # the last life's time, still in the store
    run.read(T0 + 10 * TF + 2 * TF, 3.0)  # the new life's first heartbeat
    assert run.life_from_ms == T0 + 12 * TF
    run.read(T0 + 14 * TF, 4.0)
    assert not harness._trading(run)  # two candles of its own
    run.read(T0 + 15 * TF, 5.0)
    assert harness._trading(run)
    assert run.begin_ms == T0 and run.ev.begin_ms == T0 and run.ev.end_ms == T0 + 15 * TF


def test_a_resumed_part_drops_the_bot_from_the_settings_and_its_cut_from_the_plan(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "service.yaml"
    before = {
        "venue": {"api_url": "http://127.0.0.1:1"},
        "api": {"port": 8123},
        "telegram": {"api_url": "http://127.0.0.1:2", "poll_timeout_s": 1},
    }
    procs.write_settings(settings, before)
    assert resume.point_settings(settings, "http://127.0.0.1:3") == 8123
    after = yaml.safe_load(settings.read_text(encoding="utf-8"))
    assert after["venue"]["api_url"] == "http://127.0.0.1:3"
    assert "telegram" not in after

    ev = Evidence(hours=1, faults_planned=("api_500", BOT_CUT))
    assert harness._without_bot(ev, ("api_500", BOT_CUT)) == ("api_500",)
    assert ev.faults_planned == ("api_500",)
    assert any("without the bot" in note for note in ev.notes)


def test_the_messages_of_a_resumed_run_are_not_judged_and_say_why() -> None:
    ev = Evidence(hours=1, parts=[Part("2026-11-29 15:00 UTC", T0, T0, {}, {})])
    line = messages(ev)
    assert line.passed is None and "no bot ran after the host restart" in line.value
    assert "not run after the host restart" in render(ev, speed=120)[0]
    assert "no bot ran" in messages(Evidence(hours=1)).value
