"""``alerts.anomalies``: the anomaly detector's thresholds (docs/operations/incident-levels.md,
"Anomalies", justifies each). How many accounts make an anomaly service-wide is the
``AnomalyWidespread`` rule's threshold, overridden in the rules file as any rule's."""

from __future__ import annotations

from pydantic import Field

from rampart.risk.anomalies import AnomalyLimits
from rampart.settings_base import Section


class AnomalyLevels(Section):
    enabled: bool = True
    fill_tolerance: float = Field(default=0.005, gt=0, le=0.5)
    """A fill further than this share of the mark outside the band the market traded in
    (the last candle's low to high). Never below the paper venue's largest slippage
    (``venue.slippage_bps + venue.impact_bps``): the service takes the larger."""
    pnl_sigmas: float = Field(default=10.0, gt=0)
    """An interval's equity return this many robust σ from the account's median."""
    pnl_window: int = Field(default=168, ge=10, le=10_000)
    """Exposed snapshot intervals σ is measured over (168 hourly = a week)."""
    pnl_min_samples: int = Field(default=24, ge=5, le=10_000)
    pnl_min_move: float = Field(default=0.01, ge=0, le=1)
    """Equity moves smaller than this share are never a jump."""
    balance_tolerance: float = Field(default=0.0001, ge=0, le=1)
    """Money no fill or transfer explains, as a share of equity, below which it is dust."""
    rate_window_s: float = Field(default=60.0, gt=0, le=86_400)
    rate_multiple: float = Field(default=1.0, gt=0)
    """Rejections, cancels or new orders in the window past the profile's
    ``max_orders_per_minute`` (scaled to the window) times this: a spike."""
    hold_s: float = Field(default=3600.0, gt=0)
    """How long (orders' clock) an anomaly stays an open P2 incident."""

    def limits(self, slippage_cap: float = 0.0) -> AnomalyLimits:
        return AnomalyLimits(
            fill_tolerance=max(self.fill_tolerance, slippage_cap),
            pnl_sigmas=self.pnl_sigmas,
            pnl_window=self.pnl_window,
            pnl_min_samples=self.pnl_min_samples,
            pnl_min_move=self.pnl_min_move,
            balance_tolerance=self.balance_tolerance,
            rate_window_ms=int(self.rate_window_s * 1000),
            rate_multiple=self.rate_multiple,
            hold_ms=int(self.hold_s * 1000),
        )


__all__ = ["AnomalyLevels"]
