"""Tables of revision 0010: LLM calls: tokens, cost, cache hits (issue 8)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, NAME, AutoId, Base


class LlmCallRow(Base):
    """One decision asked of an LLM: answered by the model, by the cache, or refused.

    ``agent`` is the account id the agent trades for, or ``vibe`` for the Telegram parser.
    ``outcome`` is ``ok``, ``invalid``, ``timeout``, ``error`` or ``budget``; a cached answer
    costs nothing and has ``cached`` set.
    """

    __tablename__ = "llm_calls"
    __table_args__ = (sa.Index("ix_llm_calls_ts", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[int]
    agent: Mapped[str] = mapped_column(sa.String(ID))
    model: Mapped[str] = mapped_column(sa.String(NAME))
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    cost_usd: Mapped[Decimal]
    cached: Mapped[bool]
    outcome: Mapped[str] = mapped_column(sa.String(CODE))
    latency_ms: Mapped[float] = mapped_column(sa.Float)


llm_calls = LlmCallRow.__table__
