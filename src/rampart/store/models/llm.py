"""Tables of revision 0010: LLM calls: tokens, cost, cache hits."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, NAME, AutoId, Col, metadata
from rampart.store.types import Money

# One decision asked of an LLM: answered by the model, by the cache, or refused.
#
# ``agent`` is the account id the agent trades for, or ``vibe`` for the Telegram parser.
# ``outcome`` is ``ok``, ``invalid``, ``timeout``, ``error`` or ``budget``; a cached answer
# costs nothing and has ``cached`` set.
llm_calls = sa.Table(
    "llm_calls",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("ts", sa.BigInteger),
    Col("agent", sa.String(ID)),
    Col("model", sa.String(NAME)),
    Col("prompt_tokens", sa.BigInteger),
    Col("completion_tokens", sa.BigInteger),
    Col("cost_usd", Money),
    Col("cached", sa.Boolean),
    Col("outcome", sa.String(CODE)),
    Col("latency_ms", sa.Float),
    sa.Index("ix_llm_calls_ts", "ts"),
)
