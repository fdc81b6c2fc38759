"""The one sentence ``check-lookahead`` ends with, for each verdict, word for word (the mutation
area ``lookahead``): what a reader acts on when the check fails or passes."""

from __future__ import annotations

from rampart.research.audit import Access
from rampart.research.future_shift import Moved
from rampart.research.lookahead import Change, LookaheadReport
from rampart.research.signals import Decision

QUIET = Decision(1, 10, (), ())
CHANGE = Change(QUIET, QUIET)
FILE = Access("file", "/data/next.json", "a.py", 3)


def _report(**fields: object) -> LookaheadReport:
    base: dict[str, object] = {"agent": "mine", "candles": 1_200, "signals": 4, "quiet_checked": 6}
    return LookaheadReport(**(base | fields))  # type: ignore[arg-type]


def test_a_clean_report_says_what_was_re_computed_and_compared() -> None:
    assert _report(found=4).sentence() == (
        "No lookahead: 4 signal candle(s) and 6 quiet one(s) re-computed on data cut at each "
        "gave the same decision."
    )
    assert _report(found=9, compared=1_200).sentence() == (
        "No lookahead: 4 signal candle(s) (of 9) and 6 quiet one(s) re-computed on data cut at "
        "each gave the same decision; all 1,200 candles decided the same with every price "
        "doubled and the times moved."
    )
    assert _report(signals=0).sentence() == (
        "mine proposed nothing on these 1,200 candles, so no signal could be checked (6 quiet "
        "candles re-computed gave nothing either)."
    )


def test_each_failing_verdict_has_its_own_sentence() -> None:
    assert _report(changes=(CHANGE,)).sentence() == (
        "Lookahead: 1 of 4 signal candle(s) and 6 quiet one(s) changed when the candles after "
        "them were removed; the agent reads the future and its backtests cannot be trusted."
    )
    assert _report(accesses=(FILE,), changes=(CHANGE, CHANGE)).sentence() == (
        "Lookahead: the agent read 1 thing(s) outside the engine's view (file); and 2 of 4 "
        "signal candle(s) and 6 quiet one(s) changed when the candles after them were removed; "
        "its backtests cannot be trusted."
    )
    assert _report(accesses=(FILE,)).sentence() == (
        "Lookahead: the agent read 1 thing(s) outside the engine's view (file); its backtests "
        "cannot be trusted."
    )
    clock = Access("clock", "time.time", "a.py", 4)
    assert _report(accesses=(FILE, clock, FILE)).sentence() == (
        "Lookahead: the agent read 3 thing(s) outside the engine's view (clock, file); its "
        "backtests cannot be trusted."
    )
    through = Change(QUIET, QUIET, "bars.csv", ("Planted.z", "Planted.by_bar"))
    assert _report(changes=(through, CHANGE)).sentence() == (
        "Lookahead: 1 of 4 signal candle(s) and 6 quiet one(s) changed when the rows after them "
        "were removed (bars.csv 1 through Planted.z, Planted.by_bar; the candles 1); the agent "
        "reads the future and its backtests cannot be trusted."
    )
    handed = Change(QUIET, QUIET, "", ("Peek._next",))
    assert _report(changes=(handed,)).sentence() == (
        "Lookahead: 1 of 4 signal candle(s) and 6 quiet one(s) changed when the candles after "
        "them were removed (the future came through Peek._next); the agent reads the future "
        "and its backtests cannot be trusted."
    )
    assert _report(failure="it raised ValueError at a.py:3").sentence() == (
        "Lookahead: it raised ValueError at a.py:3; its backtests cannot be trusted."
    )


def test_a_difference_on_the_moved_market_alone_depends_on_candle_times_and_passes() -> None:
    moved = (Moved(QUIET, QUIET, 3),) * 2
    named = _report(found=4, moved=moved, lookups=("bars.csv's 'date' column", "Planted.by_time"))
    assert named.ok
    assert named.sentence() == (
        "No lookahead: 4 signal candle(s) and 6 quiet one(s) re-computed on data cut at each "
        "gave the same decision; 2 candle(s) decided differently with every price doubled and "
        "the times moved: its decisions depend on candle times (it looks up bars.csv's 'date' "
        "column, Planted.by_time by time), which is not lookahead."
    )
    unnamed = _report(found=4, moved=moved)
    assert unnamed.ok and unnamed.sentence().endswith(
        "depend on candle times (through a lookup the check could not name: a date, a time of "
        "day, or a price level written in its code), which is not lookahead."
    )
    # With a cut changing a decision too, it is lookahead all the same.
    assert not _report(found=4, moved=moved, changes=(CHANGE,)).ok
