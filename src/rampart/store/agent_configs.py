"""Named agent configurations with their research evidence (``agent_configs``, revision 0018)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.store.models.research import agent_configs


@dataclass(frozen=True, slots=True)
class AgentConfigRecord:
    name: str
    agent: str
    params: dict[str, Any]
    evidence: dict[str, Any]
    created_at: int
    created_by: str


def save_config(
    engine: sa.Engine,
    *,
    name: str,
    agent: str,
    params: dict[str, Any],
    evidence: dict[str, Any],
    created_at: int,
    created_by: str,
) -> None:
    """Store (or replace) the configuration ``name``."""
    with engine.begin() as conn:
        conn.execute(agent_configs.delete().where(agent_configs.c.name == name))
        conn.execute(
            agent_configs.insert().values(
                name=name,
                agent=agent,
                params=params,
                evidence=evidence,
                created_at=created_at,
                created_by=created_by,
            )
        )


def _record(row: Any) -> AgentConfigRecord:
    return AgentConfigRecord(
        name=row["name"],
        agent=row["agent"],
        params=dict(row["params"] or {}),
        evidence=dict(row["evidence"] or {}),
        created_at=int(row["created_at"]),
        created_by=row["created_by"],
    )


def get_config(engine: sa.Engine, name: str) -> AgentConfigRecord | None:
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(agent_configs).where(agent_configs.c.name == name))
            .mappings()
            .first()
        )
    return None if row is None else _record(row)


def list_configs(engine: sa.Engine, agent: str | None = None) -> list[AgentConfigRecord]:
    stmt = sa.select(agent_configs).order_by(agent_configs.c.name)
    if agent is not None:
        stmt = stmt.where(agent_configs.c.agent == agent)
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(stmt).mappings().all()]
