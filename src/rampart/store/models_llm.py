"""Tables of revision 0010: lLM calls: tokens, cost, cache hits (issue 8)."""

from __future__ import annotations

from rampart.store.models import Base  # noqa: F401
