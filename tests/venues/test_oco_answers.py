"""What the paper venue answers a pair it does not place (survivors of
``MatchingCore.submit_oco``): both legs bounced for an account it does not hold, at its clock;
a pair one of whose legs already exists reported leg by leg (the existing one as it stands, the
new one refused as ``bad_oco`` and remembered), at the time of the last bar."""

from __future__ import annotations

from rampart.domain.orders import OrderStatus

from .helpers import LIMIT, MINUTE, SELL, STOP, Desk, bar, order, sync

PARTNER_EXISTS = "Its OCO partner already exists on the venue, so the pair was not placed."


def test_a_pair_for_an_account_not_open_is_refused_leg_by_leg_at_the_venues_clock() -> None:
    desk = Desk(clock_ms=9_000)
    sl = order("sl", SELL, STOP, "1", stop="90.00", account="zed")
    tp = order("tp", SELL, LIMIT, "1", "120.00", account="zed")
    reports = desk.oco(sl, tp)
    reason = "Account 'zed' is not open on this venue."
    assert [(r.account_id, r.client_id, r.status, r.code, r.reason, r.ts) for r in reports] == [
        ("zed", "sl", OrderStatus.REJECTED, "unknown_account", reason, 9_000),
        ("zed", "tp", OrderStatus.REJECTED, "unknown_account", reason, 9_000),
    ]


def test_a_pair_whose_take_profit_exists_is_not_placed_and_says_so_per_leg() -> None:
    desk = Desk({"USDT": "0", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("tp", SELL, LIMIT, "1", "120.00"))
    desk.clock.set(5 * MINUTE)  # the answers carry the book's time: the last close
    sl = order("sl", SELL, STOP, "1", stop="90.00")
    reports = desk.oco(sl, order("tp", SELL, LIMIT, "1", "120.00"))
    assert [(r.client_id, r.status, r.code, r.reason, r.ts) for r in reports] == [
        ("sl", OrderStatus.REJECTED, "bad_oco", PARTNER_EXISTS, MINUTE),
        (
            "tp",
            OrderStatus.SUBMITTED,
            "duplicate",
            "An order with this client id already exists; no second order was created.",
            MINUTE,
        ),
    ]
    assert desk.open_ids() == ["tp"] and desk.locked("BTC") == 1
    # The refused leg is remembered with its time, and answered the same way again.
    refused = sync(desk.venue.fetch_order("a", "sl"))
    assert refused is not None and (refused.status, refused.ts) == (OrderStatus.REJECTED, MINUTE)
    [again] = desk.submit(sl)
    assert (again.status, again.code, again.reason) == (
        OrderStatus.REJECTED,
        "bad_oco",
        PARTNER_EXISTS,
    )


def test_before_any_candle_a_pair_not_placed_is_answered_at_the_venues_clock() -> None:
    desk = Desk({"USDT": "0", "BTC": "1"}, clock_ms=4_000)
    desk.submit(order("tp", SELL, LIMIT, "1", "120.00"))
    reports = desk.oco(
        order("sl", SELL, STOP, "1", stop="90.00"), order("tp", SELL, LIMIT, "1", "120.00")
    )
    assert [(r.client_id, r.code, r.ts) for r in reports] == [
        ("sl", "bad_oco", 4_000),
        ("tp", "duplicate", 4_000),
    ]
