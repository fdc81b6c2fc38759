"""Arguments are never silently ignored: unknown words are refused with the
usage line; amounts are read strictly and a large withdrawal asks first; /vibe proposes only
what the profile allows and says plainly why it cannot; states are explained where shown."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rampart.operator import investors as inv_store
from tests.telegram.conftest import ALICE, OPERATOR, TgService


def test_extra_words_are_refused_with_the_usage_line(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE)
            acct = svc.session.engine.accounts["tg-101"]
            refused = await svc.send(ALICE, "/pause tg-101")
            assert refused == [
                "/pause takes nothing after it; I did not act on 'tg-101'. Usage: /pause"
            ]
            assert not acct.paused
            for command, usage in {
                "/resume now": "Usage: /resume",
                "/portfolio tg-102": "Usage: /portfolio",
                "/why tg-102": "Usage: /why",
                "/help me": "Usage: /help",
                "/demo please": "Usage: /demo",
                "/risk moderate aggressive": "Usage: /risk",
                "/mode paper live": "Usage: /mode",
                "/invest 300 now": "Usage: /invest AMOUNT",
                "/close ETH BTC": "Usage: /close",
                "/close": "Usage: /close",
                "/close DOGE": "not 'DOGE'",
                "/allow ETH BTC": "Usage: /allow",
                "/connect paper binance": "Usage: /connect",
                "/disconnect all": "Usage: /disconnect",
            }.items():
                got = await svc.send(ALICE, command)
                assert len(got) == 1 and usage in got[0], (command, got)
            assert not acct.paused and acct.spec.capital == 300 and acct.spec.profile == "moderate"

    asyncio.run(scenario())


def test_amounts_are_strict_and_a_large_withdrawal_asks_first(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "12000")
            acct = svc.session.engine.accounts["tg-101"]
            for raw in ("1e3", "1E3", "12_000", "0x10", "inf", "NaN", "1,2", "+500"):
                got = await svc.send(ALICE, f"/invest {raw}")
                assert "not an amount written plainly" in got[0], (raw, got)
                assert "Usage: /invest AMOUNT" in got[0]
            assert acct.spec.capital == 12000

            # 12,000 -> 1,000 takes out 92 %: nothing moves before Confirm, and Cancel keeps it.
            ask = await svc.send(ALICE, "/invest 1,000")
            assert "That takes 11,000.00 USDT out of your 12,000.00 USDT capital (92%)" in ask[0]
            assert acct.spec.capital == 12000
            assert "nothing was placed" in (await svc.press(ALICE, "Cancel"))[0]
            assert acct.spec.capital == 12000
            await svc.send(ALICE, "/invest 1000")
            done = (await svc.press(ALICE, "Confirm"))[0]
            assert "Capital set to 1,000.00 USDT (11,000.00 USDT taken out" in done
            assert acct.spec.capital == 1000
            # A small change goes at once, and on paper it says the money is virtual.
            small = (await svc.send(ALICE, "/invest 900"))[0]
            assert "Capital set to 900.00 USDT" in small and "virtual money" in small
            assert acct.spec.capital == 900

    asyncio.run(scenario())


def test_paper_invest_says_the_money_is_virtual_after_an_exchange_key(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None
            # As /connect binance leaves it on a paper service (the key proven and kept).
            await inv_store.save(svc.session.db, inv.with_(mode="binance"))
            reply = (await svc.send(ALICE, "/invest 300"))[0]
            assert "virtual money" in reply and "Binance key is only kept" in reply

    asyncio.run(scenario())


def test_vibe_proposes_only_what_the_profile_allows(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "5000")
            acct = svc.session.engine.accounts["tg-101"]
            low = await svc.send(ALICE, "/vibe long BTC 3% stop 2% target")
            assert low == [
                "A 2% target over a 3% stop is reward:risk 0.67; your moderate profile needs "
                "at least 1.2. Ask for a target of 3.6% or more."
            ]
            assert svc.bot.proposals == {}
            short = (await svc.send(ALICE, "/vibe short sol 10x"))[0]
            assert "I cannot do a short and 10x leverage" in short
            assert "no shorts, no leverage" in short and "I trade only BTC, ETH" in short
            assert "Name a coin" not in short
            assert "leverage" in (await svc.send(ALICE, "/vibe long BTC with 5x leverage"))[0]
            # A proposal the risk engine would refuse on Confirm is not offered at all.
            await svc.send(OPERATOR, "/pause_user tg-101 maintenance")
            paused = (await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target"))[0]
            assert paused.startswith("I cannot propose that trade now: Trading is paused")
            assert svc.bot.proposals == {}
            await svc.operator.resume_account("tg-101", "ops", "done")
            ok = (await svc.send(ALICE, "/vibe long BTC 2% stop 3% target"))[0]
            assert "Proposed trade" in ok and "reward:risk 1.50" in ok
            assert acct.spec.profile == "moderate"

    asyncio.run(scenario())


def test_states_are_explained_and_kill_says_who_and_since(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE)
            acct = svc.session.engine.accounts["tg-101"]
            acct.close_only = "the exchange reported an order Rampart did not place"
            shown = (await svc.send(ALICE, "/portfolio"))[0]
            assert "(reducing" in shown
            assert "<i>Reducing</i> means closing only: no new positions for now" in shown
            assert "the exchange reported an order" in shown
            acct.close_only = ""

            first = (await svc.send(OPERATOR, "/kill exchange outage"))[0]
            assert "Kill switch engaged" in first
            again = await svc.send(OPERATOR, "/kill exchange outage")
            assert again[0].startswith("The kill switch is already engaged since ")
            assert f"by telegram-operator:{OPERATOR}: exchange outage. Nothing changed" in again[0]
            assert svc.session.engine.controls.global_kill
            released = (await svc.send(OPERATOR, "/unkill fixed"))[0]
            assert "released" in released
            assert svc.session.engine.controls.global_actor == ""
            assert acct.spec.capital == Decimal(300)

    asyncio.run(scenario())
