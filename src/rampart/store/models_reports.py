"""Tables of revision 0007: stored daily and weekly reports (issue 6)."""

from __future__ import annotations

from rampart.store.models import Base  # noqa: F401
