"""An incident the alert engine keeps track of while it is open or acknowledged: its rule,
labels and threshold, when it opened and was last told, and its stored id."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.observability import incidents as store


@dataclass(slots=True)
class Active:
    """An incident that is open or acknowledged, as the engine tracks it."""

    key: str
    rule: str
    severity: str
    labels: dict[str, str]
    summary: str
    threshold: float
    comparison: str
    opened_at: int
    value: float | None
    incident_id: int | None = None
    status: str = store.OPEN
    last_notified_at: int | None = None
