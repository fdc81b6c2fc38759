"""The bot records operator commands, refused attempts and credential changes in the audit
log (and never a secret), on the local Bot API stand-in."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.store.audit import AuditLog
from tests.telegram.conftest import BOB, OPERATOR, TgService


def test_operator_commands_refusals_and_disconnect_are_audited(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(BOB, "/start")
            await svc.press(BOB, "I accept")
            refused = await svc.send(BOB, "/kill flatten")
            assert "operators only" in refused[0]
            killed = (await svc.send(OPERATOR, "/kill market chaos"))[0]
            assert "Kill switch engaged" in killed
            await svc.send(OPERATOR, "/unkill all clear")
            await svc.send(BOB, "/disconnect")

            log = AuditLog(svc.session.db)
            entries = [e for e in log.tail(200) if not e.action.startswith("order.")]
            seen = [(e.actor, e.action, e.target) for e in entries]
            assert (f"telegram:{BOB}", "telegram.refused", "kill") in seen
            op = f"telegram-operator:{OPERATOR}"
            # One entry per action: the facade's, and no second one of the command typed.
            assert [a for a in seen if a[0] == op and a[2] == "kill"] == []
            assert [e.action for e in entries if e.actor == op] == [
                "operator.kill",
                "operator.unkill",
            ]
            assert (op, "operator.kill", "global") in seen
            assert (op, "operator.unkill", "global") in seen
            [kill] = [e for e in entries if e.action == "operator.kill"]
            # Bob's terms acceptance is the facade's entry 1.
            [accept] = [e for e in entries if e.action == "operator.terms.accept"]
            assert accept.detail["facade_seq"] == 1
            assert kill.detail == {"reason": "market chaos", "flatten": False, "facade_seq": 2}
            [gone] = [e for e in entries if e.action == "operator.credential.disconnect"]
            # Numbered after the kill and the unkill, through the facade's buffered writer.
            assert gone.actor == f"telegram:{BOB}"
            assert gone.detail == {"removed": False, "facade_seq": 4}
            assert log.verify().ok
            # Refusals come before the operator's commands, in the order they happened.
            order = [e.action for e in entries]
            assert order.index("telegram.refused") < order.index("operator.kill")

    asyncio.run(scenario())
