"""Investor intent wins over the agent.

After an investor closes a position by hand (``/close ETH``) the account's agent must not
simply buy it back on its next signal: the symbol is *held* for the agent until the investor
lifts the hold (``/allow ETH``) or a cool-down on the business clock passes. A ``/demo``
account is held as a whole (``ALL``): its agent trades it only once the investor chooses so.
And a position the investor opened themselves (``/vibe``, ``/demo``) is never closed by the
agent: it leaves by its stop-loss, its take-profit or the investor's ``/close``.

The engine asks :meth:`InvestorHolds.refusal` at the one place intents are accepted
(``Engine.handle_intent``), before the risk engine; only agents' intents are held, never the
investor's own. The holds are part of the engine's snapshot, so a restart keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rampart.domain.intents import Intent, IntentAction
from rampart.risk.codes import RejectCode

if TYPE_CHECKING:
    from rampart.trading.account import AccountRuntime

ALL = "*"
"""Every symbol of the account (a ``/demo`` account, or ``/allow all``)."""

INVESTOR_AGENTS = frozenset({"vibe", "investor"})
"""The ``agent`` of intents an investor made by hand: never held, and their positions are not
the agent's to close."""


@dataclass(frozen=True, slots=True)
class Hold:
    until_ms: int | None
    """When the hold ends on the business clock; None: only the investor lifts it."""
    reason: str

    def active(self, now_ms: int) -> bool:
        return self.until_ms is None or now_ms < self.until_ms


def _at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


class InvestorHolds:
    def __init__(self) -> None:
        self._holds: dict[str, dict[str, Hold]] = {}

    def hold(self, account_id: str, symbol: str, until_ms: int | None, reason: str) -> Hold:
        """Hold ``symbol`` (or ``ALL``) for the account's agent until ``until_ms``."""
        held = Hold(until_ms, reason)
        self._holds.setdefault(account_id, {})[symbol] = held
        return held

    def lift(self, account_id: str, symbol: str) -> list[str]:
        """Lift the hold on ``symbol`` (``ALL`` lifts every hold); the symbols it lifted."""
        holds = self._holds.get(account_id, {})
        lifted = sorted(holds) if symbol == ALL else ([symbol] if symbol in holds else [])
        for name in lifted:
            del holds[name]
        if not holds:
            self._holds.pop(account_id, None)
        return lifted

    def active(self, account_id: str, now_ms: int) -> dict[str, Hold]:
        """The account's holds still in force (expired ones are forgotten)."""
        holds = self._holds.get(account_id)
        if not holds:
            return {}
        for name in [s for s, h in holds.items() if not h.active(now_ms)]:
            del holds[name]
        return dict(holds)

    def refusal(
        self, acct: AccountRuntime, intent: Intent, now_ms: int
    ) -> tuple[RejectCode, str] | None:
        """Why the agent's ``intent`` may not go ahead because of what the investor decided,
        or None (the investor's own intents always go on to the risk engine)."""
        if intent.agent in INVESTOR_AGENTS:
            return None
        symbol = intent.symbol
        action = intent.action
        if action is not IntentAction.OPEN:
            # A close, or a change to the position (its stop moved): the investor's own
            # position is theirs to change.
            pos = acct.ledger.positions.get(symbol)
            if pos is not None and pos.strategy in INVESTOR_AGENTS:
                does = "close it" if action is IntentAction.CLOSE else "change it"
                return (
                    RejectCode.INVESTOR_POSITION,
                    f"The {symbol} position was opened by the investor, so the agent does not "
                    f"{does}; it leaves by its stop-loss, its take-profit or /close.",
                )
            if action is not IntentAction.ADD:
                return None  # an addition buys: the investor's holds apply to it below
        holds = self._holds.get(acct.account_id)
        if not holds:
            return None
        held = holds.get(symbol) or holds.get(ALL)
        if held is None or not held.active(now_ms):
            return None
        until = "until /allow" if held.until_ms is None else f"until {_at(held.until_ms)}"
        return (
            RejectCode.INVESTOR_HOLD,
            f"The agent does not buy {symbol} {until}: {held.reason}.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            account: {s: [h.until_ms, h.reason] for s, h in holds.items()}
            for account, holds in self._holds.items()
            if holds
        }

    def load_dict(self, data: dict[str, Any]) -> None:
        self._holds = {
            account: {
                s: Hold(None if until is None else int(until), str(reason))
                for s, (until, reason) in holds.items()
            }
            for account, holds in data.items()
        }
