"""Terms before money, as conversations with the bot: the terms are asked before
/connect (paper, an exchange key, a wallet) and /invest, accepted or declined with a button,
recorded with who accepted which version when, and asked again when the version changes. An
investor who declines keeps /demo and the read-only commands."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.operator import investors as inv_store
from rampart.operator import terms as terms_doc
from rampart.store.audit import AuditLog
from tests.telegram.conftest import ALICE, BOB, TgService

ASKED = "accept the terms"
LINKS = {
    "terms_url": "https://rampart.example/terms?v=1&lang=en",
    "privacy_url": "https://rampart.example/privacy",
}
CHANGED = "The terms changed since you accepted version 1.0"


async def _tap(svc: TgService, uid: int, data: str, message_id: int) -> list[str]:
    """Tap a button sent earlier (``svc.press`` taps the newest with its label)."""
    before = len(svc.api.texts(uid))
    svc.api.push_button(uid, data, message_id)
    target = len(svc.api.updates)
    await svc.until(lambda: svc.bot.processed >= target)
    return svc.api.texts(uid)[before:]


def _asked(reply: list[str]) -> bool:
    return len(reply) == 1 and "Terms of service and privacy policy" in reply[0]


def test_terms_are_asked_before_connect_and_invest_and_recorded_when_accepted(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            start = await svc.send(ALICE, "/start")
            assert (
                "Before you start" in start[0] and f"version {terms_doc.TERMS_VERSION}" in start[0]
            )
            declined = await svc.press(ALICE, "Decline")
            assert "You declined the terms" in declined[0]
            account = inv_store.account_id_for(ALICE)

            for command in ("/connect paper", "/connect", "/connect binance", "/invest 300"):
                reply = await svc.send(ALICE, command)
                assert _asked(reply) and ASKED in reply[0], (command, reply)
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.mode == "" and inv.capital == 0  # nothing moved
            assert ALICE not in svc.bot.pending  # no key was asked for
            assert account not in svc.session.engine.accounts
            assert not (await svc.operator.terms_status(account)).current

            svc.clock.set(svc.clock.now_ms() + 60_000)
            accepted = await svc.press(ALICE, "I accept")
            assert (
                f"Accepted: the terms and privacy policy (version {terms_doc.TERMS_VERSION})"
                in (accepted[0])
            )
            status = await svc.operator.terms_status(account)
            assert status.current and status.accepted is not None
            assert (status.accepted.actor, status.accepted.accepted_at) == (
                f"telegram:{ALICE}",
                svc.clock.now_ms(),
            )
            assert "Paper account connected" in (await svc.send(ALICE, "/connect paper"))[0]
            assert "Trading has started" in (await svc.send(ALICE, "/invest 300"))[0]
            assert account in svc.session.engine.accounts
            # Recorded once, by the facade.
            accepts = [
                e for e in AuditLog(svc.session.db).tail(50) if e.action == "operator.terms.accept"
            ]
            assert [(e.actor, e.target) for e in accepts] == [(f"telegram:{ALICE}", account)]

            # The usual path: /start's "I accept" takes the disclaimer and the terms at once.
            await svc.send(BOB, "/start")
            assert "Disclaimer accepted" in (await svc.press(BOB, "I accept"))[0]
            assert "Paper account connected" in (await svc.send(BOB, "/connect paper"))[0]

    asyncio.run(scenario())


def test_a_new_version_is_asked_again_before_money_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            old_button = svc.api.button(ALICE, "I accept")
            await svc.press(ALICE, "I accept")
            await svc.send(ALICE, "/connect paper")
            await svc.send(ALICE, "/invest 300")
            account = inv_store.account_id_for(ALICE)
            assert svc.session.engine.accounts[account].spec.capital == 300

            monkeypatch.setattr(terms_doc, "TERMS_VERSION", "1.1")
            reply = await svc.send(ALICE, "/invest 400")
            assert _asked(reply) and CHANGED in reply[0] and "version 1.1" in reply[0]
            assert svc.session.engine.accounts[account].spec.capital == 300  # unchanged
            reply = await svc.send(ALICE, "/connect solana")  # a wallet waits too
            assert _asked(reply) and ALICE not in svc.bot.pending

            # The button of the first /start offered 1.0: it accepts nothing now.
            stale = await _tap(svc, ALICE, *old_button)
            assert _asked(stale[-1:]) and "version 1.1" in stale[-1]
            assert not (await svc.operator.terms_status(account)).current

            assert "version 1.1" in (await svc.press(ALICE, "I accept"))[0]
            assert "Capital set to 400" in (await svc.send(ALICE, "/invest 400"))[0]
            assert svc.session.engine.accounts[account].spec.capital == 400

    asyncio.run(scenario())


def test_an_investor_who_declines_keeps_the_demo_and_reading(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, telegram=LINKS) as svc:
            (start,) = await svc.send(ALICE, "/start")
            # The operator's published pages, linked (the stand-in refuses HTML Telegram would).
            href = LINKS["terms_url"].replace("&", "&amp;")
            assert f'<a href="{href}">terms</a>' in start
            assert f'<a href="{LINKS["privacy_url"]}">privacy policy</a>' in start
            await svc.press(ALICE, "Decline")
            demo = await svc.send(ALICE, "/demo")
            assert any("Step 1 of 3" in text for text in demo)
            assert "Portfolio" in (await svc.send(ALICE, "/portfolio"))[0]
            assert "Nothing was refused" in (await svc.send(ALICE, "/why"))[0]
            terms = await svc.send(ALICE, "/terms")
            assert _asked(terms)
            # Declining again from /terms changes nothing and says what stays open.
            again = await svc.press(ALICE, "Decline")
            assert "/demo and the read-only commands" in again[0]
            assert _asked(await svc.send(ALICE, "/connect paper"))
            status = await svc.operator.terms_status(inv_store.account_id_for(ALICE))
            assert status.accepted is None
            declines = [
                e for e in AuditLog(svc.session.db).tail(50) if e.action == "operator.terms.decline"
            ]
            assert len(declines) == 2

    asyncio.run(scenario())


def test_a_link_that_is_no_web_address_is_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError, match="terms_url") as refused:
        load_settings(telegram={"terms_url": "javascript:alert(1)"})
    assert "must be a web address starting with https://" in str(refused.value)
