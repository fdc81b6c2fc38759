"""``people:`` settings: the support SLA, how often the people metrics are counted, and when
the team's daily summary goes out (issue 36)."""

from __future__ import annotations

from pydantic import Field

from rampart.settings_base import Section

HOUR_MS = 3_600_000


class PeopleConfig(Section):
    critical_sla_h: float = Field(default=2.0, gt=0)
    """A critical support ticket must be answered within this (the launch plans: 2 hours)."""
    general_sla_h: float = Field(default=24.0, gt=0)
    """Any other ticket within this (the launch plans: 24 hours)."""
    sample_every_s: float = Field(default=300.0, ge=5)
    """How often the people gauges (funnel, cohorts, retention, satisfaction) are counted;
    support tickets and their SLA are counted at every heartbeat."""
    team_summary_hour_utc: int = Field(default=8, ge=0, le=23)
    """The hour (UTC, business clock) the team's daily summary goes out."""

    def sla_ms(self) -> dict[str, int]:
        return {
            "critical": int(self.critical_sla_h * HOUR_MS),
            "general": int(self.general_sla_h * HOUR_MS),
        }


__all__ = ["PeopleConfig"]
