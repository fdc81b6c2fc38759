"""The order in which the accounts on a symbol are served on a candle, rotated so that no
investor is always last.

When every account acts on one candle (many investors following one agent on one symbol: every
signal), the engine sends their orders one after another, and the last waits for all the
others. The order starts at a different account on each candle the accounts are asked:
account ``k`` of ``n`` comes at rank ``(k - start) mod n`` with ``start = ⌊frac(turn·φ)·n⌋``,
φ the golden ratio's fractional part. Successive starts are the most evenly spread sequence
there is (three-distance theorem), so over any run of turns every account's mean rank is close
to the middle: within 3 % of ``n`` over 100 turns, whatever ``n`` (a step of one account per
turn would leave account 0 last-but-few for the first ``n`` turns). Deterministic, so a replay
and its re-run serve in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

from rampart.agents.base import Agent, AgentConstraints
from rampart.trading.account import AccountRuntime

T = TypeVar("T")


@dataclass(slots=True)
class Subscription:
    """An account trading a symbol with its agent: what the engine serves on each candle."""

    account: AccountRuntime
    agent: Agent
    constraints: AgentConstraints
    faults: int = 0
    """The agent's faults for this account in a row (``rampart.trading.agent_room``)."""
    looks: bool = False
    """Whether the agent takes a last look (``stake``, ``confirm_entry``/``exit``): decided
    once, when the account is added (``rampart.trading.callbacks``)."""
    hears_fills: bool = False
    """Whether the agent is told of fills (``on_fill``): decided once, like ``looks``."""


GOLDEN = (math.sqrt(5) - 1) / 2
"""The golden ratio's fractional part: the rotation's step, in turns of the whole order."""


def start_of(turn: int, n: int) -> int:
    """The index of the account served first on ``turn`` (0 on turn 0)."""
    return int((turn * GOLDEN) % 1.0 * n) % n if n else 0


def serving_order(subs: list[T], turn: int) -> list[T]:
    """``subs`` rotated to start at :func:`start_of` (the same list when nothing moves)."""
    start = start_of(turn, len(subs))
    return subs[start:] + subs[:start] if start else subs
