"""What the risk engine knows about an account and a symbol when an intent arrives.

The engine (``checks``) and each of its rule modules (``exposure``, ``moves``, ``rules``,
``sizing``) read this one type, so it lives apart from all of them: the rule modules depend on
it and the engine depends on them, without a circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.quick import quick_init
from rampart.domain.stages import Stage
from rampart.risk.profiles import RiskProfile
from rampart.risk.restrictions import Restriction


@quick_init
@dataclass(frozen=True, slots=True)
class RiskContext:
    """Everything the engine knows about an account and a symbol when an intent arrives."""

    account_id: str
    owner: str
    profile_name: str
    profile: RiskProfile
    stage: Stage
    instrument: Instrument
    state: TradingState
    paused: bool
    global_kill: bool
    cooldown_until_ms: int
    equity: Decimal
    free_cash: Decimal
    capital: Decimal
    open_positions: int
    """Open positions plus working entries on symbols without one, across all symbols (an
    entry still filling its position is that position)."""
    position_qty: Decimal
    """This symbol's open quantity, zero when flat."""
    working_qty: Decimal
    """The unfilled remainder of this symbol's entries that are not done (a cancel the venue
    has not confirmed leaves one working): they may still fill, so they count as exposure."""
    working_value: Decimal
    """That remainder's value: each entry at its limit price, a market entry at the last
    price (zero while the symbol has none)."""
    last_price: Decimal
    data_ts: int
    """Close time of the latest candle for the symbol (0 when none has arrived)."""
    now_ms: int
    recent_order_ts: Sequence[int]
    taker_fee: Decimal
    feed_stale: bool = False
    """The feed for this symbol went quiet past its bound (disconnected or frozen)."""
    data_suspect: bool = False
    """The latest price of this symbol looked wrong and is held until the market confirms it
    (the market-data guard): nothing is opened on a price that may be a bad print."""
    store_down: bool = False
    """The store cannot take a write: what happens now could not be saved, so entries wait
    (exits and protection go on) until a write succeeds again."""
    commands_stale: bool = False
    """A worker cut off from the command stream: entries wait until it hears its
    heartbeat again, since a kill switch sent meanwhile may not have reached it."""
    restrictions: tuple[Restriction, ...] = ()
    """Why the account does not trade normally (kill switch, pause, breaker), quoted in the
    refusal; empty when nothing restricts it."""
    position_price: Decimal = ZERO
    """This symbol's position's average entry price, zero when flat."""
    position_stop: Decimal = ZERO
    position_take: Decimal = ZERO
    """Its stop-loss and take-profit now (what a move of them starts from)."""

    @property
    def currency(self) -> str:
        return self.instrument.quote
