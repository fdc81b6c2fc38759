"""The anomaly detector: each kind fires on a crafted case with its figures, and
stays quiet on ordinary figures just inside its limit; the robust statistics it stands on."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.events import (
    CapitalChanged,
    EquitySnapshot,
    Event,
    FillBooked,
    IntentRejected,
    OrderUpdated,
    ReconciliationRepaired,
)
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.risk.anomalies import (
    Anomaly,
    AnomalyDetector,
    AnomalyKind,
    AnomalyLimits,
    Band,
    fill_deviation,
    median,
    robust_sigma,
)

HOUR = 3_600_000
BAND = Band(Decimal("99"), Decimal("101"), Decimal("100"))
"""The last candle traded 99 to 101 and closed at 100."""


def detector(limits: AnomalyLimits | None = None, rate: int = 20) -> AnomalyDetector:
    return AnomalyDetector(limits or AnomalyLimits(), lambda _s, _t: BAND, lambda _a: rate)


def feed(d: AnomalyDetector, events: list[Event]) -> list[Anomaly]:
    return [a for e in events for a in d.on_event(e)]


def fill(price: str, side: Side = Side.BUY, ts: int = 0) -> FillBooked:
    f = Fill(
        f"f{price}", "c1", "a1", "BTC/USDT", side, Decimal(1), Decimal(price), Decimal(0),
        Liquidity.TAKER, ts,
    )  # fmt: skip
    return FillBooked(ts, f, "entry", "trend")


def snap(ts: int, equity: float, cash: float = 5000.0) -> EquitySnapshot:
    """Cash held still and a position worth the rest: a mark move, no fill."""
    eq, cash_d = Decimal(repr(equity)), Decimal(repr(cash))
    return EquitySnapshot(ts, "a1", cash_d, eq - cash_d, eq, Decimal(0))


# -- a fill far from the mark ------------------------------------------------------------------


def test_a_fill_5_percent_from_the_mark_fires_with_its_figures() -> None:
    """Tolerance 0.5 %: a buy at 106 is 5 % above the band's top (101) of a 100 mark."""
    [a] = feed(detector(), [fill("106")])
    assert a.kind is AnomalyKind.FILL_OFF_MARK and a.account_id == "a1"
    assert a.value == 0.05 and a.limit == 0.005
    assert "5.00 %" in a.figures and "0.50 %" in a.figures and "106" in a.figures


def test_fills_inside_the_band_or_within_tolerance_are_ordinary() -> None:
    d = detector()
    quiet = [fill("99"), fill("101"), fill("100.4"), fill("101.5"), fill("98.5", Side.SELL)]
    assert feed(d, quiet) == []
    # Just past the tolerance on either side fires.
    assert len(feed(d, [fill("101.51"), fill("98.49", Side.SELL)])) == 2


@given(
    low=st.decimals("1", "1000", places=2),
    width=st.decimals("0", "100", places=2),
    at=st.decimals("0", "1", places=3),
)
def test_a_price_inside_the_band_is_never_off(low: Decimal, width: Decimal, at: Decimal) -> None:
    high = low + width
    band = Band(low, high, low + width / 2)
    assert fill_deviation(low + width * at, band) == 0.0
    assert fill_deviation(high + band.mark / 100, band) == 0.01


# -- a PnL jump --------------------------------------------------------------------------------


def ordinary_returns(n: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0, 0.002) for _ in range(n)]


def equity_path(returns: list[float], start: float = 10_000.0) -> list[EquitySnapshot]:
    out, equity = [snap(0, start)], start
    for i, r in enumerate(returns, 1):
        equity *= 1 + r
        out.append(snap(i * HOUR, round(equity, 6)))
    return out


def test_a_10_sigma_pnl_jump_fires_and_ordinary_hours_do_not() -> None:
    d = detector()
    path = ordinary_returns(100)
    assert feed(d, equity_path(path)) == []
    sigma = robust_sigma(path)
    jump = 12 * sigma + 0.01  # past 10 sigma and past the 1 % floor
    last = d._accounts["a1"].last
    assert last is not None
    equity = float(last.equity) * (1 - jump)
    [a] = feed(d, [snap(101 * HOUR, equity)])
    assert a.kind is AnomalyKind.PNL_JUMP and a.value > 10 and a.limit == 10
    assert "sigma" in a.figures and "-" in a.figures


def test_a_move_under_k_sigma_or_under_the_floor_is_no_jump() -> None:
    d = detector(AnomalyLimits(pnl_min_move=0.0))
    feed(d, equity_path(ordinary_returns(100)))
    returns = list(d._accounts["a1"].pnl.returns)
    last = d._accounts["a1"].last
    assert last is not None
    r = median(returns) - 9 * robust_sigma(returns)  # 9 sigma: inside the limit of 10
    assert feed(d, [snap(101 * HOUR, float(last.equity) * (1 + r))]) == []
    # With the 1 % floor, 50 sigma of a quiet account is no jump when it is 0.5 % of equity.
    d2 = detector(AnomalyLimits(pnl_min_move=0.01))
    feed(d2, equity_path([x / 10 for x in ordinary_returns(100)]))
    last2 = d2._accounts["a1"].last
    assert last2 is not None
    assert feed(d2, [snap(101 * HOUR, float(last2.equity) * 0.995)]) == []


