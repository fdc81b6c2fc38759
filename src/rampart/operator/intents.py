"""What an investor decides by hand and the agent must respect: close a position (and hold the
symbol from the agent), lift a hold, and a trade the investor proposes (``/vibe``, ``/demo``).

Each runs under the operator lock (never in the middle of a candle), is audited once in the
facade's numbered sequence, and is saved at once where a restart must not forget it (a hold).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.operator import engine_actions as actions
from rampart.trading.investor_holds import ALL

if TYPE_CHECKING:
    from rampart.operator.desk import InvestorDesk
    from rampart.trading.investor_holds import Hold

HOUR_MS = 3_600_000
CLOSED = "you closed it with /close"
PLACED = "placed"
NOT_HELD_BACK = "no hold to lift"
"""A worker's answer to an intent it placed (any other answer is the risk engine's reason)."""


@dataclass(frozen=True, slots=True)
class Placed:
    """What became of an investor's intent: placed, or the risk engine's reason why not."""

    approved: bool
    reason: str


def now_ms(desk: InvestorDesk) -> int:
    """The engine's business time (what holds and intents are stamped with)."""
    return desk.session.engine.clock.now_ms()


async def close(
    desk: InvestorDesk, account_id: str, symbols: list[str], hours: float, actor: str
) -> int | None:
    """Close ``symbols`` at market and hold them from the agent for ``hours`` of business time
    (0: until lifted); returns when the hold ends (None: until lifted)."""
    desk.require(account_id)
    now = desk.session.engine.clock.now_ms()
    until = None if hours == 0 else now + int(hours * HOUR_MS)
    payload = {"account_id": account_id, "symbols": list(symbols), "until": until, "why": CLOSED}
    if not await desk.operator.forward("close", payload, account_id):
        async with desk.lock:
            await actions.close(desk.session, account_id, symbols, until, CLOSED)
        # Written now, not at the next checkpoint: a restart must not forget the hold.
        await desk.operator.save_now()
    await desk.operator.audit(actor, "operator.close", account_id, symbols=symbols, until=until)
    return until


def holds(desk: InvestorDesk, account_id: str) -> Mapping[str, Hold]:
    """The symbols held from the account's agent now (``ALL``: every one)."""
    engine = desk.session.engine
    return engine.holds.active(account_id, engine.clock.now_ms())


async def hold_all(desk: InvestorDesk, account_id: str, reason: str) -> None:
    """Hold every symbol from the agent until lifted (a ``/demo`` account is traded by hand)."""
    payload = {"account_id": account_id, "reason": reason}
    if not await desk.operator.forward("hold_all", payload, account_id):
        async with desk.lock:
            actions.hold_all(desk.session, account_id, reason)


def hold_before_start(desk: InvestorDesk, account_id: str, reason: str) -> None:
    """Hold every symbol for an account not started yet, so its agent can never trade it in the
    moment between the start and :func:`hold_all` (a candle processed there let 2 of 200
    ``/demo`` agents trade before the demo was set up). A hold needs no account to exist."""
    desk.session.engine.holds.hold(account_id, ALL, None, reason)


async def allow(desk: InvestorDesk, account_id: str, symbol: str, actor: str) -> bool:
    """Lift the hold on ``symbol`` (``ALL``: every one); False when there was none."""
    told = await desk.operator.forward(
        "allow", {"account_id": account_id, "symbol": symbol}, account_id
    )
    if told is not None:
        lifted = told != NOT_HELD_BACK
    else:
        async with desk.lock:
            lifted = actions.allow(desk.session, account_id, symbol)
        if lifted:
            await desk.operator.save_now()
    if lifted:
        await desk.operator.audit(actor, "operator.allow", account_id, symbol=symbol)
    return lifted


def market(desk: InvestorDesk, account_id: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The marks and each traded symbol's tick size, for proposing a trade."""
    engine = desk.session.engine
    acct = desk.require(account_id)
    ticks = {s: engine.venue.instrument(s).tick_size for s in acct.spec.symbols}
    return dict(engine.marks), ticks


def llm(desk: InvestorDesk) -> Any:
    """The session's language model for reading a proposal in words (None: parse offline)."""
    return getattr(desk.session, "llm", None)


def check(desk: InvestorDesk, intent: Intent) -> str | None:
    """The risk engine's refusal of ``intent`` now (None: it would pass); changes nothing."""
    engine = desk.session.engine
    acct = desk.require(intent.account_id)
    verdict = engine.risk.check(intent, engine.risk_context(acct, intent.symbol, intent.ts))
    return None if verdict.approved else str(verdict.message)


async def place(desk: InvestorDesk, intent: Intent, actor: str) -> Placed:
    """Send the investor's intent through the risk engine and, approved, to the venue."""
    desk.require(intent.account_id)
    told = await desk.operator.forward("intent", intent_payload(intent), intent.account_id)
    if told is not None:
        reason = "" if told.startswith(PLACED) else told
    else:
        async with desk.lock:
            reason = await actions.place(desk.session, intent)
    approved = not reason
    await desk.operator.audit(
        actor, "operator.intent", intent.account_id, symbol=intent.symbol, approved=approved
    )
    return Placed(approved, reason)


def intent_payload(intent: Intent) -> dict[str, Any]:
    """``intent`` as a command carries it (Decimals as strings, exactly)."""
    return {
        "account_id": intent.account_id,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "action": intent.action.value,
        "entry_price": str(intent.entry_price),
        "stop_loss": str(intent.stop_loss),
        "take_profit": str(intent.take_profit),
        "size_hint": str(intent.size_hint),
        "confidence": intent.confidence,
        "rationale": intent.rationale,
        "agent": intent.agent,
        "ts": intent.ts,
    }


def intent_of(payload: Mapping[str, Any]) -> Intent:
    """The intent a command carries (:func:`intent_payload`'s inverse)."""
    return Intent(
        account_id=str(payload["account_id"]),
        symbol=str(payload["symbol"]),
        side=Side(str(payload["side"])),
        action=IntentAction(str(payload["action"])),
        entry_price=Decimal(str(payload["entry_price"])),
        stop_loss=Decimal(str(payload["stop_loss"])),
        take_profit=Decimal(str(payload["take_profit"])),
        size_hint=Decimal(str(payload["size_hint"])),
        confidence=float(payload["confidence"]),
        rationale=str(payload["rationale"]),
        agent=str(payload["agent"]),
        ts=int(payload["ts"]),
    )


__all__ = [
    "ALL",
    "NOT_HELD_BACK",
    "PLACED",
    "Placed",
    "allow",
    "check",
    "close",
    "hold_all",
    "holds",
    "intent_of",
    "intent_payload",
    "market",
    "place",
]
