"""Orders as the books keep them and the step rounding every price and quantity goes through.

Found by mutation testing (docs/mutation.md): an order's average price and fees are shown to
investors (the orders endpoint) and feed no invariant the engine checks, so only figures
written out here pin them.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from rampart.domain import orders
from rampart.domain.errors import BrokenInvariant, IllegalTransition, present
from rampart.domain.money import ceil_to_step, floor_to_step, is_multiple, round_to_step
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.domain.positions import Ledger, Position

D = Decimal


def _order(qty: str = "3") -> Order:
    return Order("rp-1", "acct", "BTC/USDT", Side.BUY, OrderType.MARKET, D(qty), OrderRole.ENTRY)


def test_fills_average_their_prices_and_add_their_fees() -> None:
    order = _order()
    order.transition(OrderStatus.SUBMITTED, 1)
    order.record_fill(D("1"), D("100"), D("0.1"), 2)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order.record_fill(D("2"), D("103"), D("0.2"), 3)
    assert (order.filled_qty, order.avg_fill_price, order.fees) == (D("3"), D("102"), D("0.3"))
    assert order.status is OrderStatus.FILLED and order.remaining == 0
    assert order.history == [(1, OrderStatus.SUBMITTED), (2, OrderStatus.PARTIALLY_FILLED),
                             (3, OrderStatus.FILLED)]  # fmt: skip
    assert order.updated_at == 3


def test_a_fill_of_nothing_or_of_more_than_remains_is_refused() -> None:
    order = _order("1")
    order.transition(OrderStatus.SUBMITTED, 1)
    with pytest.raises(ValueError) as err:
        order.record_fill(D("0"), D("100"), D("0"), 2)
    assert str(err.value) == "fill quantity must be positive"
    with pytest.raises(IllegalTransition) as over:
        order.record_fill(D("1.5"), D("100"), D("0"), 2)
    assert str(over.value) == "order rp-1: fill of 1.5 exceeds remaining 1"
    assert order.filled_qty == 0 and order.fees == 0


def test_a_transition_keeps_the_reason_only_when_one_is_given() -> None:
    order = _order()
    order.transition(OrderStatus.SUBMITTED, 1)
    assert order.reason == ""
    order.transition(OrderStatus.CANCELED, 2, "replaced")
    assert order.reason == "replaced"
    with pytest.raises(IllegalTransition) as err:
        order.transition(OrderStatus.SUBMITTED, 3)
    assert str(err.value) == "order rp-1: canceled -> submitted is not allowed"


def test_client_order_ids_are_short_deterministic_and_per_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in a fresh process: the prefix computed, not found in what earlier tests left.
    monkeypatch.setattr(orders, "_PREFIXES", {})
    acct = hashlib.sha1(b"alice").hexdigest()[:8]
    assert client_order_id("alice", 42, OrderRole.STOP_LOSS) == f"rp-{acct}-0000000042-s"
    # Pinned: ids already on the venue must still be recognised after an upgrade.
    assert client_order_id("acct-7", 3, OrderRole.ENTRY) == "rp-3f97701c-0000000003-e"
    assert client_order_id("acct-7", 4, OrderRole.EXIT) == "rp-3f97701c-0000000004-x"
    assert client_order_id("alice", 42, OrderRole.TAKE_PROFIT).endswith("-t")
    assert len(client_order_id("a" * 200, 10**9, OrderRole.ENTRY)) <= 36  # Binance's limit


@pytest.mark.parametrize(
    ("value", "step", "floor", "ceil", "nearest"),
    [
        ("2.7", "1", "2", "3", "3"),
        ("2.2", "1", "2", "3", "2"),
        ("2.5", "1", "2", "3", "3"),  # half rounds up, not to even
        ("0.123456", "0.001", "0.123", "0.124", "0.123"),
        ("-1.25", "0.1", "-1.2", "-1.3", "-1.3"),
        ("1.234", "0", "1.234", "1.234", "1.234"),  # no step: unchanged, not a division by 0
        ("1.234", "-1", "1.234", "1.234", "1.234"),
    ],
)
def test_step_rounding(value: str, step: str, floor: str, ceil: str, nearest: str) -> None:
    assert floor_to_step(D(value), D(step)) == D(floor)
    assert ceil_to_step(D(value), D(step)) == D(ceil)
    assert round_to_step(D(value), D(step)) == D(nearest)
    assert is_multiple(D(floor), D(step))


def test_ledger_values_are_decimals_and_fall_back_to_the_average_price() -> None:
    ledger = Ledger.open("acct", "USDT", D("1000"))
    assert isinstance(ledger.positions_value({}), Decimal)
    assert isinstance(ledger.pnl_equity({}), Decimal)
    ledger.positions["BTC/USDT"] = Position(
        "BTC/USDT", "s", "c1", 1, D("90"), D("120"), qty=D("2"), avg_price=D("100"),
        entry_fees=D("0.3"), exit_fees=D("0.2"), realized_gross=D("5"),
    )  # fmt: skip
    # No mark for the symbol yet: valued at its average price, so open PnL is fees only.
    assert ledger.positions_value({}) == D("200")
    assert ledger.pnl_equity({}) == D("1000") + D("5") - D("0.5")
    assert ledger.positions["BTC/USDT"].net_pnl(D("110")) == D("5") + D("20") - D("0.5")


def test_the_prefixes_kept_for_ids_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "_PREFIXES", {})
    monkeypatch.setattr(orders, "_PREFIXES_KEPT", 3)
    ids = []
    for n in range(10):
        ids.append(client_order_id(f"acct-{n}", 1, OrderRole.ENTRY))
        assert len(orders._PREFIXES) <= 3
    # Forgotten prefixes are computed again, the same.
    assert [client_order_id(f"acct-{n}", 1, OrderRole.ENTRY) for n in range(10)] == ids


def test_a_swap_settles_at_more_than_it_has_filled_only() -> None:
    order = _order("3")
    order.transition(OrderStatus.SUBMITTED, 1)
    order.record_fill(D("1"), D("10"), D("0"), 1)
    order.settle_at(D("1.5"))
    assert order.qty == D("1.5") and order.remaining == D("0.5")
    for executed in ("1", "0.5"):
        with pytest.raises(ValueError) as err:
            order.settle_at(D(executed))
        assert str(err.value) == f"order rp-1: {executed} is not more than already filled"
    assert order.qty == D("1.5")


def test_a_value_an_invariant_promises_is_returned_or_named_as_missing() -> None:
    assert present(0, "the count") == 0
    with pytest.raises(BrokenInvariant) as err:
        present(None, "the BTC/USDT position a sell closes")
    assert str(err.value) == "the BTC/USDT position a sell closes is missing"
