"""The Bot API stand-in forgets confirmed updates as Telegram does: a bot that starts again
without an offset is given only what no getUpdates confirmed. Giving it every update from the
first (as the stand-in did) made a service restarted in a soak answer again a command whose
inbox row the store had refused during its outage, though Telegram would never have given that
command twice."""

from __future__ import annotations

import asyncio

from telegram import Bot

from rampart_testkit.botapi.shapes import TOKEN
from rampart_testkit.botapi.standin import FakeBotApi


async def _ids(bot: Bot, offset: int | None = None) -> list[int]:
    return [u.update_id for u in await bot.get_updates(offset=offset, timeout=0)]


def test_a_confirmed_update_is_never_given_again() -> None:
    async def scenario() -> tuple[list[int], list[int], list[int], list[int]]:
        api = await FakeBotApi().start()
        try:
            first, second, third = (api.push_text(7001, f"/help {n}") for n in range(3))
            async with Bot(TOKEN, base_url=f"{api.url}/bot") as before:
                fetched = await _ids(before)
                confirming = await _ids(before, offset=second + 1)  # first and second confirmed
            async with Bot(TOKEN, base_url=f"{api.url}/bot") as restarted:
                again = await _ids(restarted)  # no offset: the earliest unconfirmed on
                api.push_text(7001, "/portfolio")
                later = await _ids(restarted, offset=third)
            return fetched, confirming, again, later
        finally:
            await api.close()

    fetched, confirming, again, later = asyncio.run(scenario())
    assert fetched == [1, 2, 3]
    assert confirming == [3]
    assert again == [3]
    assert later == [3, 4]
