"""Notices end to end: each starts where the service starts it, not by publishing
an event by hand. The exchange refuses a bracket leg (the engine's own protection path), the
operator steps the rollout back with /rollback (the rollout controller), reconciliation's
"money moved outside Rampart" notices (the subscriber the service wires); each reaches the
investor through the durable outbox, is switched with ``/notify`` and survives a restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from rampart.api.schemas import PositionOut
from rampart.domain.errors import VenueError
from rampart.domain.events import ReportUnexplained
from rampart.domain.money_format import price
from rampart.domain.orders import Order
from rampart.notices.money_notices import MoneyNotices
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.store.models import notify as mn
from rampart.telegram.rollout_cmds import _desk
from rampart.wiring.notices import money_notices
from tests.telegram.conftest import ALICE, BOB, OPERATOR
from tests.telegram.notices_support import DrivenClock, NoticeService
from tests.telegram.test_notices import ACCOUNT, _candles_until, _entry_filled

REFUSAL = "Stop orders are not accepted on this market right now."


def _kinds(svc: NoticeService) -> list[tuple[str, str]]:
    c = mn.notify_outbox.c
    with svc.session.db.connect() as conn:
        rows = conn.execute(sa.select(c.account_id, c.kind).order_by(c.id)).all()
    return [(str(a), str(k)) for a, k in rows]


def test_the_exchange_refusing_a_bracket_leg_tells_how_the_position_is_guarded(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            venue = svc.session.engine.venue
            tries: list[tuple[Order, Order]] = []

            async def refuse(stop: Order, take: Order) -> None:
                tries.append((stop, take))
                raise VenueError(REFUSAL)

            # The exchange refuses every stop-loss/take-profit pair (as tests/trading do).
            venue.submit_oco = refuse  # type: ignore[method-assign]
            mark = len(svc.events)
            await _candles_until(svc, lambda: _entry_filled(svc, mark) and bool(tries))
            acct = svc.session.engine.accounts[ACCOUNT]
            (symbol,) = acct.ledger.positions
            assert symbol in acct.guarded  # the position monitor holds the stop
            (notice,) = await svc.delivered(ALICE, "refused the stop-loss")
            (position,) = svc.operator.views.positions(ACCOUNT)
            api = PositionOut.model_validate(position).model_dump(mode="json")
            assert f"your {symbol} position ({REFUSAL})" in notice
            assert "Rampart watches the price itself meanwhile" in notice
            tick = svc.session.engine.venue.instrument(symbol).tick_size
            sl, tp = (price(Decimal(api[k]), "", tick) for k in ("stop_loss", "take_profit"))
            assert f"stop-loss {sl} or the take-profit {tp}" in notice
            # Retried with backoff on later candles: still one notice, and only to the owner.
            for _ in range(20):
                await _candles_until(svc, lambda: True)
            await svc.drain()
            assert len(tries) > 1
            # One notice per position: the agent may close it and open another in 20 candles.
            per_position = [0]
            for text in svc.api.texts(ALICE):
                if "<b>Bought " in text:
                    per_position.append(0)
                elif "refused the" in text:
                    per_position[-1] += 1
            assert max(per_position) == 1 and per_position[0] == 0, per_position
            assert svc.notices(BOB, "refused the") == []
            assert (ACCOUNT, "brackets") in _kinds(svc)

    asyncio.run(scenario())


STAGES = {
    "enabled": True,
    "approval": "auto",
    "gates": [],
    "stages": [
        {"name": "narrow", "max_capital": "200", "min_duration_h": 0},
        {"name": "wide", "min_duration_h": 0},
    ],
}


def test_an_operators_rollback_tells_the_investor_it_limits(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path, extra={"rollout": STAGES}) as svc:
            # Every gate passes (there are none): the rollout moves on to 'wide'.
            moved = await _desk(svc.bot).controller.evaluate()
            assert moved.moved_to == "wide", moved.decision
            await svc.onboard(ALICE, "moderate", "300")  # over 'narrow''s 200
            await svc.onboard(BOB, "moderate", "150")  # within it
            answer = await svc.send(OPERATOR, "/rollback gate drill")
            assert "Rolled back to narrow; affected investors are told." in answer
            (stage,) = await svc.delivered(ALICE, "Only closing positions")
            assert "'narrow' rollout stage" in stage and "/invest 200 or less" in stage
            assert (ACCOUNT, "stage") in _kinds(svc)  # through the durable outbox
            await svc.drain()
            # Told once: not again as a breaker trip and the state it put the account in.
            assert len(svc.notices(ALICE, "Only closing positions")) == 1
            assert svc.notices(ALICE, "Safety breaker") == []
            assert svc.notices(BOB, "Only closing positions") == []
            # The investor can turn the kind off; the next stage change is then not told.
            await svc.send(ALICE, "/notify off stage")
            await _desk(svc.bot).controller.evaluate()  # back to 'wide': released
            await svc.drain()
            released = svc.notices(ALICE, "allows this account again")
            assert [t for t in released if t.startswith("The 'wide'")] == []
            # The state it means is still told as a 'breakers' notice (on unless turned off).
            assert [t for t in released if t.startswith("✅ Your account trades")] != []

    asyncio.run(scenario())


def test_money_moved_outside_rampart_goes_through_the_outbox_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB)
            # Wired as the service wires it: the investor through the outbox, the operator
            # chat directly.
            notices = money_notices(svc.session, svc.bot, svc.outbox)
            listing = (await svc.send(ALICE, "/notify"))[0]
            assert "<b>exchange</b>" in listing

            svc.api.flood[ALICE] = [3600]  # Telegram holds Alice's chat for an hour
            now = svc.session.engine.clock.now_ms()
            svc.session.bus.publish(ReportUnexplained(now, ACCOUNT, "rp-x-1-s", "BTC/USDT", "?"))
            await notices.flush()
            assert "rp-x-1-s" in svc.api.texts(OPERATOR)[-1]  # the operator's copy, at once
            for _ in range(200):
                if svc.api.flooded:
                    break
                svc.pace.advance(250)
                await asyncio.sleep(0.005)
            await svc.stop_outbox()  # the service stops before Telegram took it
            assert svc.notices(ALICE, "something Rampart cannot explain") == []
            svc.pace.advance(3_600_000)  # it starts again after Telegram's hour
            assert _kinds(svc) == [(ACCOUNT, "exchange")]

            # The next start delivers it, once, even if the same event is seen again.
            pace = DrivenClock()
            prefs = NotifyPrefs(svc.session.db).load()
            again = Outbox(svc.session.db, pace, lambda: svc.bot, prefs)
            stop = asyncio.Event()
            task = asyncio.create_task(again.run(stop, lambda: None, 0.05))
            MoneyNotices(lambda: svc.bot, again.put)(
                ReportUnexplained(now, ACCOUNT, "rp-x-1-s", "BTC/USDT", "?")
            )
            for _ in range(400):
                if again.idle() and svc.notices(ALICE, "something Rampart cannot explain"):
                    break
                pace.advance(250)
                await asyncio.sleep(0.005)
            for _ in range(10):
                pace.advance(1000)
                await asyncio.sleep(0.005)
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            (told,) = svc.notices(ALICE, "something Rampart cannot explain")
            assert "stops opening new positions" in told
            assert svc.notices(BOB, "something Rampart cannot explain") == []

            # /notify off exchange: the next one is not queued for Alice.
            svc.bot.outbox = again
            svc.bot.notify_prefs = prefs
            await svc.send(ALICE, "/notify off exchange")
            MoneyNotices(lambda: svc.bot, again.put)(
                ReportUnexplained(now + 1, ACCOUNT, "rp-x-2-s", "BTC/USDT", "?")
            )
            assert again.unsaved() == 0

    asyncio.run(scenario())
