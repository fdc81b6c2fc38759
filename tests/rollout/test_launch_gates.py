"""The launch plans' gates (DESIGN §6): a P1 during the stage window blocks the promotion (and
never rolls back); a P0 anywhere in the window fails, also one opened and resolved inside it;
leaving ``limited`` needs 5 investors trading; raising capital needs the window's trading
profitable and its Sharpe at least buy-and-hold's + 0.3 on the same candles."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.performance import HOUR_MS, compare_with_buy_and_hold
from rampart.rollout.controller import RolloutController
from rampart.rollout.gonogo import go_nogo
from rampart.rollout.measure_launch import (
    basket,
    incidents_in_window,
    profit,
    sharpe_vs_hold,
    users_trading,
)
from rampart.rollout.rules.decide import Outcome, decide
from rampart.rollout.rules.gates import (
    P1_INCIDENTS,
    PROFIT,
    SHARPE_VS_HOLD,
    TRADING_USERS,
    Measurement,
    Verdict,
    default_gates,
    evaluate,
)
from rampart.rollout.state import RolloutState, save_state
from rampart.store.db import open_database
from rampart.store.models import accounts, equity_snapshots, incidents, orders, trades

from .test_gonogo import T0, _healthy, _orders

DAY = 24 * HOUR_MS


@pytest.fixture
def db(tmp_path) -> sa.Engine:  # type: ignore[no-untyped-def]
    engine = open_database(f"sqlite:///{tmp_path / 'gates.db'}")
    yield engine
    engine.dispose()


def _gate(metric: str):  # type: ignore[no-untyped-def]
    return next(g for g in default_gates() if g.metric == metric)


def _incident(db: sa.Engine, key: str, severity: str, opened: int, resolved: int | None) -> None:
    with db.begin() as conn:
        conn.execute(
            incidents.insert().values(
                key=key,
                rule="WorkerDown" if severity == "P1" else "DatabaseDown",
                severity=severity,
                status="resolved" if resolved else "open",
                summary="x",
                value=0.0,
                threshold=1.0,
                labels={},
                opened_at=opened,
                resolved_at=resolved,
                notifications=0,
            )
        )


def test_incidents_count_over_the_whole_window_not_only_open_ones(db: sa.Engine) -> None:
    start, end = T0, T0 + DAY
    _incident(db, "before", "P0", start - 3 * HOUR_MS, start - HOUR_MS)  # over before it
    assert incidents_in_window(db, "P0", start, end).value == 0
    _incident(db, "inside", "P0", start + HOUR_MS, start + 2 * HOUR_MS)  # opened and resolved
    assert incidents_in_window(db, "P0", start, end).value == 1
    _incident(db, "worker", "P1", start + HOUR_MS, start + HOUR_MS + 60_000)
    found = incidents_in_window(db, "P1", start, end)
    assert (found.value, found.samples) == (1, 1)
    assert evaluate(_gate(P1_INCIDENTS), found).verdict is Verdict.FAIL


def test_a_p1_in_the_window_blocks_the_promotion_and_never_rolls_back() -> None:
    gate = _gate(P1_INCIDENTS)
    assert gate.failure_limit == 0
    result = evaluate(gate, Measurement(1.0, 1))
    streaks: dict[str, int] = {}
    for _ in range(20):  # the P1 stays in the window for days: every evaluation fails
        decision = decide(
            [result],
            streaks=streaks,
            in_stage_ms=10 * DAY,
            min_duration_ms=DAY,
            approval="auto",
            has_next=True,
            has_previous=True,
        )
        assert decision.outcome is Outcome.HOLD, decision.reason
        assert "no P1 incident in the window" in decision.reason
        streaks = decision.streaks
    clean = evaluate(gate, Measurement(0.0, 1))
    decision = decide(
        [clean],
        streaks=streaks,
        in_stage_ms=10 * DAY,
        min_duration_ms=DAY,
        approval="auto",
        has_next=True,
        has_previous=True,
    )
    assert decision.outcome is Outcome.PROMOTE


def _owners(db: sa.Engine, n: int) -> None:
    with db.begin() as conn:
        for i in range(n):
            conn.execute(
                accounts.insert().values(
                    account_id=f"acct-{i}",
                    owner=f"investor-{i}",
                    agent="trend",
                    profile="moderate",
                    capital=Decimal(1000),
                    quote="USDT",
                    symbols=["BTC/USDT"],
                    state="active",
                    paused=False,
                    created_at=T0,
                    updated_at=T0,
                )
            )


def test_leaving_limited_needs_five_investors_trading(db: sa.Engine) -> None:
    settings = load_settings(rollout={"enabled": True})
    limited = settings.rollout.stage("limited")
    assert limited is not None and limited.min_users == 5
    assert settings.rollout.stage("internal").min_users is None  # type: ignore[union-attr]
    _owners(db, 5)
    now = T0 + DAY
    for i in range(4):
        _orders(db, 1, now - HOUR_MS + i)
        with db.begin() as conn:  # each order belongs to another investor's account
            conn.execute(
                orders.update()
                .where(orders.c.created_at == now - HOUR_MS + i)
                .values(account_id=f"acct-{i}")
            )
    ctl = RolloutController(settings.rollout, db, SimClock(now))
    with db.begin() as conn:
        save_state(conn, RolloutState(stage="limited", entered_at=T0), T0)
    gates = {g.metric: g for g in ctl.gates()}
    assert gates[TRADING_USERS].threshold == 5 and gates[TRADING_USERS].failure_limit == 0
    four = evaluate(gates[TRADING_USERS], users_trading(db, T0, now + 1))
    assert four.verdict is Verdict.FAIL and four.value == 4
    _orders(db, 1, now - 10)
    with db.begin() as conn:
        conn.execute(
            orders.update().where(orders.c.created_at == now - 10).values(account_id="acct-4")
        )
    five = evaluate(gates[TRADING_USERS], users_trading(db, T0, now + 1))
    assert five.verdict is Verdict.PASS and five.value == 5


def _trades(db: sa.Engine, pnls: list[str], at: int) -> None:
    with db.begin() as conn:
        for i, pnl in enumerate(pnls):
            conn.execute(
                trades.insert().values(
                    account_id="a1",
                    symbol="BTC/USDT",
                    strategy="trend",
                    entry_client_id=f"t-{at}-{i}",
                    opened_at=at + i,
                    closed_at=at + i + 1,
                    qty=Decimal(1),
                    entry_price=Decimal(100),
                    exit_price=Decimal(100),
                    gross_pnl=Decimal(pnl),
                    fees=Decimal(0),
                    pnl=Decimal(pnl),
                    exit_reason="take_profit",
                    stop_loss=Decimal(98),
                    take_profit=Decimal(104),
                    risk=Decimal(2),
                )
            )


def test_trading_must_be_profitable_over_the_window(db: sa.Engine) -> None:
    gate = _gate(PROFIT)
    _trades(db, ["5"] * 5 + ["-4"] * 4, T0)  # nine trades: too few for a verdict
    assert evaluate(gate, profit(db, T0, T0 + DAY)).verdict is Verdict.INCONCLUSIVE
    _trades(db, ["-1"], T0 + HOUR_MS)  # ten, +8 in all
    won = evaluate(gate, profit(db, T0, T0 + DAY))
    assert (won.verdict, won.value, won.samples) == (Verdict.PASS, 8.0, 10)
    _trades(db, ["-8"], T0 + 2 * HOUR_MS)  # break-even is not profitable
    assert evaluate(gate, profit(db, T0, T0 + DAY)).verdict is Verdict.FAIL


def _curves(edge: float, hours: int = 72) -> tuple[list[tuple[int, float]], dict]:  # type: ignore[type-arg]
    """An hourly equity curve and the market's closes over the same hours (the same seeded
    noise, the strategy's drift ``edge`` per hour above the market's)."""
    rng = random.Random(7)
    equity, closes = [], []
    value, price = 10_000.0, 100.0
    for h in range(hours):
        move = rng.gauss(0.0, 0.004)
        price *= 1 + move + 0.0002
        value *= 1 + 0.5 * move + edge
        ts = T0 + h * HOUR_MS
        equity.append((ts, value))
        closes.append((ts, price))
    return equity, {"BTC/USDT": closes}


def _snapshots(db: sa.Engine, curve: list[tuple[int, float]]) -> None:
    with db.begin() as conn:
        for ts, value in curve:
            for account, share in (("a1", 0.25), ("a2", 0.75)):  # summed over accounts
                conn.execute(
                    equity_snapshots.insert().values(
                        account_id=account,
                        ts=ts,
                        cash=Decimal(str(value * share)),
                        positions_value=Decimal(0),
                        equity=Decimal(str(value * share)),
                        realized_pnl=Decimal(0),
                    )
                )


@pytest.mark.parametrize("edge, verdict", [(0.002, Verdict.PASS), (0.0, Verdict.FAIL)])
def test_sharpe_against_buy_and_hold_on_the_same_candles(
    db: sa.Engine, edge: float, verdict: Verdict
) -> None:
    curve, closes = _curves(edge)
    _snapshots(db, curve)
    end = T0 + 72 * HOUR_MS
    measured = sharpe_vs_hold(db, T0, end, lambda s, e: closes, fee=0.001)
    # The research tools' arithmetic, on the same candles (domain.performance, one module).
    comp = compare_with_buy_and_hold(curve, closes["BTC/USDT"], HOUR_MS, fee=0.001)
    assert comp.strategy.sharpe is not None and comp.hold.sharpe is not None
    assert measured.value == pytest.approx(comp.strategy.sharpe - comp.hold.sharpe, rel=1e-9)
    assert measured.samples == 71 and "buy-and-hold" in measured.detail
    result = evaluate(_gate(SHARPE_VS_HOLD), measured)
    assert result.verdict is verdict, result.reason
    assert (comp.beats is True) == (verdict is Verdict.PASS)
    no_candles = sharpe_vs_hold(db, T0, end, None, fee=0.001)
    assert evaluate(_gate(SHARPE_VS_HOLD), no_candles).verdict is Verdict.INCONCLUSIVE


def test_the_basket_is_an_equal_weight_of_the_symbols() -> None:
    a = [(0, 100.0), (1, 110.0), (2, 120.0)]
    b = [(0, 10.0), (1, 9.0), (2, 10.0), (3, 11.0)]
    assert basket([a, b]) == [(0, 1.0), (1, 1.0), (2, 1.1)]
    assert math.isclose(basket([a])[-1][1], 1.2)


def test_go_nogo_shows_the_new_gates_with_their_samples(db: sa.Engine) -> None:
    settings = load_settings(rollout={"enabled": True, "approval": "operator"})
    clock = SimClock(T0)
    curve, closes = _curves(0.002, hours=30)
    ctl = RolloutController(
        settings.rollout, db, clock, uptime_grace_ms=HOUR_MS, closes=lambda s, e: closes
    )
    assert ctl.state().stage == "internal"  # entered at T0: the window starts there
    clock.set(T0 + 25 * HOUR_MS)
    _healthy(db, clock.now_ms())
    _snapshots(db, curve[:26])
    _trades(db, ["3"] * 12, T0 + HOUR_MS)
    by_name = {c.name: c for c in go_nogo(settings, ctl).criteria}
    assert by_name["no P1 incident in the window"].verdict is Verdict.PASS
    assert by_name["trading profitable"].measured == "+36.00 (12 samples)"
    assert by_name["trading profitable"].verdict is Verdict.PASS
    sharpe = by_name["Sharpe vs buy-and-hold"]
    # The window is the internal stage's 48 h (plan 004's watch): every hourly return since T0.
    assert sharpe.measured.endswith("(24 samples)"), sharpe
    assert sharpe.verdict is Verdict.PASS, sharpe
    assert ">= +0.30" in sharpe.threshold
