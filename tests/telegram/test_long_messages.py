"""Long messages: an answer over Telegram's 4,096 characters arrives in
pieces cut at line ends (the operator's /users with 1,000 investors), and an over-long argument
is never echoed back (which made the answer too long to send, so the user saw nothing)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import sqlalchemy as sa

from rampart.store import models as m
from rampart.telegram.messenger import LIMIT
from tests.telegram.conftest import ALICE, OPERATOR, TgService

MANY = 1_000
FIRST_ID = 40_000
LONG = "Z" * 4_000
"""One word as long as a Telegram message allows, less the command."""

INVESTOR_COMMANDS = [
    "/risk",
    "/invest",
    "/mode",
    "/connect",
    "/close",
    "/allow",
    "/notify off",
    "/pause",
    "/trades",
    "/daily",
    "/weekly",
    "/report",
    "/vibe long",
    "/why",
]
OPERATOR_COMMANDS = ["/ack", "/incident_eta", "/pause_user", "/hold release", "/daily"]


def test_users_with_a_thousand_investors_arrives_in_pieces_cut_at_line_ends(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, limits=True) as svc:
            rows = [
                {
                    "telegram_id": uid,
                    "account_id": f"tg-{uid}",
                    "accepted_disclaimer": True,
                    "profile": "moderate",
                    "capital": 0,
                    "mode": "",
                    "created_at": 0,
                }
                for uid in range(FIRST_ID, FIRST_ID + MANY)
            ]
            with svc.session.db.begin() as conn:
                conn.execute(sa.insert(m.investors), rows)
            pieces = await svc.send(OPERATOR, "/users")
            assert len(pieces) >= 5, [p[:60] for p in pieces]
            assert all(len(p) <= LIMIT for p in pieces)
            assert not svc.api.refusals() and svc.api.limited == []
            lines = [line for p in pieces for line in p.split("\n")]
            assert lines[0] == "<b>Investors</b>"
            # Every investor once, each on a whole line (no line cut between two pieces).
            listed = [line for line in lines[1:] if line]
            assert len(listed) == MANY
            assert all(re.fullmatch(r"tg-\d{5}: not trading \(new\)", line) for line in listed)
            assert {line.split(":")[0] for line in listed} == {
                f"tg-{uid}" for uid in range(FIRST_ID, FIRST_ID + MANY)
            }

    asyncio.run(scenario())


def test_an_over_long_argument_is_answered_and_never_echoed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE)
            for uid, commands in ((ALICE, INVESTOR_COMMANDS), (OPERATOR, OPERATOR_COMMANDS)):
                for command in commands:
                    answer = await svc.send(uid, f"{command} {LONG}")
                    assert answer, f"{command}: no answer reached the user"
                    echoed = [a[:200] for a in answer if "z" * 50 in a.lower()]
                    assert not echoed, (command, echoed)
                    assert not any("Something went wrong" in a for a in answer), command
            assert svc.api.refusals() == []

    asyncio.run(scenario())
