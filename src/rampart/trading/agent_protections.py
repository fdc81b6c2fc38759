"""The engine's side of the protections agents declare (``rampart.agents.protections``):
each account's recent closed trades kept for them, and an entry refused while one holds.

Checked before the risk engine, and only for entries (an open or an addition): a stop move, a
reduction and an exit are never refused, so an account a protection has locked can still tighten
a trailing stop and scale out. What a protection lets through still meets every check and
breaker of the operator's, so a protection never loosens them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rampart.agents.protections import Protection, declared_protections
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ZERO
from rampart.domain.positions import ClosedTrade
from rampart.risk.codes import RejectCode
from rampart.trading.account import AccountRuntime

ENTRIES = frozenset({IntentAction.OPEN, IntentAction.ADD})
"""The actions that buy: the only ones a protection may refuse."""
KEPT = 1_000
"""Closed trades kept per account: more than any sensible window of a protection."""


@dataclass(frozen=True, slots=True)
class Kept:
    """What the protections read of a closed trade, and all a checkpoint saves of it."""

    symbol: str
    closed_at: int
    pnl: Decimal
    exit_reason: str


class AgentProtections:
    """Saved in the engine's checkpoint (:meth:`to_dict`), so a restart keeps a lock on."""

    def __init__(self) -> None:
        self._rules: dict[str, tuple[Protection, ...]] = {}
        self._trades: dict[str, deque[Kept]] = {}

    def add(self, account_id: str, agent: object) -> None:
        """Take the protections ``agent`` declares for ``account_id`` (refused in plain words
        when one is not valid)."""
        rules = declared_protections(agent)
        if rules:
            self._rules[account_id] = rules
            self._trades.setdefault(account_id, deque(maxlen=KEPT))

    def remove(self, account_id: str) -> None:
        self._rules.pop(account_id, None)
        self._trades.pop(account_id, None)

    def on_trade_closed(self, acct: AccountRuntime, trade: ClosedTrade) -> None:
        kept = self._trades.get(acct.account_id)
        if kept is not None:
            kept.append(Kept(trade.symbol, trade.closed_at, trade.pnl, trade.exit_reason))

    def to_dict(self) -> dict[str, list[list[object]]]:
        return {
            account_id: [[t.symbol, t.closed_at, str(t.pnl), t.exit_reason] for t in trades]
            for account_id, trades in self._trades.items()
            if trades
        }

    def load_dict(self, data: dict[str, list[list[object]]]) -> None:
        """Restore what :meth:`to_dict` saved, for the accounts whose agents still declare
        protections (added before the restore)."""
        for account_id, rows in data.items():
            kept = self._trades.get(account_id)
            if kept is not None:
                kept.clear()
                kept.extend(
                    Kept(str(symbol), int(str(ts)), Decimal(str(pnl)), str(why))
                    for symbol, ts, pnl, why in rows
                )

    def refusal(
        self, acct: AccountRuntime, intent: Intent, now: int, history: Sequence[Candle] | None
    ) -> tuple[RejectCode, str] | None:
        """Why a protection of the account's agent refuses ``intent``, or None; its candles
        are counted in the length of the symbol's last candle in ``history``."""
        rules = self._rules.get(acct.account_id)
        if not rules or intent.action not in ENTRIES or not history:
            return None
        tf = history[-1].timeframe_ms
        trades = tuple(self._trades.get(acct.account_id, ()))
        equity = acct.ledger.capital + acct.ledger.realized_pnl
        for rule in rules:
            why = rule.refusal(trades, intent.symbol, now, tf, max(equity, ZERO))
            if why is not None:
                return RejectCode.AGENT_PROTECTION, f"Not opened: {why}."
        return None
