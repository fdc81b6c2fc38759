"""A clean stop's last pass, read on a stand-in engine: which accounts it cancels entries of
and reconciles, what it says when the pass fails or runs out of time, what it leaves in the
checkpoint for the next holder, and its log line. The pass on a real exchange simulator is in
``tests/chaos/test_clean_stop.py``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from types import SimpleNamespace
from typing import Any

import pytest

from rampart.domain.errors import RampartError
from rampart.trading.reconcile import last_pass as module
from rampart.trading.reconcile.last_pass import STOP, StopPass, last_pass
from tests.log_lines import every_log_line


class _Reconciler:
    """Records each pass's accounts; its verdict is ``left``; ``fail`` raises, ``hang`` never
    answers, ``busy_s`` holds the loop that long (a pass that cannot be interrupted)."""

    def __init__(self, left: list[str] | None = None) -> None:
        self.left = left or []
        self.asked: list[tuple[object, str]] = []
        self.fail: Exception | None = None
        self.hang = False
        self.hang_from = 0
        """The pass from which it never answers (0: none)."""
        self.clean_from = 0
        """The pass from which it finds nothing left (0: never)."""
        self.busy_s = 0.0

    async def run(self, engine: object, accounts: object = None, reason: str = "") -> Any:
        self.asked.append((accounts, reason))
        if self.fail is not None:
            raise self.fail
        if self.hang or len(self.asked) == self.hang_from:
            await asyncio.Event().wait()
        if self.busy_s:
            time.sleep(self.busy_s)  # the stand-in pass's own duration, not a wait for an event
        done = 0 < self.clean_from <= len(self.asked)
        return SimpleNamespace(differences=[] if done else list(self.left))


def _engine(canceled: list[str]) -> Any:
    async def cancel_entries(acct: str) -> None:
        canceled.append(acct)

    return SimpleNamespace(
        accounts={"a1": "a1", "a2": "a2"},
        executor=SimpleNamespace(cancel_entries=cancel_entries),
        venue=SimpleNamespace(instrument=None),
        clock=SimpleNamespace(now_ms=lambda: 0),
        owed="what the last holder left",
    )


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The accounts whose BTC no stop covers; the positions read as the real reading does,
    only for the accounts asked."""
    uncovered: list[str] = []

    def positions(
        held: dict[str, str], instrument: object, now: int, accounts: Collection[str] | None
    ) -> list[str]:
        return [
            f"{a} BTC/USDT 1"
            for a in held
            if a in uncovered and (accounts is None or a in accounts)
        ]

    monkeypatch.setattr(module, "bare_positions", positions)
    return uncovered


def test_a_pass_for_some_accounts_touches_only_theirs(bare: list[str]) -> None:
    bare.extend(["a1", "a2"])
    canceled: list[str] = []
    rec = _Reconciler()
    out = asyncio.run(last_pass(_engine(canceled), rec, accounts=["a2"]))  # type: ignore[arg-type]
    assert canceled == ["a2"]
    assert rec.asked[0] == (["a2"], STOP) and STOP == "stop"
    assert out.bare == ["a2 BTC/USDT 1"]

    canceled.clear()
    bare.clear()
    out = asyncio.run(last_pass(_engine(canceled), _Reconciler()))  # type: ignore[arg-type]
    assert canceled == ["a1", "a2"] and out.clean


def test_a_clean_pass_clears_what_the_checkpoint_owed_and_says_so(bare: list[str]) -> None:
    engine = _engine([])
    with every_log_line() as logs:
        out = asyncio.run(last_pass(engine, _Reconciler()))
    assert out.clean and out.finished and out.failure == ""
    assert engine.owed == ""
    assert out.text == (
        "Last pass before stopping: every fill booked, every held coin under a stop."
    )
    (line,) = [e for e in logs if e["event"] == "stop_last_pass"]
    assert line["clean"] is True and line["log_level"] == "info"


def test_a_pass_the_venue_fails_is_not_repeated_and_is_owed_in_words(bare: list[str]) -> None:
    bare.append("a1")
    engine = _engine([])
    rec = _Reconciler()
    rec.fail = RampartError("the exchange answered 503")
    with every_log_line() as logs:
        out = asyncio.run(last_pass(engine, rec))
    assert len(rec.asked) == 1, "a failed pass is not run again"
    assert not out.finished and not out.clean
    assert out.failure == "the exchange answered 503"
    assert out.text == (
        "Stopping with work left: the last pass did not finish (the exchange answered 503); "
        "no stop rests for a1 BTC/USDT 1. The next start books the exchange's trades and "
        "covers every coin before it trades; start it soon."
    )
    assert engine.owed == out.text
    (line,) = [e for e in logs if e["event"] == "stop_last_pass"]
    assert line["log_level"] == "error" and line["clean"] is False
    assert line["failure"] == out.failure and line["bare"] == ["a1 BTC/USDT 1"]
    assert line["differences"] == [] and line["text"] == out.text


def test_a_pass_out_of_time_says_its_deadline(bare: list[str]) -> None:
    rec = _Reconciler()
    rec.hang = True

    async def bounded() -> StopPass:  # a pass without its deadline fails here, never hangs
        return await asyncio.wait_for(last_pass(_engine([]), rec, within_s=0.01), timeout=5)

    out = asyncio.run(bounded())
    assert out.failure == "not done within 0.01 s"
    assert len(rec.asked) == 1 and not out.clean


def test_books_still_differing_are_said_each(bare: list[str]) -> None:
    engine = _engine([])
    out = asyncio.run(last_pass(engine, _Reconciler(["a1 BTC/USDT: 2 held, 1 booked", "x"])))
    assert out.finished and not out.clean and out.bare == []
    assert out.text == (
        "Stopping with work left: the books still differ: a1 BTC/USDT: 2 held, 1 booked; x. "
        "The next start books the exchange's trades and covers every coin before it trades; "
        "start it soon."
    )
    assert engine.owed == out.text


def test_no_pass_is_begun_after_the_deadline(bare: list[str]) -> None:
    rec = _Reconciler(["a fill still landing"])
    rec.busy_s = 0.05
    engine = _engine([])
    out = asyncio.run(last_pass(engine, rec, within_s=0.02))
    assert len(rec.asked) == 1
    assert out.finished and out.differences == ["a fill still landing"]
    assert engine.owed == out.text


def test_a_pass_is_clean_only_finished_with_nothing_left() -> None:
    assert StopPass(finished=True).clean
    assert not StopPass().clean
    assert not StopPass(finished=True, differences=["d"]).clean
    assert not StopPass(finished=True, bare=["a1 BTC/USDT 1"]).clean


def test_a_pass_after_the_first_runs_while_any_time_is_left(bare: list[str]) -> None:
    """Under a second left of the deadline is time for another pass, which finds it clean."""
    rec = _Reconciler(["a fill still landing"])
    rec.clean_from = 2
    out = asyncio.run(last_pass(_engine([]), rec, within_s=0.9))
    assert len(rec.asked) == 2 and out.clean, out.text


def test_a_later_pass_is_bounded_by_what_is_left_of_the_deadline(bare: list[str]) -> None:
    rec = _Reconciler(["a fill still landing"])
    rec.hang_from = 2  # the second pass never answers

    async def bounded() -> StopPass:
        # A second of deadline: the first pass, answered at once, leaves the second most of it
        # even on a loaded machine; the second never answers and is cut at what was left.
        return await asyncio.wait_for(last_pass(_engine([]), rec, within_s=1.0), timeout=5)

    out = asyncio.run(bounded())
    assert len(rec.asked) == 2
    assert out.failure.startswith("not done within 0.") and not out.clean
