"""Property: on a DEX no position is ever unprotected, whatever the prices do.

Nothing rests on the chain, so the engine's position monitor holds every bracket. Over random
paths of candles and ticks between them (each price first set on the stand-in's pools, as an
arbitrageur would, then shown to the engine) and random long entries with a bracket around the
close, after every candle and every tick:

1. every open position is protected and the engine counted no violation;
2. every open position sits strictly between its stop-loss and take-profit: a price at or
   through either level took the position out on that very update (the exit swap landed
   before ``on_price`` / ``on_candle`` returned);
3. the books equal the wallet on chain to the base unit (cash == USDC, position == SOL);
4. every swap that landed clean on chain is exactly one booked fill (the same signature, the
   same base amount), and no fill was booked without one.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.events import Event, FillBooked
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.trading.engine import Engine
from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

from .venue_kit import engine_on_stand_in

SYMBOL = "SOL/USDC"
MINUTE = 60_000
TICK_MS = 5_000
START = Decimal(150)
CENT = Decimal("0.01")

# An entry: stop distance in bps (inside the aggressive profile's 1-8 %), reward:risk in
# percent (at least its 1.0) and a size hint.
entry_plan = st.one_of(
    st.none(),
    st.tuples(
        st.integers(120, 600),
        st.integers(100, 250),
        st.sampled_from(["0.2", "0.5", "1"]),
    ),
)
# A move in bps from the last price: a candle closing there (maybe with an entry at its close)
# or a tick between candles. Moves up to 8 % cross a stop or a target often.
step = st.one_of(
    st.tuples(st.just("candle"), st.integers(-800, 800), entry_plan),
    st.tuples(st.just("tick"), st.integers(-800, 800), st.none()),
)
Step = tuple[str, int, Any]


class PlannedLongs(AgentBase):
    """Opens a long at the close of the candles whose plan says so, bracket around the close."""

    name = "planned-longs"
    warmup = 0

    def __init__(self) -> None:
        self.plan: Any = None

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
        plan, self.plan = self.plan, None
        if plan is None:
            return []
        stop_bps, rr_pct, hint = plan
        entry = view.candle.close_dec
        inst = view.instrument
        stop = inst.round_price(entry * (1 - Decimal(stop_bps).scaleb(-4)))
        take = inst.round_price(entry + (entry - stop) * Decimal(rr_pct).scaleb(-2))
        return [
            Intent(
                view.account_id,
                SYMBOL,
                Side.BUY,
                IntentAction.OPEN,
                entry,
                stop,
                take,
                agent=self.name,
                ts=view.ts,
                size_hint=Decimal(hint),
            )
        ]


def _prices(steps: list[Step]) -> list[Decimal]:
    price, out = START, []
    for _, bps, _ in steps:
        price = (price * (1 + Decimal(bps).scaleb(-4))).quantize(CENT)
        price = min(max(price, Decimal(40)), Decimal(600))
        out.append(price)
    return out


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(step, min_size=1, max_size=12))
# Always tried: an entry, a tick through its stop; an entry, a tick through its target; an
# entry, a candle closing through its stop with no new entry.
@example(
    steps=[
        ("candle", 0, (300, 150, "0.5")),
        ("tick", -100, None),
        ("tick", -400, None),
        ("candle", 0, (300, 100, "1")),
        ("tick", 500, None),
        ("candle", 0, (200, 100, "0.2")),
        ("candle", -300, None),
    ]
)
def test_no_position_is_unprotected_and_books_equal_the_chain(steps: list[Step]) -> None:
    asyncio.run(_run(steps))


async def _run(steps: list[Step]) -> None:
    kp = Keypair()
    pubkey = str(kp.pubkey())
    events: list[Event] = []
    agent = PlannedLongs()
    async with start_solana_sim(slot_ms=0, markets={SYMBOL: str(START)}) as sim:
        sim.fund(pubkey, lamports=10**9, tokens={"USDC": 1000 * 10**6})
        async with httpx.AsyncClient() as http:
            clock = SimClock(0)
            engine = await engine_on_stand_in(sim, http, kp, clock, agent, events)
            acct = engine.accounts["a1"]

            candle_no = 0
            prev = START
            now = 0
            for (kind, _, plan), price in zip(steps, _prices(steps), strict=True):
                sim.set_price(SYMBOL, str(price))
                if kind == "candle":
                    candle_no += 1
                    now = candle_no * MINUTE
                    clock.set(now)
                    agent.plan = plan
                    o, c = float(prev), float(price)
                    bar = Candle(SYMBOL, now - MINUTE, o, max(o, c), min(o, c), c, 1e6, MINUTE)
                    await engine.on_candle(bar)
                    where = f"candle {candle_no} at {price}"
                else:
                    now += TICK_MS
                    clock.set(now)
                    await engine.on_price(SYMBOL, price)
                    where = f"tick at {price}"
                prev = price
                _check(engine, acct, sim, pubkey, events, price, where)
    assert engine.violations == 0


def _check(
    engine: Engine,
    acct: Any,
    sim: SolanaSimHandle,
    pubkey: str,
    events: list[Event],
    price: Decimal,
    where: str,
) -> None:
    ledger = acct.ledger
    # (1) and (2): protected, and between its levels (else the monitor would have sold it).
    for pos in ledger.positions.values():
        assert engine.executor.is_protected(acct, pos), f"unprotected after {where}"
        assert pos.stop_loss < price < pos.take_profit, (
            f"position left open after {where}: stop {pos.stop_loss}, target {pos.take_profit}"
        )
    assert engine.violations == 0, f"violation after {where}"

    # (3) the books are the wallet, to the base unit.
    state = sim.state()
    tokens = state["wallets"][pubkey]["tokens"]
    usdc = Decimal(tokens.get(sim.mint("USDC"), 0)).scaleb(-6)
    sol = Decimal(tokens.get(sim.mint("SOL"), 0)).scaleb(-9)
    pos = ledger.positions.get(SYMBOL)
    assert ledger.cash == usdc, f"cash {ledger.cash} != wallet {usdc} after {where}"
    assert (pos.qty if pos else Decimal(0)) == sol, f"position != wallet {sol} after {where}"

    # (4) one clean swap on chain = one booked fill, matched by signature and base amount.
    booked = [e.fill for e in events if isinstance(e, FillBooked)]
    assert ledger.fills_booked == len(booked)
    by_sig: dict[str, list[Any]] = {}
    for fill in booked:
        by_sig.setdefault(fill.fill_id.rsplit(":", 1)[-1], []).append(fill)
    clean = [tx for tx in state["transactions"] if tx["err"] is None]
    assert len(clean) == len(booked), f"{len(clean)} clean swaps, {len(booked)} fills ({where})"
    for tx in clean:
        fills = by_sig.get(tx["signature"], [])
        assert len(fills) == 1, f"swap {tx['signature']} booked {len(fills)} times ({where})"
        fill = fills[0]
        base = tx["out_amount"] if fill.side is Side.BUY else tx["in_amount"]
        assert fill.qty == Decimal(base).scaleb(-9)
