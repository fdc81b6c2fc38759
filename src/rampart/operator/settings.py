"""``people:`` settings: the support SLA, how often the people metrics are counted, and when
the team's daily summary goes out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field

from rampart.settings_base import Section

if TYPE_CHECKING:
    from pydantic import SecretStr

    from rampart.llm.settings import LlmConfig
    from rampart.market.settings import FeedConfig
    from rampart.ml.settings import MlConfig
    from rampart.observability.alerts.settings import AlertsConfig
    from rampart.runtime.settings import OpsConfig
    from rampart.security.settings import VaultConfig
    from rampart.venues.settings import VenueConfig

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


class Settings(Protocol):
    """The settings as everything below the composition root reads them: one Protocol, each
    section named once (``rampart.config.Settings`` has them all; adapters may not import it,
    contract ``settings-sections``). The layers above add only the sections this package may
    not name: the rollout's (``rollout.settings.RolloutSettings``), then each front's own
    (``api.settings.ApiSettings``, ``telegram.settings.BotSettings``)."""

    @property
    def mode(self) -> str: ...

    @property
    def venue(self) -> VenueConfig: ...

    @property
    def feed(self) -> FeedConfig: ...

    @property
    def master_key(self) -> SecretStr | None: ...

    @property
    def vault(self) -> VaultConfig: ...

    @property
    def profiles(self) -> dict[str, dict[str, Any]]: ...

    @property
    def alerts(self) -> AlertsConfig: ...

    @property
    def ml(self) -> MlConfig: ...

    @property
    def ops(self) -> OpsConfig: ...

    @property
    def llm(self) -> LlmConfig: ...

    @property
    def people(self) -> PeopleConfig: ...


__all__ = ["PeopleConfig", "Settings"]
