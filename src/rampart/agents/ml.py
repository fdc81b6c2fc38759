"""The ML agent: a long entry when the production model's probability clears a threshold.

The agent owns no model. It reads features one closed candle at a time from a feature stream
and asks a :class:`ModelSource` for the model in production *at decision time*, so a promote
or rollback in the registry changes the next decision without a restart. Failing safe is the
point: no source, no model, a model that errs or answers nonsense — each means no trade.
Brackets come from ATR (stop ``atr_stop``·ATR below, target ``atr_target``·ATR above, kept
inside the profile's limits by :func:`bracket_from_atr`), and the risk engine still checks
every proposal like any rule's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Protocol

from rampart.agents.base import AgentView, RuleAgent, check_float
from rampart.agents.space import SIZE, ParamSpace, between
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent


class MlModel(Protocol):
    version: str

    def predict_one(self, row: Sequence[float]) -> float:
        """Probability that a long bracket entered now reaches its target first."""
        ...


class FeatureStream(Protocol):
    atr: float
    """The latest ATR in price units."""

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> Sequence[float] | None:
        """Advance by one closed candle; the feature row once warmed up, else None."""
        ...


class ModelSource(Protocol):
    """Serves "the model in production now" (the registry, wired in by the app)."""

    warmup: int

    def current(self) -> MlModel | None: ...

    def new_features(self) -> FeatureStream: ...


class MlAgent(RuleAgent):
    name = "ml"
    description = (
        "Buys when the production model's probability that the target comes before the stop "
        "passes the threshold; stop ATR×1, target ATR×2 (models from `rampart models`)."
    )

    def __init__(
        self,
        *,
        threshold: Annotated[float, between(0.05, 0.99, step=0.01)] = 0.5,
        atr_stop: Annotated[float, between(0.25, 5.0, step=0.05)] = 1.0,
        atr_target: Annotated[float, between(0.5, 10.0, step=0.1)] = 2.0,
        size_hint: Annotated[Decimal | float | str, SIZE] = Decimal(1),
        models: ModelSource | None = None,
    ) -> None:
        super().__init__(size_hint)
        self.threshold = check_float(self.name, "threshold", threshold, 0.0, 1.0)
        self.atr_stop = check_float(self.name, "atr_stop", atr_stop, 0.0, 100.0)
        self.atr_target = check_float(self.name, "atr_target", atr_target, 0.0, 100.0)
        self.models = models
        # Without a source the agent never decides; any warmup above one bar will do.
        self.warmup = models.warmup if models is not None else 2
        self._features = models.new_features() if models is not None else None
        self._row: Sequence[float] | None = None
        self._atr = math.nan
        # One prediction per (bar, model version), shared by every account on this symbol.
        self._scored: tuple[int | None, str, float] | None = None

    space = ParamSpace.of(__init__)
    """Each parameter as the signature above states it, once; ``models`` is no setting."""

    def _advance(self, candle: Candle) -> None:
        if self._features is None:
            return
        self._row = self._features.update(candle.high, candle.low, candle.close, candle.volume)
        self._atr = self._features.atr
        self._scored = None

    def probability(self) -> tuple[str, float] | None:
        """(model version, probability) for the last bar, or None when nothing can score it."""
        if self.models is None or self._row is None:
            return None
        try:
            model = self.models.current()
            if model is None:
                return None
            cached = self._scored
            if cached is not None and cached[0] == self.last_ts and cached[1] == model.version:
                return cached[1], cached[2]
            p = float(model.predict_one(self._row))
        except Exception:
            # A model that cannot answer is no signal; the source has logged why.
            return None
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            return None
        self._scored = (self.last_ts, model.version, p)
        return model.version, p

    def _decide(self, view: AgentView) -> list[Intent]:
        if self.holding(view):
            return []
        scored = self.probability()
        if scored is None or not (math.isfinite(self._atr) and self._atr > 0):
            return []
        version, p = scored
        if p < self.threshold:
            return []
        target_rr = Decimal(repr(self.atr_target / self.atr_stop))
        reason = f"model {version} gives {p:.2f} ≥ threshold {self.threshold:g}"
        return self.open_long(view, self._atr, self.atr_stop, target_rr, p, reason)
