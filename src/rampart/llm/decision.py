"""The strict JSON decision an LLM must answer with, and its check against the current price."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rampart.domain.errors import RampartError, present


class InvalidDecision(RampartError):
    """The model answered, but not with a decision Rampart can act on."""


class LlmDecision(BaseModel):
    """``{"action": "enter"|"hold", "symbol", "side", "stop_loss", "take_profit",
    "confidence", "rationale"}``; an entry needs every price field, a hold needs none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["enter", "hold"]
    symbol: str | None = Field(default=None, max_length=64)
    side: Literal["buy", "sell"] | None = None
    stop_loss: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    take_profit: Decimal | None = Field(default=None, gt=0, allow_inf_nan=False)
    confidence: float = Field(ge=0, le=1, allow_inf_nan=False)
    rationale: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _entry_is_complete(self) -> LlmDecision:
        if self.action == "enter":
            missing = [
                name
                for name in ("symbol", "side", "stop_loss", "take_profit")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"an entry needs {', '.join(missing)}")
        return self

    def check_against(self, symbol: str, price: Decimal) -> None:
        """Refuse an entry on another symbol or with a bracket on the wrong side of ``price``."""
        if self.action != "enter":
            return
        stop_loss = present(self.stop_loss, "an entry's stop-loss")  # the validator said so
        take_profit = present(self.take_profit, "an entry's take-profit")
        if self.symbol != symbol:
            raise InvalidDecision(f"The model answered for {self.symbol}, not {symbol}.")
        if self.side == "buy":
            ok = stop_loss < price < take_profit
        else:
            ok = take_profit < price < stop_loss
        if not ok:
            raise InvalidDecision(
                f"A {self.side} at {price} needs the stop and target on either side of it, "
                f"not stop {stop_loss} and target {take_profit}."
            )


def parse_decision(content: str) -> LlmDecision:
    """The decision in a model's message content, or InvalidDecision in one sentence."""
    try:
        # Floats as Decimal: a price must reach the bracket check with the digits the model sent.
        data = json.loads(content, parse_float=Decimal)
    except (json.JSONDecodeError, TypeError):
        raise InvalidDecision("The model's answer is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidDecision("The model's answer is not a JSON object.")
    try:
        return LlmDecision.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "decision"
        raise InvalidDecision(
            f"The model's decision is invalid at {where}: {first['msg']}."
        ) from None
