"""Tables of revision 0018: named agent configurations with their research evidence.

A configuration is an agent and its parameters, saved by ``rampart optimize --save NAME``
with what the search found (folds, PBO, deflated Sharpe, out-of-sample figures, the study).
GO/NO-GO's evidence criterion looks an account's agent and parameters up here. Saving a name
again replaces it (its evidence is the newest search's).
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import ID, NAME, Col, metadata

agent_configs = sa.Table(
    "agent_configs",
    metadata,
    Col("name", sa.String(NAME), primary_key=True),
    Col("agent", sa.String(NAME)),
    # Every parameter, defaults filled in, in the declarations' canonical JSON form
    # (rampart.agents.space.ParamSpace.canonical), so equal settings compare equal.
    Col("params", sa.JSON),
    Col("evidence", sa.JSON),
    Col("created_at", sa.BigInteger),
    Col("created_by", sa.String(ID)),
    sa.Index("ix_agent_configs_agent", "agent"),
)
