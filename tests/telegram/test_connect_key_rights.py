"""``/connect binance`` reads the key's restrictions from the exchange (the simulator answering
Binance's ``GET /sapi/v1/account/apiRestrictions``) through the real python-telegram-bot client:
a key that can withdraw is refused in plain words and nothing is stored; a key not pinned to an
IP address is saved with a warning; a safe key is saved without one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from rampart.store import models as m
from rampart_testkit.simulator import start_simulator
from tests.telegram.conftest import ALICE, TgService

WITHDRAWER = ("W" * 63 + "1", "w" * 63 + "1")
UNPINNED = ("U" * 63 + "2", "u" * 63 + "2")
SAFE = ("S" * 63 + "3", "s" * 63 + "3")


def _stored(svc: TgService) -> int:
    with svc.session.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(m.credentials)).scalar())


async def _connect(svc: TgService, key: tuple[str, str]) -> str:
    await svc.send(ALICE, "/connect binance")
    await svc.send(ALICE, key[0])
    return (await svc.send(ALICE, key[1]))[-1]


def test_a_key_that_can_withdraw_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        accounts = [
            {"balances": {"USDT": "100"}, "key": k, "secret": s, **rights}
            for (k, s), rights in (
                (WITHDRAWER, {"withdrawals": True}),
                (UNPINNED, {"ip_restrict": False}),
                (SAFE, {}),
            )
        ]
        async with (
            start_simulator(symbols=["BTC/USDT"], accounts=accounts) as sim,
            TgService(tmp_path, api_url=sim.url) as svc,
        ):
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            refused = await _connect(svc, WITHDRAWER)
            assert refused.startswith("That key can withdraw funds: turn off withdrawals")
            assert "Nothing was saved" in refused and "Traceback" not in refused
            assert _stored(svc) == 0
            warned = await _connect(svc, UNPINNED)
            assert "works and is saved encrypted" in warned
            assert "not restricted to an IP address" in warned
            assert _stored(svc) == 1
            await svc.send(ALICE, "/disconnect")
            safe = await _connect(svc, SAFE)
            assert "works and is saved encrypted" in safe and "IP address" not in safe
            assert _stored(svc) == 1

    asyncio.run(scenario())


def test_a_key_whose_restrictions_cannot_be_read_is_refused_unless_accepted(
    tmp_path: Path,
) -> None:
    """/connect once stored a key when the exchange did not answer its restrictions, so a
    key that can withdraw got through. Refused now, nothing stored, unless the operator set
    venue.accept_unread_key_rights (then saved with the warning to look)."""

    async def scenario(accept: bool) -> tuple[str, int]:
        accounts = [{"balances": {"USDT": "100"}, "key": WITHDRAWER[0], "secret": WITHDRAWER[1],
                     "withdrawals": True}]  # fmt: skip
        async with start_simulator(symbols=["BTC/USDT"], accounts=accounts) as sim:
            sim.faults.add("error", status=500, paths=["/sapi/v1/account/apiRestrictions"])
            svc = TgService(tmp_path / str(accept), api_url=sim.url)
            svc.settings.venue.accept_unread_key_rights = accept
            async with svc:
                await svc.send(ALICE, "/start")
                await svc.press(ALICE, "I accept")
                return await _connect(svc, WITHDRAWER), _stored(svc)

    refused, stored = asyncio.run(scenario(False))
    assert refused.startswith("I could not read this key's restrictions from binance")
    assert "Nothing was saved" in refused and "Traceback" not in refused
    assert stored == 0
    accepted, stored = asyncio.run(scenario(True))
    assert "works and is saved encrypted" in accepted and "withdrawals are off" in accepted
    assert stored == 1
