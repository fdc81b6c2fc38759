"""One clock in every figure a person reads: every investor and operator message that holds a day,
a date, a time of day or a duration is on the service's clock, never the wall clock.

The service runs on simulated time in March 2031, years from the wall clock, as on an exchange
feed (business time is the one clock; nothing maps it to another axis). An investor and the
operator send every command the bot has (each bare, and those that take a day or a period with
one); the kill switch is engaged and released five minutes later with the alert engine on the
same clock; the scheduler's daily and weekly reports are built; every API answer and panel page
is read with one investor's and the operator's token. Each text is read by
:func:`tests.one_clock_dates.off_clock`: a date, an ``MM-DD HH:MM``, a weekday or a duration
that does not fit the span the clock ran is a figure read from another clock.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rampart.clock import SimClock, datetime_to_ms
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.alerts.build import build_alerting
from rampart.observability.metrics import Metrics
from rampart.operator.terms import TERMS_DATE
from rampart.reports.jobs import run_report
from rampart.reports.store import list_reports
from rampart.telegram import routes
from rampart.wiring.notices import investor_outbox
from rampart.wiring.session import TradingSession
from tests.api.conftest import LiveApi
from tests.one_clock_dates import off_clock, times_in, wall_marks
from tests.panel.panel_http import sign_in
from tests.panel.test_own_only import _api_gets
from tests.telegram.conftest import ALICE, OPERATOR, SYMBOLS, TgService

START = datetime_to_ms(datetime(2031, 3, 8, 12, 0, tzinfo=UTC))
"""A Saturday noon years from the wall clock: the one clock every message must be on. The run
goes on past Monday 00:10, when the scheduler makes the week's reports."""
DAY = "2031-03-08"

ACTS = {"kill", "unkill", "pause_user", "resume_user", "rollback", "model_rollback", "close"}
"""Commands that act when sent bare; the kill switch is driven on its own, the others are read
with arguments they refuse in words."""


