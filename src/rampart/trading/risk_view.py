"""The risk engine's view of one account at one moment (:class:`RiskContext`), built by the
engine for every intent from the account's ledger, its working orders and the engine's gates."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from rampart.domain.accounts import TradingState
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, Side
from rampart.risk.checks import RiskContext
from rampart.trading.account import AccountRuntime

if TYPE_CHECKING:
    from rampart.domain.stages import Stage
    from rampart.trading.controls import Controls
    from rampart.trading.ports import Venue


class GatedEngine(Protocol):
    """What the view reads on the engine (the :class:`Engine` asking): marks, fee, stage and
    the gates it keeps."""

    @property
    def marks(self) -> dict[str, Decimal]: ...

    @property
    def taker_fee(self) -> Decimal: ...

    @property
    def stage(self) -> Stage: ...

    @property
    def venue(self) -> Venue: ...

    @property
    def controls(self) -> Controls: ...

    @property
    def data_ts(self) -> dict[str, int]: ...

    @property
    def stale_symbols(self) -> set[str]: ...

    @property
    def suspect_symbols(self) -> set[str]: ...

    @property
    def store_down(self) -> bool: ...

    @property
    def commands_stale(self) -> bool: ...


def risk_context(engine: GatedEngine, acct: AccountRuntime, symbol: str, now: int) -> RiskContext:
    """What the risk engine is told about one account and symbol now: its equity and free
    cash, the working orders' holds and entries, the gates that apply."""
    acct.trim_recent(now)
    ledger = acct.ledger
    pos = ledger.positions.get(symbol)
    spec = acct.spec
    marks = engine.marks
    # One pass over the working orders: the cash their buys hold, the entries waiting (one
    # still filling a position is that position, not a second one), and what this
    # symbol's entries may still buy (a cancel not yet confirmed included: the entry can
    # fill until the venue says it is gone).
    locked = working_qty = working_value = ZERO
    entries = 0
    pending = acct.pending_cancel
    positions = ledger.positions
    for order in acct.orders.values():
        if order.side is Side.BUY and order.is_open:
            price = order.price or marks.get(order.symbol, ZERO)
            locked += order.remaining * price * (1 + engine.taker_fee)
        if order.role is OrderRole.ENTRY:
            if order.client_id not in pending and order.symbol not in positions:
                entries += 1
            if order.symbol == symbol:
                working_qty += order.remaining
                working_value += order.remaining * (order.price or marks.get(symbol, ZERO))
    return RiskContext(
        account_id=spec.account_id,
        owner=spec.owner,
        profile_name=spec.profile,
        profile=acct.profile,
        stage=engine.stage,
        instrument=engine.venue.instrument(symbol),
        state=acct.state,
        paused=acct.paused,
        global_kill=engine.controls.global_kill,
        cooldown_until_ms=acct.breakers.cooldown_until_ms,
        equity=ledger.equity(marks),
        free_cash=ledger.cash - locked,
        capital=spec.capital,
        open_positions=len(positions) + entries,
        position_qty=pos.qty if pos else ZERO,
        working_qty=working_qty,
        working_value=working_value,
        last_price=marks.get(symbol, ZERO),
        data_ts=engine.data_ts.get(symbol, 0),
        now_ms=now,
        recent_order_ts=tuple(acct.recent_order_ts),
        taker_fee=engine.taker_fee,
        feed_stale=symbol in engine.stale_symbols,
        data_suspect=symbol in engine.suspect_symbols,
        store_down=engine.store_down,
        commands_stale=engine.commands_stale,
        position_price=pos.avg_price if pos else ZERO,
        position_stop=pos.stop_loss if pos else ZERO,
        position_take=pos.take_profit if pos else ZERO,
        # Worked out only when a gate will refuse, so the refusal can say why.
        restrictions=(
            tuple(engine.controls.restrictions(acct))
            if acct.paused or engine.controls.global_kill or acct.state is not TradingState.ACTIVE
            else ()
        ),
    )
