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

from rampart.domain.intents import Intent
from rampart.trading.investor_holds import ALL

if TYPE_CHECKING:
    from rampart.operator.desk import InvestorDesk
    from rampart.trading.investor_holds import Hold

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Placed:
    """What became of an investor's intent: placed, or the risk engine's reason why not."""

    approved: bool
    reason: str


def now_ms(desk: InvestorDesk) -> int:
    """The engine's business time (what holds and intents are stamped with)."""
    return desk.operator.engine.clock.now_ms()


async def close(
    desk: InvestorDesk, account_id: str, symbols: list[str], hours: float, actor: str
) -> int | None:
    """Close ``symbols`` at market and hold them from the agent for ``hours`` of business time
    (0: until lifted); returns when the hold ends (None: until lifted)."""
    engine = desk.operator.engine
    async with desk.lock:
        acct = desk.require(account_id)
        now = engine.clock.now_ms()
        until = None if hours == 0 else now + int(hours * HOUR_MS)
        for symbol in symbols:
            engine.holds.hold(account_id, symbol, until, "you closed it with /close")
            if symbol in acct.ledger.positions:
                await engine.executor.exit_position(acct, symbol, "investor")
    # Written now, not at the next checkpoint: a restart must not forget the hold.
    await desk.operator.save_now()
    await desk.operator.audit(actor, "operator.close", account_id, symbols=symbols, until=until)
    return until


def holds(desk: InvestorDesk, account_id: str) -> Mapping[str, Hold]:
    """The symbols held from the account's agent now (``ALL``: every one)."""
    engine = desk.operator.engine
    return engine.holds.active(account_id, engine.clock.now_ms())


async def hold_all(desk: InvestorDesk, account_id: str, reason: str) -> None:
    """Hold every symbol from the agent until lifted (a ``/demo`` account is traded by hand)."""
    async with desk.lock:
        desk.operator.engine.holds.hold(account_id, ALL, None, reason)


async def allow(desk: InvestorDesk, account_id: str, symbol: str, actor: str) -> bool:
    """Lift the hold on ``symbol`` (``ALL``: every one); False when there was none."""
    async with desk.lock:
        lifted = desk.operator.engine.holds.lift(account_id, symbol)
    if lifted:
        await desk.operator.save_now()
        await desk.operator.audit(actor, "operator.allow", account_id, symbol=symbol)
    return bool(lifted)


def market(desk: InvestorDesk, account_id: str) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """The marks and each traded symbol's tick size, for proposing a trade."""
    engine = desk.operator.engine
    acct = desk.require(account_id)
    ticks = {s: engine.venue.instrument(s).tick_size for s in acct.spec.symbols}
    return dict(engine.marks), ticks


def llm(desk: InvestorDesk) -> Any:
    """The session's language model for reading a proposal in words (None: parse offline)."""
    return getattr(desk.session, "llm", None)


def check(desk: InvestorDesk, intent: Intent) -> str | None:
    """The risk engine's refusal of ``intent`` now (None: it would pass); changes nothing."""
    engine = desk.operator.engine
    acct = desk.require(intent.account_id)
    verdict = engine.risk.check(intent, engine.risk_context(acct, intent.symbol, intent.ts))
    return None if verdict.approved else str(verdict.message)


async def place(desk: InvestorDesk, intent: Intent, actor: str) -> Placed:
    """Send the investor's intent through the risk engine and, approved, to the venue."""
    engine = desk.operator.engine
    async with desk.lock:
        acct = desk.require(intent.account_id)
        approved = await engine.handle_intent(acct, intent)
    reason = ""
    if not approved:
        reason = acct.rejections[-1].message if acct.rejections else "the risk engine refused it"
    await desk.operator.audit(
        actor, "operator.intent", intent.account_id, symbol=intent.symbol, approved=approved
    )
    return Placed(bool(approved), reason)


__all__ = ["ALL", "Placed", "allow", "check", "close", "hold_all", "holds", "market", "place"]
