"""Two investors and the operator at once: their commands and taps interleave in
one stream of updates while candles run on the same loop, as in the service. Each investor
sees only their own figures, a double-tapped Confirm acts once, nobody is answered "Something
went wrong", Telegram refuses no call, and the operator's pause and kill reach the account
they name."""

from __future__ import annotations

import asyncio
import itertools
import re
from decimal import Decimal
from pathlib import Path

from rampart.domain.events import OrderUpdated, PositionChanged
from rampart.domain.orders import OrderRole
from rampart.telegram.text import qty
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TgService

FAILED = "Something went wrong"
A_ACC, B_ACC = f"tg-{ALICE}", f"tg-{BOB}"


class Candles:
    """The engine's loop: one candle at a time under the operator lock, yielding between."""

    def __init__(self, svc: TgService) -> None:
        self.svc = svc
        self.done = 0
        self.stop = asyncio.Event()
        self._go = asyncio.Event()
        self._go.set()
        self._parked = asyncio.Event()

    async def run(self) -> None:
        try:
            for candle in itertools.islice(self.svc.candles, 5000):
                if self.stop.is_set():
                    return
                if not self._go.is_set():
                    self._parked.set()
                    await self._go.wait()
                    self._parked.clear()
                self.svc.clock.set(candle.close_ts)
                async with self.svc.lock:
                    await self.svc.session.process(candle)
                self.done += 1
                await asyncio.sleep(0)
        finally:
            self._parked.set()  # no candle will come: as good as held

    async def hold(self) -> None:
        """Stop between two candles; returns once no candle is being processed."""
        self._go.clear()
        await asyncio.wait_for(self._parked.wait(), timeout=30)

    def release(self) -> None:
        self._go.set()


def _equities(texts: list[str]) -> list[float]:
    return [
        float(m.group(1).replace(",", ""))
        for t in texts
        if t.startswith("<b>Portfolio</b>")
        for m in [re.search(r"Equity ([\d,.]+) USDT", t)]
        if m
    ]


def _position_lines(texts: list[str]) -> set[tuple[str, str]]:
    return {
        (sym, q)
        for t in texts
        if t.startswith("<b>Portfolio</b>")
        for sym, q in re.findall(r"<b>([A-Z]+/USDT)</b> ([\d.]+) @", t)
    }


def _held(svc: TgService) -> dict[str, set[tuple[str, str]]]:
    held: dict[str, set[tuple[str, str]]] = {A_ACC: set(), B_ACC: set()}
    for e in svc.events:
        if isinstance(e, PositionChanged) and e.position is not None and e.account_id in held:
            held[e.account_id].add((e.symbol, qty(e.position.qty)))
    return held


def _vibe_entries(svc: TgService, account_id: str) -> set[str]:
    """Client ids of every entry order a proposal placed (from the bus: an account's recent
    orders are bounded and candles keep running)."""
    return {
        e.order.client_id
        for e in svc.events
        if isinstance(e, OrderUpdated)
        and e.order.account_id == account_id
        and e.order.strategy == "vibe"
        and e.order.role is OrderRole.ENTRY
    }


def _button(svc: TgService, uid: int, label: str, after: int) -> tuple[str, int]:
    """The newest ``label`` button sent to ``uid`` since call ``after``."""
    data, message_id = svc.api.button(uid, label)
    sent = [i for i, (m, p) in enumerate(svc.api.calls) if m == "sendMessage"]
    assert sent and sent[-1] >= after
    return data, message_id


def _open(svc: TgService) -> bool:
    accounts = svc.session.engine.accounts
    return any(accounts[a].ledger.positions for a in (A_ACC, B_ACC))


async def _held_open(svc: TgService, candles: Candles) -> None:
    """Candles held between two, at a moment an investor's account holds a position (their
    agents open and close several in a run)."""
    while True:
        await svc.until(lambda: _open(svc), limit_s=60)
        await candles.hold()
        if _open(svc):
            return
        candles.release()  # the candle in progress closed it: wait for the next one


async def _all_handled(svc: TgService, last: int, candles: Candles) -> None:
    await svc.until(lambda: svc.bot.processed >= last, limit_s=60)
    assert candles.done > 0 and not candles.stop.is_set()


