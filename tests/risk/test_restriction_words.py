"""Each restriction as the fronts show it and as a checkpoint keeps it: who engaged it, what
lifts it, the figures, and what an older or smaller checkpoint reads back as."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest

from rampart.risk.profiles import get_profile
from rampart.risk.restrictions import (
    Restriction,
    kill_switch,
    paused,
    position_loss,
    position_loss_kill,
    rollout_stage,
    utc,
    venue_report,
)

D = Decimal
MODERATE = get_profile("moderate")  # position loss limit 2 %
CONSERVATIVE = get_profile("conservative")  # kill on a position loss of 50
AT = 1_641_600_000_000  # 2022-01-08 00:00 UTC
OWNER_LIFTS = "resumes when the investor (/resume) or the operator resumes it"


def _checkpointed(r: Restriction) -> Restriction:
    return Restriction.from_dict(json.loads(json.dumps(r.to_dict())))


def test_pauses_say_who_paused_and_who_may_resume() -> None:
    assert paused("ops", "", owner="alice") == Restriction(
        "paused", "paused", "no reason given", needs_operator=True, by="ops"
    )
    assert paused("alice", "holiday", owner="alice", since=AT) == Restriction(
        "paused", "paused", "holiday", lifts=OWNER_LIFTS, by="alice", since=AT
    )
    by_system = paused("system", "a position lost too much", owner="alice", since=AT)
    assert not by_system.needs_operator
    assert by_system.text == (f"Paused (system): a position lost too much; {OWNER_LIFTS}.")


def test_the_kill_switch_and_a_venue_report_need_the_operator() -> None:
    assert kill_switch("ops", "") == Restriction(
        "kill_switch", "paused", "no reason given", needs_operator=True, by="ops"
    )
    assert kill_switch("ops", "outage", since=AT).since == AT
    report = venue_report("a fill the books cannot explain")
    assert report == Restriction(
        "venue_report", "reducing", "a fill the books cannot explain", needs_operator=True
    )
    assert report.text == (
        "Unexplained venue report: a fill the books cannot explain; needs the operator to "
        "resume it (it does not resume by itself)."
    )


def test_a_rollout_stage_restriction_lifts_when_the_stage_admits_the_account() -> None:
    stage = rollout_stage("capital 600 USDT above the stage's 500 USDT", AT)
    assert stage == Restriction(
        "rollout_stage",
        "reducing",
        "capital 600 USDT above the stage's 500 USDT",
        lifts="lifts when the rollout stage admits the account again",
        since=AT,
    )
    assert stage.text == (
        "Rollout stage: capital 600 USDT above the stage's 500 USDT; lifts when the rollout "
        "stage admits the account again."
    )
    assert rollout_stage("not invited").since == 0


def test_a_position_loss_pause_keeps_its_figures() -> None:
    lost = position_loss("BTC/USDT", D("200.01"), D("10000"), MODERATE, "USDT", AT)
    assert lost == Restriction(
        "position_loss",
        "paused",
        "the BTC/USDT position lost 200.01 USDT (2.0001 % of equity)",
        value=D("0.020001"),
        threshold=D("0.02"),
        unit="fraction",
        lifts=OWNER_LIFTS,
        by="system",
        since=AT,
    )
    small = position_loss("BTC/USDT", D("0.25"), D("0.5"), MODERATE, "USDT", AT)
    assert small.measured == "the BTC/USDT position lost 0.25 USDT (50 % of equity)"
    broke = position_loss("BTC/USDT", D("30"), D("0"), MODERATE, "USDT", AT)
    assert broke.value is None
    assert broke.text == (
        f"Position loss limit (system): the BTC/USDT position lost 30 USDT, limit 2 %; "
        f"{OWNER_LIFTS}."
    )


def test_a_position_loss_kill_names_its_amount() -> None:
    kill = position_loss_kill("ETH/USDT", D("50.5"), CONSERVATIVE, "USDT", AT)
    assert kill == Restriction(
        "kill_on_position_loss",
        "paused",
        "the ETH/USDT position lost 50.5 USDT, more than the 50 USDT kill limit",
        value=D("50.5"),
        threshold=D("50"),
        needs_operator=True,
        by="risk",
        since=AT,
    )


def test_a_limit_is_shown_apart_from_a_value_that_rounds_to_it() -> None:
    r = Restriction("daily_loss", "halted", "lost", D("0.12351"), D("0.123456"), "fraction")
    assert r.limit() == "limit 12.346 %"


def test_what_lifts_a_restriction_is_said_once() -> None:
    timed = Restriction("cooldown", "reducing", "3 losing trades in a row", resumes_at=AT)
    assert timed.text == (
        "Losing-streak cooldown: 3 losing trades in a row; resumes by itself at "
        "2022-01-08 00:00 UTC."
    )
    open_ended = Restriction("stage", "reducing", "not admitted")
    assert open_ended.text == "Stage: not admitted; resumes once its cause is gone."


def test_every_restriction_survives_a_checkpoint() -> None:
    for r in (
        paused("ops", "checking", owner="alice", since=AT),
        kill_switch("ops", "outage", since=AT),
        venue_report("odd fill"),
        rollout_stage("not admitted", AT),
        position_loss("BTC/USDT", D("30"), D("0"), MODERATE, "USDT", AT),
        position_loss_kill("ETH/USDT", D("50.5"), CONSERVATIVE, "USDT", AT),
    ):
        assert _checkpointed(r) == r


def test_a_checkpoint_with_only_the_cause_and_effect_reads_as_nothing_more() -> None:
    bare = Restriction.from_dict({"cause": "venue_report", "effect": "reducing"})
    assert bare == Restriction("venue_report", "reducing", "")


def test_times_are_shown_in_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert utc(AT) == "2022-01-08 00:00 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()
