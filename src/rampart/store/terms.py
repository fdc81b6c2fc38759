"""Terms accepted, in the store: who accepted which version when. The facade decides
what may be accepted (:mod:`rampart.operator.people`); this module only reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.store.errors import translating
from rampart.store.models.people import terms_acceptances


@dataclass(frozen=True, slots=True)
class Acceptance:
    account_id: str
    version: str
    actor: str
    accepted_at: int


def _acceptance(row: Any) -> Acceptance:
    return Acceptance(str(row.account_id), str(row.version), str(row.actor), int(row.accepted_at))


def latest(engine: sa.Engine, account_id: str) -> Acceptance | None:
    """The newest acceptance of ``account_id`` (any version), or None."""
    t = terms_acceptances
    query = (
        sa.select(t)
        .where(t.c.account_id == account_id)
        .order_by(t.c.accepted_at.desc(), t.c.id.desc())
        .limit(1)
    )
    with translating("Reading the accepted terms failed"), engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else _acceptance(row)


def accept(
    engine: sa.Engine, account_id: str, version: str, actor: str, now_ms: int
) -> tuple[Acceptance, bool]:
    """Record that ``actor`` accepted ``version`` for ``account_id``; returns the acceptance
    and whether it is new (the same version accepted before is kept as it was, not again)."""
    t = terms_acceptances
    with translating("Saving the accepted terms failed"), engine.begin() as conn:
        row = conn.execute(
            sa.select(t)
            .where(t.c.account_id == account_id, t.c.version == version)
            .order_by(t.c.accepted_at.desc(), t.c.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return _acceptance(row), False
        conn.execute(
            t.insert().values(
                account_id=account_id, version=version, actor=actor, accepted_at=now_ms
            )
        )
    return Acceptance(account_id, version, actor, now_ms), True


def history(engine: sa.Engine, account_id: str) -> list[Acceptance]:
    """Every acceptance of ``account_id``, oldest first."""
    t = terms_acceptances
    query = sa.select(t).where(t.c.account_id == account_id).order_by(t.c.accepted_at, t.c.id)
    with translating("Reading the accepted terms failed"), engine.connect() as conn:
        return [_acceptance(row) for row in conn.execute(query).all()]
