"""Tables of revision 0009: the ML model registry (issue 8)."""

from __future__ import annotations

from rampart.store.models import Base  # noqa: F401
