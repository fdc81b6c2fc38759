"""The order accounts are served in rotates, so that no investor is always last when every
account acts on one candle; and every account's order is out before any answer is applied.

Deterministic: ranks are read from the order of the events, never from a clock.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from rampart.agents.base import AgentView
from rampart.domain.events import Event, OrderUpdated
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import OrderStatus, Side
from rampart.risk.breakers import Breakers
from rampart.trading.serving import serving_order, start_of

from .helpers import SYMBOL, ScriptedAgent, build, candle, long_intent

CANDLES = 100
"""The issue's measure: each account's mean rank over 100 all-act candles."""


def _within_a_tenth_of_the_middle(ranks: list[list[int]], n: int) -> list[float]:
    """Each account's mean rank off the middle, as a fraction of the middle."""
    middle = (n - 1) / 2
    return [abs(sum(r) / len(r) - middle) / middle for r in ranks]


@pytest.mark.parametrize("n", [2, 7, 1_000, 10_000])
@pytest.mark.parametrize("first_turn", [0, 12_345])
def test_over_any_100_turns_every_mean_rank_is_within_a_tenth_of_the_middle(
    n: int, first_turn: int
) -> None:
    ranks: list[list[int]] = [[] for _ in range(n)]
    for turn in range(first_turn, first_turn + CANDLES):
        for rank, k in enumerate(serving_order(list(range(n)), turn)):
            ranks[k].append(rank)
    assert max(_within_a_tenth_of_the_middle(ranks, n)) <= 0.1
    lasts = {serving_order(list(range(n)), t)[-1] for t in range(first_turn, first_turn + CANDLES)}
    assert len(lasts) == min(n, CANDLES)  # a different account last on every turn


def test_the_first_turn_serves_in_the_order_accounts_were_added() -> None:
    assert serving_order([1, 2, 3], 0) == [1, 2, 3]
    assert start_of(5, 0) == 0  # no accounts: nothing to rotate
    assert all(0 <= start_of(t, 3) < 3 for t in range(50))


def _flip(i: int, view: AgentView) -> list[Intent]:
    """Every account opens on even candles and closes on odd ones: every candle, all act."""
    if view.position is not None:
        entry = dec(view.candle.close)
        return [Intent(view.account_id, SYMBOL, Side.SELL, IntentAction.CLOSE, entry, ts=view.ts)]
    return [long_intent(view, "0.98", "1.04")]


async def _all_act(n: int) -> tuple[list[list[int]], list[list[Event]]]:
    ids = [f"acct{k}" for k in range(n)]
    engine, _venue, clock, bus = await build(ScriptedAgent(_flip), capital="100000", accounts=ids)
    for account_id, acct in engine.accounts.items():
        # Flipping loses the fees each time: the breakers kept out, so every candle acts.
        relaxed = replace(acct.profile, consecutive_losses=10**9, max_orders_per_minute=10**6)
        acct.profile = relaxed
        engine.breakers[account_id] = Breakers(relaxed)
    events: list[Event] = []
    bus.subscribe(events.append)
    ranks: list[list[int]] = [[] for _ in range(n)]
    per_candle: list[list[Event]] = []
    for i in range(CANDLES):
        events.clear()
        c = candle(i, 100, 100.5, 99.5, 100 + (i % 3) * 0.1, 1e9)
        clock.set(c.close_ts)
        await engine.on_candle(c)
        sent = [
            e.order.account_id
            for e in events
            if isinstance(e, OrderUpdated)
            and e.order.status is OrderStatus.NEW
            and not e.order.role.protective
        ]
        assert sorted(sent) == sorted(ids)  # every account acted on this candle
        for rank, account_id in enumerate(sent):
            ranks[ids.index(account_id)].append(rank)
        per_candle.append(list(events))
    return ranks, per_candle


def test_when_every_account_acts_on_every_candle_no_investor_is_always_last() -> None:
    n = 20
    ranks, _ = asyncio.run(_all_act(n))
    assert max(_within_a_tenth_of_the_middle(ranks, n)) <= 0.1
    last = [k for k in range(n) for r in ranks[k] if r == n - 1]
    assert len(set(last)) == n  # every account was last some time, none always


def test_every_accounts_order_is_out_before_any_answer_is_applied() -> None:
    """The last account's order waits for no other account's fill and bracket."""
    _, per_candle = asyncio.run(_all_act(3))
    for events in per_candle[:4]:  # two entries and two exits
        updates = [e.order for e in events if isinstance(e, OrderUpdated)]
        sent = [
            i
            for i, o in enumerate(updates)
            if o.status is OrderStatus.NEW and not o.role.protective
        ]
        accepted = [i for i, o in enumerate(updates) if o.status is OrderStatus.SUBMITTED]
        assert len(sent) == 3 and accepted
        assert max(sent) < min(accepted)


def test_a_restored_engine_serves_in_the_order_the_saved_one_would_have() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        ids = ["a", "b", "c"]
        engine, _venue, clock, _bus = await build(
            ScriptedAgent(lambda i, view: []), capital="100000", accounts=ids
        )
        for i in range(6):  # the agent speaks (it is never quiet): six turns
            c = candle(i, 100, 100.5, 99.5, 100, 1e9)
            clock.set(c.close_ts)
            await engine.on_candle(c)
        again, _venue, _clock, _bus = await build(
            ScriptedAgent(lambda i, view: []), capital="100000", accounts=ids
        )
        again.load_snapshot(engine.snapshot())
        order = [s.account.account_id for s in engine._order[SYMBOL]]
        return order, [s.account.account_id for s in again._order[SYMBOL]]

    saved, restored = asyncio.run(scenario())
    assert saved != ["a", "b", "c"]  # it has moved on
    assert restored == saved