def test_capital_moves_are_not_pnl() -> None:
    d = detector()
    feed(d, equity_path(ordinary_returns(50)))
    last = d._accounts["a1"].last
    assert last is not None
    deposit = CapitalChanged(50 * HOUR + 1, "a1", Decimal(10_000), Decimal(20_000), "operator")
    found = feed(d, [deposit, snap(51 * HOUR, float(last.equity) + 10_000)])
    assert found == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.05, 0.05), min_size=5, max_size=60), st.floats(-1, 1))
def test_robust_sigma_ignores_shift_and_one_outlier_barely_moves_it(
    xs: list[float], shift: float
) -> None:
    base = robust_sigma(xs)
    assert abs(robust_sigma([x + shift for x in xs]) - base) < 1e-9
    assert robust_sigma([abs(x) * 0 for x in xs]) == 0
    # One wild value can move the MAD by at most one rank: never to the outlier's scale.
    assert robust_sigma([*xs, 1e6]) <= robust_sigma([*xs, max(xs)]) + 0.2


# -- money no fill explains ----------------------------------------------------------------------


def test_a_balance_change_with_no_fill_fires_and_one_with_a_fill_does_not() -> None:
    d = detector()
    feed(d, [snap(0, 10_000, cash=5_000)])
    [a] = feed(d, [snap(HOUR, 10_100, cash=5_100)])
    assert a.kind is AnomalyKind.BALANCE_UNEXPLAINED
    assert "5000" in a.figures and "5100" in a.figures and a.limit == 0.0001
    # The same move with a fill booked in the hour is trading.
    assert feed(d, [fill("100", ts=HOUR + 1), snap(2 * HOUR, 10_200, cash=5_200)]) == []
    # Marks moving a held position's value change equity, not cash: ordinary.
    assert feed(d, [snap(3 * HOUR, 10_300, cash=5_200)]) == []


def test_money_reconciliation_set_to_the_venue_or_coins_gone_fire() -> None:
    d = detector()
    feed(d, [snap(0, 10_000)])
    venue = CapitalChanged(1, "a1", Decimal(10_000), Decimal(9_000), "venue")
    investor = CapitalChanged(2, "a1", Decimal(9_000), Decimal(8_000), "investor:42")
    gone = ReconciliationRepaired(3, "a1", "position_adjusted", None, "BTC/USDT", "left")
    found = feed(d, [venue, investor, gone])
    assert [a.kind for a in found] == [AnomalyKind.BALANCE_UNEXPLAINED] * 2
    assert "-1000" in found[0].figures and found[0].value == 0.1


# -- bursts of rejections, cancels and orders ------------------------------------------------------


def reject(ts: int) -> IntentRejected:
    intent = Intent("a1", "BTC/USDT", Side.BUY, IntentAction.OPEN, Decimal(100))
    return IntentRejected(ts, intent, "max_open", "full")


def order_event(ts: int, status: OrderStatus, previous: OrderStatus) -> OrderUpdated:
    order = Order(
        f"c{ts}", "a1", "BTC/USDT", Side.BUY, OrderType.MARKET, Decimal(1), OrderRole.ENTRY,
        status=status,
    )  # fmt: skip
    return OrderUpdated(ts, order, previous)


def test_a_burst_of_rejects_fires_once_and_a_reject_a_minute_does_not() -> None:
    d = detector(rate=20)
    ordinary = [reject(i * 60_000) for i in range(100)]
    assert feed(d, ordinary) == []
    burst = [reject(200 * 60_000 + i * 100) for i in range(30)]
    [a] = feed(d, burst)  # one anomaly per burst, not one per event past the limit
    assert a.kind is AnomalyKind.REJECT_SPIKE and a.value == 21 and a.limit == 20
    assert "21 rejects in 60 s" in a.figures


def test_rates_are_the_profiles_and_count_cancels_orders_and_venue_rejects() -> None:
    d = detector(rate=5)
    cancels = [order_event(i, OrderStatus.CANCELED, OrderStatus.SUBMITTED) for i in range(5)]
    assert feed(d, cancels) == []  # on the profile's limit: quiet
    [a] = feed(d, [order_event(6, OrderStatus.CANCELED, OrderStatus.SUBMITTED)])
    assert a.kind is AnomalyKind.CANCEL_SPIKE and a.limit == 5
    new = [order_event(i, OrderStatus.NEW, OrderStatus.NEW) for i in range(6)]
    assert [a.kind for a in feed(d, new)] == [AnomalyKind.ORDER_SPIKE]
    rejected = [order_event(i, OrderStatus.REJECTED, OrderStatus.SUBMITTED) for i in range(6)]
    assert [a.kind for a in feed(d, rejected)] == [AnomalyKind.REJECT_SPIKE]
    # Submissions and fills are no new orders.
    later = [order_event(10**6 + i, OrderStatus.SUBMITTED, OrderStatus.NEW) for i in range(50)]
    assert feed(d, later) == []


def test_the_venue_s_balance_at_an_account_s_first_reconciliation_is_no_anomaly() -> None:
    """Once, a fleet's first start set every account's configured capital (1,000) to the
    exchange's (10,000) and each was BALANCE_UNEXPLAINED, together AnomalyWidespread. With no
    equity seen yet there is no baseline to move from; once there is, the same change fires."""
    d = detector()
    opening = CapitalChanged(1, "a1", Decimal(1_000), Decimal(10_000), "venue")
    assert feed(d, [opening]) == []
    feed(d, [snap(HOUR, 10_000)])
    later = CapitalChanged(HOUR + 1, "a1", Decimal(10_000), Decimal(1_000), "venue")
    assert [a.kind for a in feed(d, [later])] == [AnomalyKind.BALANCE_UNEXPLAINED]
