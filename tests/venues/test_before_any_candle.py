"""Before the first candle of a symbol the paper venue's answers carry its clock's time, and
after it the time of the last bar (survivors of ``MatchingCore.submit``,
``submit_oco`` and ``_reject``): an order for an account it does not hold, an order accepted and
sent again, a pair accepted, a pair refused for either leg."""

from __future__ import annotations

from rampart.domain.orders import OrderStatus

from .helpers import BUY, LIMIT, MINUTE, SELL, STOP, Desk, bar, order, sync

NOW = 7_000


def test_orders_before_any_candle_are_answered_at_the_venues_clock() -> None:
    desk = Desk({"USDT": "10000", "BTC": "1"}, clock_ms=NOW)
    [bounced] = desk.submit(order("z1", BUY, LIMIT, "1", "99.00", account="zed"))
    assert (bounced.status, bounced.code, bounced.ts) == (
        OrderStatus.REJECTED,
        "unknown_account",
        NOW,
    )
    [accepted] = desk.submit(order("l1", BUY, LIMIT, "1", "99.00"))
    [again] = desk.submit(order("l1", BUY, LIMIT, "1", "99.00"))
    assert (accepted.status, accepted.ts) == (OrderStatus.SUBMITTED, NOW)
    assert (again.status, again.code, again.ts) == (OrderStatus.SUBMITTED, "duplicate", NOW)
    pair = desk.oco(
        order("sl", SELL, STOP, "1", stop="90.00"), order("tp", SELL, LIMIT, "1", "120.00")
    )
    assert [(r.client_id, r.status, r.ts) for r in pair] == [
        ("sl", OrderStatus.SUBMITTED, NOW),
        ("tp", OrderStatus.SUBMITTED, NOW),
    ]
    assert sync(desk.venue.fetch_order("a", "tp")).ts == NOW  # type: ignore[union-attr]


def test_a_pair_refused_for_either_leg_is_refused_whole_at_the_time_of_the_book() -> None:
    desk = Desk({"USDT": "0", "BTC": "2"}, clock_ms=NOW)
    bad_take = desk.oco(
        order("sl", SELL, STOP, "1", stop="90.00"), order("tp", SELL, LIMIT, "1", "120.001")
    )
    bad_stop = desk.oco(
        order("sl2", SELL, STOP, "1", stop="90.001"), order("tp2", SELL, LIMIT, "1", "120.00")
    )
    for reports in (bad_take, bad_stop):
        assert [r.status for r in reports] == [OrderStatus.REJECTED] * 2
        assert {r.ts for r in reports} == {NOW}
        assert reports[0].code == reports[1].code != "" and reports[0].reason == reports[1].reason
    assert "120.001" in bad_take[0].reason and "90.001" in bad_stop[0].reason
    assert desk.open_ids() == [] and desk.free("BTC") == 2
    # After a candle the book's time is its close, whatever the clock says.
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.clock.set(9 * MINUTE)
    again = desk.oco(
        order("sl3", SELL, STOP, "1", stop="90.00"), order("tp3", SELL, LIMIT, "1", "120.001")
    )
    assert {r.ts for r in again} == {MINUTE}
    refused = sync(desk.venue.fetch_order("a", "tp3"))
    assert refused is not None and (refused.status, refused.ts) == (OrderStatus.REJECTED, MINUTE)


def test_after_a_candle_an_order_sent_again_is_answered_at_the_last_close() -> None:
    desk = Desk(clock_ms=NOW)
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "1", "99.00"))
    desk.clock.set(9 * MINUTE)
    [again] = desk.submit(order("l1", BUY, LIMIT, "1", "99.00"))
    assert (again.code, again.ts) == ("duplicate", MINUTE)
