"""The operator chat's copy of a worker's money notice: a worker has no bot, so when
one of its shards finds money moved outside Rampart (here: reconciliation adjusting a position
to the venue's), the operator's copy goes into the notices outbox with the investor's; the
``rampart serve`` holding the ops lease sends it to the operator chat through
python-telegram-bot and the Bot API stand-in: once, with the text ``rampart run`` sends, even
when the shard's next owner tells the same event again. The same server's fleet alerts reach
the operator chat through its bot too (the worker stops: ``NoWorkerRunning``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rich.console import Console

from rampart.clock import FeedClock, SimClock, WallClock
from rampart.domain.events import ReconciliationRepaired
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.notices.investor_notices import EXCHANGE, KINDS
from rampart.notices.money_notices import MoneyNotices, notice_for
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox_writer import OutboxWriter
from rampart.operator import investors as inv_store
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.serve import Server
from rampart_testkit.botapi.standin import FakeBotApi
from tests.scale.nats_server import NatsServer
from tests.scale.test_serve import run_server, serving
from tests.scale.test_worker_notices import (
    ACCOUNT,
    INVESTOR,
    OPERATOR,
    outbox_rows,
    until,
    with_bot,
)
from tests.scale.test_workers import (
    HANG_GUARD_S,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
)


def test_a_workers_money_notice_reaches_the_operator_chat_once(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    clock = SimClock(1_000_000)
    console = Console(quiet=True)
    bot_api = FakeBotApi()
    bot_api.limits = False
    bot_api.meet(INVESTOR)
    bot_api.meet(OPERATOR)

    async def scenario() -> None:
        await bot_api.start()
        settings = with_bot(settings_for(nats.url, db_url), bot_api.url)
        await publish(settings, 300)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        worker = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        trading = await started(worker)
        writer = worker.notices
        assert writer is not None
        server: Server | None = None
        serving_task: asyncio.Task[None] | None = None
        try:
            await inv_store.save(
                worker.db,
                inv_store.Investor(
                    INVESTOR, ACCOUNT, accepted_disclaimer=True, capital=Decimal(1000), mode="paper"
                ),
            )
            # The investor keeps only the notices of money moved outside Rampart.
            others = [kind for kind in KINDS if kind != EXCHANGE]
            await NotifyPrefs(worker.db).set(ACCOUNT, others, False, clock.now_ms())
            await until(lambda: worker.caught_up, "the market history read")
            await heartbeat(sender, worker)
            await worker.lease_round()
            await worker.lease_round()
            [trader] = [t for t in worker.traders.values() if t.owns(ACCOUNT)]

            # Reconciliation on the shard finds the venue holding more than the books.
            event = ReconciliationRepaired(
                ts=clock.now_ms(),
                account_id=ACCOUNT,
                kind="position_adjusted",
                client_id=None,
                symbol="BTC/USDT",
                detail="BTC/USDT: the exchange holds 0.5, the books had 0.4; the difference "
                "was booked at 60,000 USDT.",
            )
            told = notice_for(event)
            assert told is not None
            trader.session.bus.publish(event)
            assert await writer.flush() == 2  # the investor's notice and the operator's copy
            # The shard's next owner tells the same event again: nothing more is written.
            again = OutboxWriter(worker.db, clock)
            MoneyNotices(lambda: None, again.put, operators=again.put)(event)
            assert await again.flush() == 0
            rows = [(a, k) for a, k, _sent in outbox_rows(worker.db)]
            assert rows == [(ACCOUNT, EXCHANGE), (ACCOUNT, "operator")]

            on = {"enabled": True, "evaluate_every_s": 0.05}
            alerting = settings.alerts.model_copy(update=on)
            server = Server(
                serving(with_bot(settings, bot_api.url), 5.0).model_copy(
                    update={"alerts": alerting}
                ),
                console,
                ops_clock=FeedClock(clock, WallClock()),
                install_signals=False,
                scheduler=False,
            )
            serving_task, _headers = await run_server(server, clock.now_ms())
            # The server collects the rows every scale.renew_every_s on its clock: time moves
            # on until it has (its outbox may start after any one moment the test picks).
            async with asyncio.timeout(HANG_GUARD_S):
                while not all(sent for _a, _k, sent in outbox_rows(worker.db)):
                    clock.advance(500)
                    await asyncio.sleep(0.05)
            # The operator's chat also gets incidents ("[P2] FIRING AnomalyDetected …": the
            # repair moved the books with no fill, which the anomaly watch may flag first):
            # the money notice's copy is what is counted here.
            told_texts = [t for t in bot_api.texts(OPERATOR) if not t.startswith("[P")]
            copies = [t for t in told_texts if ACCOUNT in t]
            assert copies == [told.operator]  # once, the text rampart run sends
            assert [t for t in bot_api.texts(INVESTOR) if "compared" in t] == [told.investor]
            assert server.holds_ops

            # The worker stops renewing: past 30 s without one, the page reaches the operator.
            # It is stopped here, not left running: its lease keeper heartbeats every half
            # second of wall time at the moved clock's time, and a heartbeat between the two
            # clock moves below cleared the condition the page waits on (a flake under load).
            worker.stop.set()
            await trading
            alerts = server.alerts
            assert alerts is not None
            clock.advance(7_000)
            seen = lambda: "NoWorkerRunning" in {*alerts.pending, *alerts.active}  # noqa: E731
            await until(seen, "the condition seen")
            clock.advance(31_000)
            await until(
                lambda: any("No worker is running" in t for t in bot_api.texts(OPERATOR)),
                "the page in the operator chat",
            )
        finally:
            if server is not None and serving_task is not None:
                server.stop.set()
                await serving_task
            worker.stop.set()
            await trading
            await worker.aclose()
            await nc.close()
            await bot_api.close()

    asyncio.run(scenario())
