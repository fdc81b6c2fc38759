"""A key and its secret pasted in one message, in any form people paste them
(a space, a line each, labelled "key: … secret: …", JSON): deleted and warned, whether a
/connect waits for them (then taken as both) or not; never quoted, logged or kept in the inbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rampart.telegram.connect_cmds import BOTH_DELETED, STRAY_KEY
from rampart.telegram.keycheck import key_pair, looks_like_secret
from tests.telegram.conftest import ALICE, TgService
from tests.telegram.test_connect_keys import (
    API_KEY,
    SECRET,
    _checker,
    _message_id,
    _registered,
    _stored,
)

FORMS = [
    f"{API_KEY} {SECRET}",
    f"{API_KEY}\n{SECRET}",
    f"key: {API_KEY}\nsecret: {SECRET}",
    f"API Key={API_KEY}, Secret Key={SECRET}",
    f'{{"apiKey": "{API_KEY}", "secret": "{SECRET}"}}',
]


@pytest.mark.parametrize("pasted", FORMS)
def test_every_form_is_a_pair_and_a_secret(pasted: str) -> None:
    assert key_pair("binance", pasted) == (API_KEY, SECRET)
    assert looks_like_secret(pasted)


def test_a_pair_is_deleted_and_warned_with_or_without_a_connect_waiting(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            checked: list[tuple[str, str, str]] = []
            svc.bot.check_key = _checker(checked)
            await _registered(svc, ALICE)
            for pasted in FORMS[:3]:
                update_id = svc.api.push_text(ALICE, pasted)
                message_id = _message_id(svc, update_id)
                await svc.until(lambda u=update_id: svc.bot.processed >= u)
                assert (ALICE, message_id) not in svc.api.messages
                assert svc.api.texts(ALICE)[-1] == STRAY_KEY
            assert _stored(svc) == 0
            for pasted in FORMS[2:]:
                await svc.send(ALICE, "/connect binance")
                update_id = svc.api.push_text(ALICE, pasted)
                message_id = _message_id(svc, update_id)
                await svc.until(lambda u=update_id: svc.bot.processed >= u)
                assert (ALICE, message_id) not in svc.api.messages
                answer = svc.api.texts(ALICE)[-1]
                assert answer.startswith(BOTH_DELETED) and "saved encrypted" in answer
            assert checked == [("binance", API_KEY, SECRET)] * 3
            said = repr(svc.api.calls) + svc.log_path.read_text()
            assert API_KEY not in said and SECRET not in said
            assert _stored(svc) == 1

    asyncio.run(scenario())