class OneClockService(TgService):
    """The bot's service with one clock: the candles set it, the bot, the operator and the alert
    engine read it (an exchange feed's business time is the wall clock; here it is simulated)."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, pace=SimClock(START))
        self.clock = SimClock(START)
        self.ops = self.clock

    async def __aenter__(self) -> OneClockService:
        from rampart.observability.logging import configure_logging
        from rampart.wiring.instruments import instruments_for

        configure_logging("info", "json", self.log_path)
        await self.api.start()
        s = self.settings
        self.session = TradingSession(
            s,
            self.clock,
            instruments_for(SYMBOLS),
            db_url=s.store.url,
            checkpoint_name="run",
            accounts=[],
            checkpoint_every=s.store.checkpoint_every,
        )
        await self.session.open()
        self.session.finish_resume()
        self.session.bus.subscribe(self.events.append)
        feed = SyntheticFeed(SYMBOLS, seed=s.feed.seed, timeframe="1m", start_ms=START)
        self.candles = feed.iter_candles()
        await self.start_bot(SYMBOLS)
        # The investors' notices (entries, exits, breakers, the kill switch) as the service
        # sends them.
        self.outbox = investor_outbox(self.session, self.bot, self.pace)
        self.outbox_stop = asyncio.Event()
        running = self.outbox.run(self.outbox_stop, lambda: None, 0.05)
        self.outbox_task = asyncio.create_task(running)
        await self.trade(60)
        return self

    async def drain(self) -> None:
        """Until the outbox holds nothing unsent, then stop it."""
        for _ in range(20_000):  # a bound on polls; the pace moves on as the outbox sleeps
            if self.outbox.idle():
                break
            await asyncio.sleep(0.001)
        self.outbox_stop.set()
        await asyncio.wait_for(self.outbox_task, timeout=30)
        assert self.outbox.idle(), f"the outbox still holds {self.outbox.pending()} notices"


def _check(texts: dict[str, str]) -> None:
    """Each text (by where it came from) holds only times on the clock that ran."""
    wrong = {where: off_clock(t, START, _last[0], (TERMS_DATE,)) for where, t in texts.items()}
    wrong = {where: found for where, found in wrong.items() if found}
    assert wrong == {}, wrong
    wall = wall_marks(datetime.now(UTC))
    leaked = {where: [w for w in wall if w in t] for where, t in texts.items()}
    assert {w: m for w, m in leaked.items() if m} == {}


_last = [START]


def test_every_bot_message_and_alert_is_on_the_services_clock(tmp_path: Path) -> None:
    said: dict[str, str] = {}

    async def scenario() -> None:
        async with OneClockService(tmp_path) as svc:
            metrics = Metrics()
            svc.session.bus.subscribe(metrics.on_event)
            alerts = build_alerting(
                svc.settings,
                svc.session.db,
                metrics,
                svc.clock,
                extra_notifiers=[svc.bot.notifier()],
                stamp=svc.clock,
            )
            # /start's terms accepted, a paper account, then a day and a half of trading: past
            # Monday 2031-03-10 00:10, so yesterday and last week have trades and reports.
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.trade(2 * 60 * 38)
            _last[0] = svc.clock.now_ms()
            # The scheduler's daily and weekly reports (the weekly with each investor's own).
            for kind in ("daily", "weekly"):
                done = await run_report(
                    svc.session.db, svc.settings, svc.clock, svc.bot, kind, svc.clock.now_ms()
                )
                said[f"scheduler {kind}"] = done
            for report in list_reports(svc.session.db):
                said[f"report #{report.id}"] = report.markdown

            async def ask(uid: int, line: str) -> None:
                said[f"{uid} {line}"] = "\n".join(await svc.send(uid, line))

            names = list(routes.commands())
            for name in names:
                await ask(ALICE, f"/{name}")
            # The account began the day its investor invested, whatever was done to it since.
            assert f"Your account began on {DAY}" in said[f"{ALICE} /daily"]
            for line in (
                f"/daily {DAY}",
                f"/report {DAY}",
                "/weekly",
                "/profit",
                "/trades",
                "/terms",
                "/portfolio",
                "/vibe long ETH, tight stop, 2% target",
            ):
                await ask(ALICE, line)
            for name in names:
                if name not in ACTS:
                    await ask(OPERATOR, f"/{name}")
            for line in (f"/daily {DAY}", "/users", "/incidents", "/status", "/health"):
                await ask(OPERATOR, line)

            # The kill switch: engaged, acknowledged, released five minutes later; the alert
            # engine on the one clock opens and clears its incident.
            await ask(OPERATOR, "/kill drill")
            await alerts.evaluate(svc.clock.now_ms())
            opened = [i for i in await svc.operator.incidents("active") if "Kill" in i.rule]
            assert opened, "the kill switch raised no incident"
            await ask(OPERATOR, f"/ack {opened[0].id}")
            await ask(OPERATOR, "/incidents")
            await svc.trade(2 * 5)
            await ask(OPERATOR, "/unkill drill done")
            await alerts.evaluate(svc.clock.now_ms())
            await svc.drain()
            await svc.until_quiet()
            _last[0] = svc.clock.now_ms()
            for uid in (ALICE, OPERATOR):
                said[f"{uid} all"] = "\n".join(svc.api.texts(uid))
            cleared = [t for t in svc.api.texts(OPERATOR) if "Cleared after" in t]
            assert cleared, "no resolved notice reached the operator"
            minutes = float(re.findall(r"Cleared after ([\d.]+) min", cleared[-1])[0])
            assert 4.0 <= minutes <= 6.0, cleared[-1]

    asyncio.run(scenario())
    assert len(said) > 2 * len(routes.commands())
    _check(said)
    # What was read names the clock's days: the check saw dates, not nothing.
    assert sum(times_in(text) for text in said.values()) > 100


@pytest.fixture
def api_2031(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveApi]:
    """The API tests' service with its candles, and so its business clock, in March 2031, and
    the ops clock (tokens, rate limits, the feed probe) there too."""
    from tests.api import conftest as api_conftest

    monkeypatch.setattr(
        api_conftest, "SyntheticFeed", functools.partial(SyntheticFeed, start_ms=START)
    )
    # Backups of its own: the default folder (var/backups under the working directory) holds
    # those other tests wrote at the wall clock's time.
    api = LiveApi(tmp_path, with_alerts=True, backup={"dir": str(tmp_path / "backups")})
    api.ops = SimClock(START)
    try:
        yield api.start()
    finally:
        api.stop()


def _panel_pages(api: LiveApi) -> list[str]:
    """Every page and data answer of the panel (not its live stream, which never ends), its
    path parameters filled for bob's account, the first report, a chart of each symbol."""
    pages = []
    from rampart.api import panel

    routes = [r for m in panel.ROUTERS for r in m.router.routes]
    for route in routes:
        path = getattr(route, "path", "")
        if not path.startswith("/panel") or "GET" not in getattr(route, "methods", ()):
            continue
        if path in ("/panel/live", "/panel/login") or "/charts/" in path:
            continue
        path = re.sub(r"\{(account|account_id)\}", "bob", path)
        pages.append(re.sub(r"\{[^}]+\}", "1", path))
    pages += [f"/panel/data/chart?symbol={s}&account=bob" for s in SYMBOLS]
    return pages


def test_every_api_answer_and_panel_page_is_on_the_services_clock(api_2031: LiveApi) -> None:
    api = api_2031
    api.trade(2 * 60 * 38)  # past Monday 00:10 as above
    # What the panel's operations, reports and launch pages list: an incident opened and
    # cleared (the kill switch for five minutes), the daily and weekly reports, a backup.
    alerts = api.ctx.alerts
    assert alerts is not None
    kill = {"reason": "drill"}
    assert api.post("/api/v1/admin/kill-switch", kill).status_code == 200
    api.ops.set(api.clock.now_ms())
    api.call(alerts.evaluate(api.ops.now_ms()))
    api.trade(2 * 5)
    api.ops.set(api.clock.now_ms())
    assert api.post("/api/v1/admin/kill-switch/release", kill).status_code == 200
    api.call(alerts.evaluate(api.ops.now_ms()))
    for kind in ("daily", "weekly"):
        api.call(run_report(api.session.db, api.settings, api.clock, None, kind, api.ops.now_ms()))
    _last[0] = max(api.clock.now_ms(), api.ops.now_ms())
    read: dict[str, str] = {}
    for who in ("admin", "bob"):
        for path in _api_gets(api):
            r = api.get(path, who=who)
            if r.status_code == 200 and "json" in r.headers.get("content-type", "json"):
                read[f"{who} {path}"] = r.text
        client = sign_in(api, who)
        for page in _panel_pages(api):
            r = client.get(page)
            if r.status_code == 200:
                read[f"{who} {page}"] = r.text
    assert len(read) > 30, sorted(read)
    _check(read)
    counted = {where: times_in(text) for where, text in read.items()}
    assert sum(counted.values()) > 500, counted
