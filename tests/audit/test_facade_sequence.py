"""The operator facade numbers its audit entries (``facade_seq``, 1, 2, 3 …), so an entry that
is missing shows even where the hash chain alone cannot: one deleted by someone who then
recomputed the hashes after it (and the head record), or one the writer never got to write.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from rampart.operator.control import Operator
from rampart.store.audit import GENESIS, AuditLog, entry_hash
from rampart.store.models.audit import audit_head, audit_log
from tests.chaos.db_outage import SYMBOL, Rig, open_rig, settings_for


def _actions(url: str) -> Rig:
    async def scenario() -> Rig:
        rig = await open_rig(settings_for(url))
        await rig.trade(3)
        operator = Operator(rig.session, asyncio.Lock(), feed_symbols=[SYMBOL])
        await operator.engage_kill_switch("ops", "drill one")
        await operator.release_kill_switch("ops", "drill over")
        await operator.pause_account("churn-1", "ops", "a look at its fills")
        await rig.trade(3)
        rig.session.close()
        return rig

    return asyncio.run(scenario())


def _facade(log: AuditLog) -> list[tuple[str, int]]:
    return [
        (e.action, e.detail["facade_seq"])
        for e in log.tail(1000)
        if e.action.startswith("operator.")
    ]


def _delete_and_rechain(db: sa.Engine, seq: int) -> None:
    """Delete entry ``seq`` as someone who knows the scheme would: every later entry moved
    down one place with its hash recomputed, and the head record rewritten to match."""
    with db.begin() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all()
        conn.execute(audit_log.delete())
        prev, n = GENESIS, 0
        for row in rows:
            if row.seq == seq:
                continue
            n += 1
            digest = entry_hash(prev, n, row.ts, row.actor, row.action, row.target, row.detail)
            conn.execute(
                audit_log.insert().values(
                    seq=n,
                    ts=row.ts,
                    actor=row.actor,
                    action=row.action,
                    target=row.target,
                    detail=row.detail,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        conn.execute(audit_head.update().values(seq=n, hash=prev))


def test_the_facade_numbers_its_entries_one_after_another(db_url: str) -> None:
    rig = _actions(db_url)
    log = AuditLog(rig.session.db)
    assert _facade(log) == [("operator.kill", 1), ("operator.unkill", 2), ("operator.pause", 3)]
    assert log.verify().ok


def test_a_deleted_facade_entry_is_reported_even_with_the_chain_rebuilt(db_url: str) -> None:
    rig = _actions(db_url)
    db = rig.session.db
    log = AuditLog(db)
    (unkill,) = log.tail(1000, "operator.unkill")
    _delete_and_rechain(db, unkill.seq)
    verdict = log.verify()
    assert not verdict.ok
    assert verdict.problem is not None
    assert "operator entry 2 is missing" in verdict.problem


def test_a_plainly_deleted_facade_entry_breaks_the_chain_too(db_url: str) -> None:
    rig = _actions(db_url)
    db = rig.session.db
    (kill,) = AuditLog(db).tail(1000, "operator.kill")
    with db.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == kill.seq))
    verdict = AuditLog(db).verify()
    assert not verdict.ok and verdict.problem is not None
    assert f"entry {kill.seq} is missing" in verdict.problem
