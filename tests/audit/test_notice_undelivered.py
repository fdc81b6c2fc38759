"""A blocked investor's notices are reported to the operator: dropped
notices were counted with nobody told. The operator chat hears which accounts could not be
reached, at most once a day, and what was reported is not reported again."""

from __future__ import annotations

from pathlib import Path

from rampart.clock import SimClock
from rampart.notices.outbox import DAY_MS
from rampart.store.db import open_database
from tests.audit.notice_outbox_support import T0, Telegram, _box, _notice, _run, _send_due


class WithOperator(Telegram):
    def __init__(self, clock: SimClock) -> None:
        super().__init__(clock)
        self.operator: list[str] = []

    async def tell_operators(self, html: str, attachments: object = ()) -> bool:
        self.operator.append(html)
        return True


def test_undelivered_notices_are_reported_once_a_day(tmp_path: Path) -> None:
    async def scenario() -> None:
        db = open_database(f"sqlite:///{tmp_path / 'n.db'}")
        clock = SimClock(T0)
        telegram = WithOperator(clock)
        telegram.script = {"blocked": [False, False, False], "gone": [False]}
        outbox = _box(db, clock, telegram)
        for n in range(2):
            outbox.put(_notice(f"k{n}", "blocked"))
        outbox.put(_notice("g0", "gone"))
        outbox.put(_notice("ok", "fine"))
        await outbox.save()
        while await _send_due(outbox):
            pass
        assert await outbox.report_undelivered()
        (report,) = telegram.operator
        assert "3 notices could not reach 2 investors" in report
        assert "<code>blocked</code> (2)" in report and "<code>gone</code> (1)" in report
        assert "fine" not in report
        outbox.put(_notice("k2", "blocked"))
        await outbox.save()
        await _send_due(outbox)
        clock.set(T0 + DAY_MS - 1)
        assert not await outbox.report_undelivered()  # once a day
        clock.set(T0 + DAY_MS)
        assert await outbox.report_undelivered()
        assert telegram.operator[-1].startswith("📭 1 notice could not reach 1 investor ")
        assert not await outbox.report_undelivered()  # nothing new: nothing said
        assert len(telegram.operator) == 2

    _run(scenario)