def test_two_investors_and_the_operator_at_once_while_candles_run(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB, "aggressive", "3000")
            engine = svc.session.engine
            candles = Candles(svc)
            api = svc.api

            # 1. Both ask for a proposal at once (before the agents hold every symbol).
            mark = len(api.calls)
            api.push_text(ALICE, "/vibe long BTC, tight stop, 2% target")
            last = api.push_text(BOB, "/vibe long ETH, tight stop, 2% target")
            await svc.until(lambda: svc.bot.processed >= last)
            running = asyncio.create_task(candles.run())

            # 2. Everyone at once while candles run: portfolios, the operator's status.
            for uid, text in [
                (ALICE, "/portfolio"),
                (BOB, "/portfolio"),
                (OPERATOR, "/status"),
                (BOB, "/portfolio"),
                (ALICE, "/portfolio"),
            ]:
                last = api.push_text(uid, text)
            await _all_handled(svc, last, candles)
            a_data, a_msg = _button(svc, ALICE, "Confirm", mark)
            b_data, b_msg = _button(svc, BOB, "Confirm", mark)
            # Both ask once more at a moment an account holds a position, so the check of the
            # positions shown at the end always has one to compare (portfolios asked only
            # while both were flat compared nothing, and failed).
            await _held_open(svc, candles)
            api.push_text(ALICE, "/portfolio")
            last = api.push_text(BOB, "/portfolio")
            await _all_handled(svc, last, candles)
            candles.release()

            # 3. Both confirm twice, interleaved with each other's and the operator's commands.
            taps = {
                "a1": api.push_button(ALICE, a_data, a_msg),
                "b1": api.push_button(BOB, b_data, b_msg),
            }
            api.push_text(OPERATOR, "/portfolio")
            taps["a2"] = api.push_button(ALICE, a_data, a_msg)
            api.push_text(ALICE, "/portfolio")
            taps["b2"] = api.push_button(BOB, b_data, b_msg)
            last = api.push_text(BOB, "/portfolio")
            await _all_handled(svc, last, candles)
            a_shown = api.messages[(ALICE, a_msg)][0]
            b_shown = api.messages[(BOB, b_msg)][0]
            for shown in (a_shown, b_shown):
                assert shown.startswith(("Order placed", "Not placed")), shown
            # Acted once each: the second tap shows the first's outcome and places nothing.
            assert len(_vibe_entries(svc, A_ACC)) == (1 if "Order placed" in a_shown else 0)
            assert len(_vibe_entries(svc, B_ACC)) == (1 if "Order placed" in b_shown else 0)
            assert api.answer(taps["a2"]) == a_shown and api.answer(taps["b2"]) == b_shown

            # 4. The operator pauses Bob, Bob tries to lift it, Alice closes, all at once.
            mark = len(api.calls)
            api.push_text(OPERATOR, "/pause_user tg-102 checking the exchange key")
            resume = api.push_text(BOB, "/resume")
            api.push_text(ALICE, "/close all")
            last = api.push_text(BOB, "/portfolio")
            await _all_handled(svc, last, candles)
            assert engine.accounts[B_ACC].paused and not engine.accounts[A_ACC].paused
            assert engine.controls.paused_by[B_ACC] == f"telegram-operator:{OPERATOR}"
            assert resume and any("operator" in t for t in api.texts(BOB)[-3:])

            has_close = any(
                b["text"] == "Confirm"
                for m, p in api.calls[mark:]
                if m == "sendMessage" and p.get("chat_id") == ALICE
                for row in (p.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            )
            # /close all asks to confirm, or says there is nothing to close (whichever the
            # candles left).
            flat = any(t.startswith("You hold no positions;") for t in api.texts(ALICE))
            assert has_close or flat
            if has_close:
                c_data, c_msg = api.button(ALICE, "Confirm")
                first = api.push_button(ALICE, c_data, c_msg)
                api.push_text(OPERATOR, "/kill concurrency drill")
                second = api.push_button(ALICE, c_data, c_msg)
            else:
                api.push_text(OPERATOR, "/kill concurrency drill")
            api.push_text(ALICE, "/portfolio")
            last = api.push_text(BOB, "/portfolio")
            await _all_handled(svc, last, candles)
            assert engine.controls.global_kill
            if has_close:
                outcome = api.messages[(ALICE, c_msg)][0]
                assert api.answer(second) == outcome and api.answer(first) == ""
            last = api.push_text(OPERATOR, "/unkill drill over")
            await _all_handled(svc, last, candles)
            assert not engine.controls.global_kill
            assert engine.accounts[B_ACC].paused  # the kill's release leaves Bob's pause

            candles.stop.set()
            await asyncio.wait_for(running, timeout=30)
            assert candles.done >= 3  # candles ran between the commands

            # Nobody was told something went wrong; Telegram refused nothing.
            for uid in (ALICE, BOB, OPERATOR):
                assert not any(FAILED in t for t in api.texts(uid)), uid
            # Telegram refused nothing but an edit into what a message already showed (a tap
            # queued behind the one that acted), which the bot takes as done.
            refused = [(m, d) for m, _, d in api.refused if "message is not modified" not in d]
            assert refused == []
            assert "telegram_command_failed" not in svc.log_path.read_text()
            # Each investor saw only their own account.
            alice_text, bob_text = "\n".join(api.texts(ALICE)), "\n".join(api.texts(BOB))
            assert B_ACC not in alice_text and A_ACC not in bob_text
            a_cap, b_cap = (engine.accounts[a].ledger.capital for a in (A_ACC, B_ACC))
            assert a_cap == Decimal(5000) and b_cap == Decimal(3000)
            for uid, lo, hi in ((ALICE, 4000, 6000), (BOB, 2400, 3600)):
                equities = _equities(api.texts(uid))
                assert len(equities) >= 4 and all(lo < e < hi for e in equities), (uid, equities)
            # Every position line shown is one that account held (quantities are exact).
            held, seen = _held(svc), 0
            for uid, account in ((ALICE, A_ACC), (BOB, B_ACC)):
                shown = _position_lines(api.texts(uid))
                assert shown <= held[account], (uid, shown - held[account])
                seen += len(shown)
            assert seen > 0, "no portfolio showed a position: nothing was compared"

    asyncio.run(scenario())
