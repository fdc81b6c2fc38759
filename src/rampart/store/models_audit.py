"""Tables of revision 0008: the hash-chained audit log (issue 7)."""

from __future__ import annotations

from rampart.store.models import Base  # noqa: F401
