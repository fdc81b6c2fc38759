"""Real candles from the shared data directory, read with pandas/json (not rampart.market)."""

from __future__ import annotations

import json
import statistics
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from rampart.agents.base import Agent, AgentConstraints, AgentView
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.positions import Position

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CANDLE_FILES = sorted(
    p.name
    for p in (DATA_DIR.glob("*") if DATA_DIR.is_dir() else ())
    if p.suffix in {".feather", ".json"}
)

# The stop and reward:risk limits of the default risk profiles (design §5).
PROFILES = {
    "conservative": AgentConstraints(Decimal("0.01"), Decimal("0.03"), Decimal("1.5")),
    "moderate": AgentConstraints(Decimal("0.01"), Decimal("0.05"), Decimal("1.2")),
    "aggressive": AgentConstraints(Decimal("0.01"), Decimal("0.08"), Decimal("1.0")),
}


@dataclass(frozen=True)
class Series:
    symbol: str
    candles: tuple[Candle, ...]
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    @cached_property
    def instrument(self) -> Instrument:
        return Instrument.for_price(self.symbol, statistics.median(self.close.tolist()))


@cache
def load(directory: Path, name: str) -> Series:
    """``ETH_BTC-5m.feather`` → ETH/BTC 5m candles, oldest first."""
    pair, timeframe = name.split(".", 1)[0].split("-", 1)
    symbol = pair.replace("_", "/")
    path = directory / name
    if path.suffix == ".feather":
        df = pd.read_feather(path)
        ts = ((df["date"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy()
        frame = df[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
    else:
        rows = np.asarray(json.loads(path.read_text()), dtype=float)
        ts = rows[:, 0].astype(np.int64)
        frame = rows[:, 1:6]
    step = timeframe_ms(timeframe)
    candles = tuple(
        Candle(symbol, int(t), float(o), float(h), float(lo), float(c), float(v), step)
        for t, (o, h, lo, c, v) in zip(ts, frame, strict=True)
    )
    return Series(symbol, candles, frame[:, 1].copy(), frame[:, 2].copy(), frame[:, 3].copy())


@dataclass
class SimAccount:
    """A stand-in for one account: holds at most one long, which its bracket or a CLOSE ends."""

    account_id: str
    constraints: AgentConstraints
    position: Position | None = None
    sticky: bool = False
    """Keep the starting position (or lack of one) whatever the agent says: such accounts
    see every entry signal (flat) or every exit signal (holding)."""
    intents: list[tuple[int, bool, Intent]] = field(default_factory=list)
    """(bar index, held a position when asked, intent)."""


def holding(symbol: str) -> Position:
    """A position far from its bracket, so only the agent's CLOSE could end it."""
    return Position(
        symbol=symbol,
        strategy="test",
        entry_client_id="held",
        opened_at=0,
        stop_loss=Decimal("1E-12"),
        take_profit=Decimal("1E+12"),
        qty=Decimal(1),
        avg_price=Decimal(1),
    )


def run(
    agent: Agent, series: Series, accounts: list[SimAccount], instrument: Instrument | None = None
) -> None:
    """Feed every bar to one agent and ask it on behalf of each account, as the engine does."""
    instrument = instrument or series.instrument
    history: deque[Candle] = deque(maxlen=300)
    for index, candle in enumerate(series.candles):
        history.append(candle)
        agent.update(candle)
        for acct in accounts:
            pos = acct.position
            if (
                not acct.sticky
                and pos is not None
                and (candle.low <= float(pos.stop_loss) or candle.high >= float(pos.take_profit))
            ):
                acct.position = None  # the bracket was hit, as the position monitor would see
            held = acct.position is not None
            view = AgentView(
                account_id=acct.account_id,
                symbol=series.symbol,
                candle=candle,
                history=history,
                instrument=instrument,
                equity=Decimal(1000),
                cash=Decimal(0) if held else Decimal(1000),
                position=acct.position,
                constraints=acct.constraints,
                ts=candle.close_ts,
            )
            for intent in agent.decide(view):
                acct.intents.append((index, held, intent))
                if acct.sticky:
                    continue
                if intent.action is IntentAction.OPEN:
                    acct.position = Position(
                        symbol=series.symbol,
                        strategy=intent.agent,
                        entry_client_id=f"e{candle.ts}",
                        opened_at=candle.close_ts,
                        stop_loss=intent.stop_loss,
                        take_profit=intent.take_profit,
                        qty=Decimal(1),
                        avg_price=intent.entry_price,
                        initial_stop=intent.stop_loss,
                    )
                else:
                    acct.position = None
