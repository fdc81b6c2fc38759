"""Tables of revision 0006: the active rollout stage, its transitions and gate evaluations."""

from __future__ import annotations

from rampart.store.models import Base  # noqa: F401
