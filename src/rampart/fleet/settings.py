"""The settings as the fleet reads them: the one Protocol (with the rollout's section) and the
sections only the fleet's processes read (``rampart.config.Settings`` has them all; the fleet
may not import it, contract ``settings-sections``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from rampart.rollout.settings import RolloutSettings

if TYPE_CHECKING:
    from rampart.messaging.settings import ScaleConfig
    from rampart.operator.accounts import AccountConfig
    from rampart.store.settings import StoreConfig
    from rampart.venues.solana.settings import SolanaConfig


class EngineHistory(Protocol):
    """Of the engine's section, what the fleet reads: how many candles an engine keeps."""

    @property
    def history(self) -> int: ...


class FleetSettings(RolloutSettings, Protocol):
    """The one settings Protocol with the sections of the fleet's processes: the shards and
    NATS (``scale``), the store, the engine's history, the configured accounts and the Solana
    route's alert share."""

    @property
    def scale(self) -> ScaleConfig: ...

    @property
    def store(self) -> StoreConfig: ...

    @property
    def engine(self) -> EngineHistory: ...

    @property
    def accounts(self) -> list[AccountConfig]: ...

    @property
    def solana(self) -> SolanaConfig: ...


__all__ = ["EngineHistory", "FleetSettings"]
