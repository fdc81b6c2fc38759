"""Properties of approval and sizing over random accounts, prices, fees, lots and profiles."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.domain.money import dec
from rampart.risk.checks import RiskContext, RiskEngine, RiskVerdict
from rampart.risk.profiles import DEFAULT_PROFILES
from rampart.risk.sizing import size_entry

from .helpers import buy, make_ctx

D = Decimal
ENGINE = RiskEngine()
TICKS = [D("1e-8"), D("0.000001"), D("0.0001"), D("0.01"), D("1")]
LOTS = [D("1e-8"), D("0.00001"), D("0.001"), D("0.1"), D("1")]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Intent, RiskContext]:
    profile = draw(st.sampled_from(list(DEFAULT_PROFILES.values())))
    tick = draw(st.sampled_from(TICKS))
    entry_ticks = draw(st.integers(100, 10**7))
    # Mostly a plausible entry (stop and reward:risk inside the profile, cash mostly free) so
    # most cases reach sizing; a fifth anywhere, so rejections are exercised too.
    inside = draw(st.integers(0, 4)) > 0
    low, high = (profile.min_stop, profile.max_stop) if inside else (D("0.005"), D("0.1"))
    stop_frac = draw(st.decimals(low, high, places=4))
    stop_ticks = max(int((entry_ticks * (1 - stop_frac)).to_integral_value(ROUND_FLOOR)), 1)
    least_rr = profile.min_rr if inside else D("0.8")
    reward_risk = draw(st.decimals(least_rr, D("4"), places=2))
    take_ticks = entry_ticks + int(
        ((entry_ticks - stop_ticks) * reward_risk).to_integral_value(ROUND_CEILING)
    )
    lot = draw(st.sampled_from(LOTS))
    instrument = Instrument(
        "BASE/QUOTE",
        "BASE",
        "QUOTE",
        tick,
        lot,
        lot * draw(st.integers(1, 10)),
        draw(st.sampled_from([D("0"), D("0.0001"), D("5"), D("10")])),
    )
    equity = draw(st.decimals(D("0.01"), D("10000000"), places=2))
    least_cash = D("0.5") if inside else D("-0.1")
    free_cash = equity * draw(st.decimals(least_cash, D("1"), places=3))
    ctx = make_ctx(
        profile=profile,
        profile_name=profile.name,
        instrument=instrument,
        equity=equity,
        free_cash=free_cash,
        capital=equity,
        taker_fee=draw(st.sampled_from([D("0"), D("0.0001"), D("0.001"), D("0.0075")])),
    )
    intent = buy(
        entry=str(tick * entry_ticks),
        stop=str(tick * stop_ticks),
        take=str(tick * take_ticks),
        symbol="BASE/QUOTE",
        size_hint=draw(st.decimals(D("0.01"), D("1"), places=2)),
    )
    return intent, ctx


def assert_sound(intent: Intent, ctx: RiskContext, verdict: RiskVerdict) -> None:
    if not verdict.approved:
        assert verdict.qty == 0 and verdict.risk_amount == 0
        assert verdict.code is not None and verdict.message.strip()
        return
    p, inst = ctx.profile, ctx.instrument
    entry, stop, qty = intent.entry_price, intent.stop_loss, verdict.qty
    with localcontext() as exact:
        exact.prec = 200  # every product below is exact at this precision
        assert verdict.code is None
        assert (entry - stop) * qty <= p.risk_per_trade * ctx.equity
        assert verdict.risk_amount == (entry - stop) * qty
        assert qty * entry <= p.max_position * ctx.equity
        assert qty * entry * (1 + ctx.taker_fee) <= ctx.free_cash
        assert qty % inst.lot_size == 0
        assert qty >= inst.min_qty and qty > 0
        assert qty * entry >= inst.min_notional
        # Sizing is not timid either: one more lot would break a cap scaled by the hint.
        more, hint = qty + inst.lot_size, intent.size_hint
        assert (
            (entry - stop) * more > p.risk_per_trade * ctx.equity * hint
            or more * entry > p.max_position * ctx.equity * hint
            or more * entry * (1 + ctx.taker_fee) > ctx.free_cash * hint
        )


def test_every_verdict_respects_the_limits() -> None:
    approved: list[bool] = []

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios())
    def run(case: tuple[Intent, RiskContext]) -> None:
        intent, ctx = case
        verdict = ENGINE.check(intent, ctx)
        assert_sound(intent, ctx, verdict)
        approved.append(verdict.approved)

    run()
    # The property must not hold vacuously: a good share of random cases is approved
    # (typically a third; Hypothesis' early examples favour edge values, so the bar is lower).
    assert sum(approved) >= len(approved) // 10, f"{sum(approved)} of {len(approved)} approved"


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_size_entry_alone_never_exceeds_a_cap(case: tuple[Intent, RiskContext]) -> None:
    intent, ctx = case
    qty = size_entry(intent, ctx)
    p = ctx.profile
    with localcontext() as exact:
        exact.prec = 200
        assert qty >= 0 and qty % ctx.instrument.lot_size == 0
        entry, stop = intent.entry_price, intent.stop_loss
        assert (entry - stop) * qty <= p.risk_per_trade * ctx.equity
        assert qty * entry <= p.max_position * ctx.equity
        assert qty * entry * (1 + ctx.taker_fee) <= max(ctx.free_cash, D(0))


def test_tiny_real_prices_size_soundly(shared_data: Path) -> None:
    """NXT/BTC trades near 0.00003 BTC: sizing must keep its precision at that scale."""
    frame = pd.read_feather(shared_data / "NXT_BTC-5m.feather")
    closes = frame["close"].iloc[::40].tolist()
    approved = 0
    for close in closes:
        inst = Instrument.for_price("NXT/BTC", close)
        entry = dec(close)
        stop = inst.round_price(entry * D("0.98"))
        take = inst.round_price(entry + (entry - stop) * 2)
        ctx = make_ctx(
            instrument=inst,
            equity=D("0.5"),
            free_cash=D("0.5"),
            capital=D("0.5"),
        )
        intent = buy(str(entry), str(stop), str(take), symbol="NXT/BTC")
        verdict = ENGINE.check(intent, ctx)
        assert_sound(intent, ctx, verdict)
        approved += verdict.approved
        if not verdict.approved:
            # Only a stop that the tick rounding pushed outside the profile may fail here.
            assert verdict.code is not None and verdict.code.value.startswith("stop_too")
    assert approved >= len(closes) * 9 // 10
