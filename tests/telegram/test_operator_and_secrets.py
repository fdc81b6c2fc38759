"""Operator commands (allow-listed only, refusals audited), the alert notifier, and an exchange
key's trip through /connect: checked on the simulator, deleted from the chat, encrypted at rest,
and nowhere in plain text afterwards."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from rampart.observability import incidents
from rampart.observability.notify import FIRING, Notice
from rampart.security.credential_store import load_credentials
from rampart.security.secrets import KeyBox
from rampart.store import models as m
from rampart_testkit.simulator import start_simulator
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TgService

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
WRONG_SECRET = "Zz" + SECRET[2:]


def test_operator_kill_flatten_closes_everything_and_investors_are_refused(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB, "moderate", "3000")
            await svc.trade(1500)
            engine = svc.session.engine
            assert any(a.ledger.positions for a in engine.accounts.values())
            refused = await svc.send(BOB, "/kill flatten")
            assert "operators only" in refused[0] and not engine.controls.global_kill
            assert "operators only" in (await svc.send(ALICE, "/users"))[0]
            assert "operator_command_refused" in svc.log_path.read_text()
            status = (await svc.send(OPERATOR, "/status"))[0]
            assert "Kill switch: off" in status and "Accounts: 2" in status
            users = (await svc.send(OPERATOR, "/users"))[0]
            assert "tg-101" in users and "tg-102" in users
            killed = (await svc.send(OPERATOR, "/kill market chaos flatten"))[0]
            assert "Kill switch engaged" in killed and engine.controls.global_kill
            await svc.trade(3)
            assert not any(a.ledger.positions for a in engine.accounts.values())
            assert "Kill switch: ENGAGED" in (await svc.send(OPERATOR, "/status"))[0]
            assert "released" in (await svc.send(OPERATOR, "/unkill all clear"))[0]
            assert not engine.controls.global_kill
            assert "Say which incident" in (await svc.send(OPERATOR, "/ack x"))[0]
            assert "No open incidents" in (await svc.send(OPERATOR, "/incidents"))[0]
            opened = incidents.open_incident(
                svc.session.db,
                key="lag",
                rule="EventLagHigh",
                severity="P1",
                summary="lag",
                value=1.0,
                threshold=0.0,
                labels={},
                now_ms=svc.clock.now_ms(),
            )
            await svc.send(OPERATOR, f"/ack {opened.id}")
            listed = (await svc.send(OPERATOR, "/incidents"))[0]
            assert f"#{opened.id} [P1] EventLagHigh (acknowledged by " in listed, listed
            paused = (await svc.send(OPERATOR, f"/pause_user {BOB}"))[0]
            assert "tg-102 paused" in paused and engine.accounts["tg-102"].paused
            help_text = (await svc.send(OPERATOR, "/help"))[0]
            assert "/kill" in help_text and "/kill" not in (await svc.send(ALICE, "/help"))[0]

    asyncio.run(scenario())


def test_alert_notices_reach_the_operator_chat(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            notice = Notice(
                FIRING,
                "DatabaseDown",
                "P0",
                "db",
                "The database is down.",
                None,
                1.0,
                ">",
                60_000,
                0,
                incident_id=7,
            )
            await svc.bot.notifier().send(notice)
            text = svc.api.texts(OPERATOR)[-1]
            assert "DatabaseDown" in text and "incident 7" in text

    asyncio.run(scenario())


def _everything_written(svc: TgService) -> bytes:
    files = [p for p in svc.tmp_path.iterdir() if p.name.startswith("rampart.")]
    return b"".join(p.read_bytes() for p in files)


def test_exchange_key_is_checked_deleted_encrypted_and_never_shown(tmp_path: Path) -> None:
    async def scenario() -> None:
        accounts = [{"balances": {"USDT": "1000"}, "key": API_KEY, "secret": SECRET}]
        async with (
            start_simulator(symbols=["BTC/USDT"], accounts=accounts) as sim,
            TgService(tmp_path, api_url=sim.url) as svc,
        ):
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            assert "API key" in (await svc.send(ALICE, "/connect binance"))[0]
            await svc.send(ALICE, API_KEY)
            wrong = await svc.send(ALICE, WRONG_SECRET)
            assert "refused that key" in wrong[-1]
            with svc.session.db.connect() as conn:
                assert (
                    conn.execute(sa.select(sa.func.count()).select_from(m.credentials)).scalar()
                    == 0
                )
            await svc.send(ALICE, "/connect binance")
            await svc.send(ALICE, API_KEY)
            saved = await svc.send(ALICE, SECRET)
            assert "works and is saved encrypted" in saved[-1] and API_KEY[-4:] in saved[-1]
            deleted = [p["message_id"] for meth, p in svc.api.calls if meth == "deleteMessage"]
            assert len(deleted) == 4  # both keys and both secrets, once read
            box = KeyBox.from_text(svc.settings.master_key)  # type: ignore[arg-type]
            creds = load_credentials(svc.session.db, box, "tg-101")
            assert creds is not None and creds.api_key == API_KEY and creds.secret == SECRET
            replies = repr(svc.api.calls)
            svc.session.checkpoint()
            written = _everything_written(svc)
            for secret in (API_KEY, SECRET, WRONG_SECRET):
                assert secret not in replies
                assert secret.encode() not in written
            assert "forgotten" in (await svc.send(ALICE, "/disconnect"))[0]
            assert load_credentials(svc.session.db, box, "tg-101") is None
            assert Decimal(1) > 0

    asyncio.run(scenario())
