"""Reconciliation, one pass as a whole, on an exchange in memory (the survivors of
``trading/reconcile/reconciler.py`` and ``books.py``): which accounts a pass covers, what it
says of a venue or an account it cannot reconcile, the protection it holds back and gives back,
cash set to the venue's figure as a capital change, and the differences left in words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

from rampart.domain.accounts import AccountSpec
from rampart.domain.events import CapitalChanged, EquitySnapshot
from rampart.domain.orders import OrderRole, Side, client_order_id
from rampart.trading.ports import Amend, Updates, VenueCapabilities
from rampart.trading.reconcile.reconciler import Reconciler
from tests.log_lines import every_log_line

from .exchange_fake import CAPITAL, Exchange, FakeVenue, make_engine
from .reconcile_rig import START, SYMBOL, Rig, rig
from .test_executor_reports import _logged

D = Decimal
T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


class Unreconcilable(FakeVenue):
    capabilities = VenueCapabilities(
        native_brackets=True,
        updates=Updates.PUSHED,
        keyed_accounts=False,
        reconciliation=False,
        snapshots=False,
        amend=Amend.NONE,
    )


def test_a_venue_that_cannot_be_reconciled_is_said_so_and_nothing_is_touched() -> None:
    async def go() -> tuple[list[str], int, set[str], dict[str, int]]:
        x = Exchange()
        engine = make_engine(Unreconcilable(x))
        await engine.add_account(AccountSpec("a1", "scripted", "moderate", CAPITAL, (SYMBOL,)))
        x.deposit("a1", D(500))
        reconciler = Reconciler()
        report = await reconciler.run(engine)
        return report.differences, reconciler.runs, engine.executor.hold_protection, report.repairs

    differences, runs, held, repairs = run(go)
    assert differences == ["The fake venue cannot be reconciled."]
    assert runs == 1 and held == set() and repairs == {}


def test_a_pass_covers_the_accounts_asked_for_and_names_those_the_engine_lacks() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        await r.engine.add_account(AccountSpec("a2", "scripted", "moderate", CAPITAL, (SYMBOL,)))
        r.x.deposit("a1", D(500))
        r.x.deposit("a2", D(300))
        r.at(START + 4_000)
        report = await r.reconciler.run(r.engine, ["zz", "a2"])
        assert (report.ts, report.accounts, report.reason) == (
            START + 4_000,
            ["zz", "a2"],
            "interval",
        )
        return r, report.differences

    r, differences = run(go)
    assert differences == ["zz: no such account in the engine."]
    assert [e.account_id for e in r.repairs("balance_adjusted")] == ["a2"]
    assert r.engine.accounts["a2"].ledger.cash == CAPITAL + 300
    assert r.acct.ledger.cash == CAPITAL  # not asked for: left for its own pass
    assert r.engine.executor.hold_protection == set()


def test_an_account_that_cannot_be_reconciled_is_still_protected() -> None:
    async def go() -> tuple[Rig, list[str], bool]:
        r = await rig()
        await r.protected(fee="0")
        r.venue.listening = False
        for order in r.x.open_orders("a1"):
            r.x.end(order.client_id)  # the pair canceled by hand while away
        r.venue.fail_open = True
        with every_log_line() as logs:
            report = await r.reconcile()
        (line,) = _logged(logs, "reconciled")
        assert line == {
            "reason": "interval",
            "accounts": 1,
            "repairs": {"order_closed": 2},
            "matches": False,
            "differences": 1,
        }
        return r, report.differences, "a1" in r.engine.executor.hold_protection

    r, differences, held = run(go)
    assert differences == ["a1: could not be reconciled: the open orders are unavailable"]
    assert not held
    assert r.open_on_exchange() == [
        (OrderRole.STOP_LOSS, 20, D("98.00")),
        (OrderRole.TAKE_PROFIT, 20, D("105.00")),
    ]


def test_the_reconciler_counts_its_passes_and_their_repairs() -> None:
    async def go() -> Reconciler:
        r = await rig()
        r.x.deposit("a1", D(500))
        await r.reconcile()
        r.x.place_by_hand("a1", "web-1", Side.BUY, D(1), D(90))
        r.x.deposit("a1", D(-200))
        await r.reconcile("start")
        return r.reconciler

    reconciler = run(go)
    assert reconciler.runs == 2
    assert reconciler.totals == {"balance_adjusted": 2, "unknown_venue_order": 1}


def test_a_deposit_sets_cash_and_capital_to_the_venues_figure() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        await r.protected(fee="0")
        r.engine.marks[SYMBOL] = D(103)
        r.x.deposit("a1", D(500))
        r.at(START + 9_000)
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    (repair,) = r.repairs("balance_adjusted")
    assert (repair.account_id, repair.client_id, repair.symbol, repair.ts) == (
        "a1",
        None,
        None,
        START + 9_000,
    )
    assert repair.detail == (
        "Cash was 8000.0 USDT in the books and 8500.0 on the venue; set to the venue's figure."
    )
    ledger = r.acct.ledger
    assert ledger.cash == D("8500.0") and ledger.capital == CAPITAL + 500
    # Equity from cash and from PnL agree: the deposit is capital, not profit.
    assert ledger.equity({SYMBOL: D(103)}) == ledger.pnl_equity({SYMBOL: D(103)}) == D(10_560)
    (change,) = [e for e in r.events if isinstance(e, CapitalChanged)]
    # The equity it moves from is recorded first, at the pass's time.
    before = r.events[: r.events.index(change)]
    (equity,) = [e for e in before if isinstance(e, EquitySnapshot)][-1:]
    assert (equity.ts, equity.cash, equity.equity) == (START + 9_000, D("8000.0"), D("10060.0"))
    assert (change.ts, change.account_id, change.old, change.new, change.actor) == (
        START + 9_000,
        "a1",
        CAPITAL,
        CAPITAL + 500,
        "venue",
    )


def test_cash_within_the_tolerance_is_equal_and_past_it_set() -> None:
    async def go() -> tuple[Rig, list[Any]]:
        r = await rig()
        r.x.deposit("a1", D("1e-8"))
        first = await r.reconcile()
        r.x.deposit("a1", D("1e-8"))
        second = await r.reconcile()
        return r, [first, second]

    r, (first, second) = run(go)
    assert first.repairs == {} and first.differences == []
    assert second.repairs == {"balance_adjusted": 1}
    assert r.acct.ledger.cash == CAPITAL + D("2e-8")


# -- what still differs ---------------------------------------------------------------------


def test_an_order_ended_where_the_venue_never_reports_is_a_difference() -> None:
    async def go() -> tuple[Rig, str, list[str]]:
        r = await rig()
        entry, stop, take = await r.protected(fee="0")
        r.venue.deaf.add(take)
        r.x.end(take)  # canceled on the exchange; the adapter says nothing
        report = await r.reconcile()
        return r, take, report.differences

    r, take, differences = run(go)
    assert differences == [f"a1: order {take} is submitted in the books but not open on the venue"]


def test_fills_the_venue_never_reports_and_orders_of_ours_it_has_are_differences() -> None:
    async def go() -> tuple[Rig, str, str, list[str]]:
        r = await rig()
        entry = await r.enter()
        r.venue.deaf.add(entry)
        r.x.fill(entry, D(8), D(100), D(0))
        mine = client_order_id("a1", 50, OrderRole.ENTRY)  # one of ours, not from this run
        r.x.place_by_hand("a1", mine, Side.BUY, D(1), D(90))
        r.at(START + 10 * 60_000)  # the pass comes minutes after the trade, not at its instant
        report = await r.reconcile()
        return r, entry, mine, report.differences

    r, entry, mine, differences = run(go)
    assert differences == [
        f"a1: order {mine} is open on the venue but not in the books",
        f"a1: order {entry} filled 0 in the books and 8 on the venue",
        "a1: trade 1 (8 BTC/USDT) is on the venue, not booked",  # by its id
    ]


def test_cash_and_coins_that_change_between_the_repair_and_the_verdict_are_listed() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        r.acct.ledger.dust[SYMBOL] = D("0.000005")
        r.x.coins["a1"] = D("0.000005")

        def moving(reads: int) -> None:
            if reads == 1:  # after the repairs, before the verdict
                r.x.deposit("a1", D(250))
                r.x.coins["a1"] += 1

        r.venue.on_balances = moving
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == [
        "a1: cash is 10000 USDT in the books and 10250 on the venue",
        "a1: BTC/USDT position is 0 in the books and 1.000000 BTC on the venue",
    ]


def test_differences_within_the_tolerance_are_not_listed() -> None:
    async def go() -> list[str]:
        r = await rig()

        def moving(reads: int) -> None:
            if reads == 1:
                r.x.deposit("a1", D("1e-8"))
                r.x.coins["a1"] = D("1e-8")

        r.venue.on_balances = moving
        report = await r.reconcile()
        return report.differences

    assert run(go) == []


def test_a_venue_that_lists_no_cash_at_all_sets_cash_to_zero() -> None:
    async def go() -> tuple[Rig, list[str]]:
        r = await rig()
        r.x.deposit("a1", -CAPITAL)  # all of it withdrawn: the venue lists no USDT
        report = await r.reconcile()
        return r, report.differences

    r, differences = run(go)
    assert differences == []
    assert r.acct.ledger.cash == 0 and r.acct.ledger.capital == 0
    (repair,) = r.repairs("balance_adjusted")
    assert repair.detail == (
        "Cash was 10000 USDT in the books and 0 on the venue; set to the venue's figure."
    )
