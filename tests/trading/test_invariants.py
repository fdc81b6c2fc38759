"""Property tests over random candle paths and random intents (design §4)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.domain.events import Event, FillBooked, OrderUpdated
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import OrderStatus, Side, can_transition
from rampart.risk.profiles import get_profile
from rampart.trading.invariants import EQUITY_TOLERANCE

from .helpers import SYMBOL, ScriptedAgent, build, candle

step = st.tuples(
    st.floats(-0.04, 0.04),  # close-to-close return
    st.floats(0.0, 0.03),  # extra range above
    st.floats(0.0, 0.03),  # extra range below
    st.floats(0.0, 500.0),  # volume (0: flat, illiquid bar)
)
order_plan = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["open", "open", "close", "sell_open"]),
        st.floats(0.002, 0.09),  # stop distance
        st.floats(0.5, 4.0),  # reward:risk
        st.floats(0.05, 1.0),  # size hint
    ),
)


def path(steps: list[tuple[float, float, float, float]]) -> list:
    price = 30_000.0
    out = []
    for i, (ret, up, down, vol) in enumerate(steps):
        o = price
        c = round(max(o * (1 + ret), 1.0), 2)
        h = round(max(o, c) * (1 + up), 2)
        low = round(min(o, c) * (1 - down), 2)
        out.append(candle(i, o, h, low, c, round(vol, 4)))
        price = c
    return out


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    steps=st.lists(step, min_size=5, max_size=60),
    plans=st.lists(order_plan, min_size=60, max_size=60),
    profile=st.sampled_from(["conservative", "moderate", "aggressive"]),
)
def test_invariants_hold_after_every_event(steps, plans, profile) -> None:
    asyncio.run(_run(steps, plans, profile))


async def _run(steps, plans, profile_name) -> None:
    profile = get_profile(profile_name)

    def script(index: int, view) -> list[Intent]:
        plan = plans[index % len(plans)]
        if plan is None:
            return []
        kind, stop_dist, rr, hint = plan
        entry = dec(view.candle.close)
        stop = view.instrument.round_price(entry * (1 - dec(round(stop_dist, 4))))
        take = view.instrument.round_price(entry + (entry - stop) * dec(round(rr, 2)))
        side = Side.SELL if kind == "sell_open" else Side.BUY
        action = IntentAction.CLOSE if kind == "close" else IntentAction.OPEN
        if action is IntentAction.CLOSE:
            side = Side.SELL
        return [
            Intent(
                account_id=view.account_id,
                symbol=SYMBOL,
                side=side,
                action=action,
                entry_price=entry,
                stop_loss=stop,
                take_profit=take,
                size_hint=dec(round(hint, 2)),
                agent="scripted",
                ts=view.ts,
            )
        ]

    agent = ScriptedAgent(script)
    engine, venue, clock, bus = await build(agent, profile=profile_name)
    acct = engine.accounts["a1"]
    last_status: dict[str, OrderStatus] = {}
    problems: list[str] = []

    def check(event: Event) -> None:
        ledger = acct.ledger
        gap = abs(ledger.equity(engine.marks) - ledger.pnl_equity(engine.marks))
        if gap > ledger.capital * EQUITY_TOLERANCE:
            problems.append(f"equity identity broken after {type(event).__name__}")
        if ledger.cash < 0:
            problems.append(f"negative cash {ledger.cash}")
        if isinstance(event, FillBooked) and event.fill.fee < 0:
            problems.append("negative fee")
        if isinstance(event, OrderUpdated):
            order = event.order
            before = last_status.get(order.client_id)
            # The same status again is no transition: an order re-sized in place.
            changed = before is not order.status
            if before is not None and changed and not can_transition(before, order.status):
                problems.append(f"{before} -> {order.status}")
            last_status[order.client_id] = order.status

    bus.subscribe(check)
    original = engine.risk.check

    def audited(intent, ctx):
        verdict = original(intent, ctx)
        if verdict.approved and intent.action is IntentAction.OPEN:
            risk = (intent.entry_price - intent.stop_loss) * verdict.qty
            if risk > profile.risk_per_trade * ctx.equity:
                problems.append(f"risk {risk} above limit of equity {ctx.equity}")
        return verdict

    engine.risk.check = audited  # type: ignore[method-assign]
    for c in path(steps):
        clock.set(c.close_ts)
        await engine.on_candle(c)
        balances = await venue.fetch_balances("a1")
        for bal in balances.values():
            if bal.free < 0 or bal.locked < 0:
                problems.append(f"negative venue balance {bal}")
        for pos in acct.ledger.positions.values():
            if not engine.executor.is_protected(acct, pos):
                problems.append(f"unprotected position {pos.symbol}")
    assert problems == []
    assert engine.violations == 0
    # The venue's cash and the ledger's cash are the same money.
    balances = await venue.fetch_balances("a1")
    assert balances["USDT"].total == acct.ledger.cash
    held = balances.get("BTC")
    pos = acct.ledger.positions.get(SYMBOL)
    assert (held.total if held else Decimal(0)) == (pos.qty if pos else Decimal(0))
