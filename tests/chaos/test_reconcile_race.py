"""The reconciliation race: a protective fill lands on the exchange after reconciliation has
polled the venue and before it compares the account's balances.

Found at 600× against the simulator: the comparison saw the exchange's 0 BTC against the
books' position, "repaired" it away, and the real fill report then crashed the engine
(``sell … exceeds the position of 0``), leaving an order filled with no fill row, no trade and
a PnL off by that trade. Here the interleaving is made deterministic: the exchange's market
is advanced inside the venue's balance read, for 1 and for 100 accounts. Afterwards fills,
trades, realised PnL and the losing-streak count equal what the exchange did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from rampart.domain.events import FillBooked, TradeClosed
from rampart.domain.fills import Balance
from rampart.domain.orders import OrderRole

from .helpers import SYMBOL, Chaos, chaos

D = Decimal
HOLD = {"every": 2, "hold": 100_000}
"""Enters when flat and never exits by itself: positions end at their stop or take-profit."""
CAPITAL = D("10000")


def _protective_open(rig: Chaos, account_id: str) -> bool:
    return any(
        o["type"] in ("stop_market", "limit") for o in rig.sim_state(account_id)["open_orders"]
    )


async def _all_in_position(rig: Chaos, limit: int = 60) -> None:
    for _ in range(limit):
        await rig.step()
        accounts = rig.eng.accounts.values()
        if all(
            SYMBOL in a.ledger.positions and not a.orders.keys() - _legs(a) for a in accounts
        ) and all(_protective_open(rig, a) for a in rig.eng.accounts):
            return
    raise AssertionError("not every account opened a protected position")


def _legs(acct: Any) -> set[str]:
    return {c for c, o in acct.orders.items() if o.role.protective}


def _race(rig: Chaos, after_read: bool) -> list[str]:
    """Make each account's bracket execute on the exchange during the first balance read of
    its comparison, after the run's poll of every account: just before the exchange answers
    (the books' position against the exchange's 0), or just after (the exchange's position
    against books that then learn of the fill). Returns the accounts it hit."""
    venue = rig.ven
    real: Callable[[str], Awaitable[dict[str, Balance]]] = venue.fetch_balances
    hit: list[str] = []

    def execute_bracket(account_id: str) -> None:
        for _ in range(5_000):
            if not _protective_open(rig, account_id):
                return
            rig.sim.exchange.advance(1)
        raise AssertionError("the bracket never executed")

    async def fetch_balances(account_id: str) -> dict[str, Balance]:
        if account_id in hit:
            return await real(account_id)
        hit.append(account_id)
        if not after_read:
            execute_bracket(account_id)
        balances = await real(account_id)
        if after_read:
            execute_bracket(account_id)
        return balances

    venue.fetch_balances = fetch_balances  # type: ignore[method-assign]
    return hit


def _exchange_round_trip(rig: Chaos, account_id: str) -> tuple[D, D]:
    """(net PnL of the account's trades on the exchange, its quote balance)."""
    net = D(0)
    for t in rig.sim.exchange.trades[account_id]:
        value = t.price * t.qty
        net += -value if t.is_buyer else value
        if t.commission_asset == "USDT":  # a buy's came out of the BTC it received
            net -= t.commission
    cash = rig.sim.exchange.sub(account_id).balances()["USDT"].total
    return net, cash


async def _check_equal_to_exchange(rig: Chaos) -> None:
    closed = [e.trade for e in rig.events if isinstance(e, TradeClosed)]
    fills = [e for e in rig.events if isinstance(e, FillBooked)]
    acc = rig.accounting()
    assert acc.lost == 0 and acc.duplicated == 0, acc.details
    assert rig.truth() == []
    for account_id, acct in rig.eng.accounts.items():
        net, cash = _exchange_round_trip(rig, account_id)
        mine = [t for t in closed if t.account_id == account_id]
        assert len(mine) == 1, f"{account_id}: {len(mine)} trades closed"
        (trade,) = mine
        assert trade.exit_reason in (OrderRole.STOP_LOSS.value, OrderRole.TAKE_PROFIT.value)
        assert trade.pnl == net, f"{account_id}: PnL {trade.pnl} booked, {net} on the exchange"
        assert acct.ledger.realized_pnl == net
        assert acct.ledger.cash == cash == CAPITAL + net
        assert acct.ledger.capital == CAPITAL  # nothing was booked as a deposit
        assert len([f for f in fills if f.fill.account_id == account_id]) == len(
            rig.sim.exchange.trades[account_id]
        )
        assert acct.breakers.consecutive_losses == (1 if net < 0 else 0)
        assert not acct.close_only


def _run_race(accounts: int, after_read: bool = False) -> None:
    async def go() -> None:
        ids = {f"a{i}": HOLD for i in range(1, accounts + 1)}
        async with chaos(ids) as rig:
            await _all_in_position(rig)
            hit = _race(rig, after_read)
            report = await rig.reconcile(reason="interval")
            assert sorted(hit) == sorted(ids)
            assert report.repairs["position_adjusted"] == 0, report.to_dict()
            assert report.repairs["balance_adjusted"] == 0, report.to_dict()
            assert report.repairs["holdings_apart"] == 0, report.to_dict()
            assert report.repairs["fill_booked"] >= accounts  # booked as the fills they are
            assert report.matches, report.differences[:5]
            await _check_equal_to_exchange(rig)
            await rig.step(3)  # trading goes on: no late report, no crash, nothing lost
            assert rig.eng.violations == 0
            assert not any(a.close_only for a in rig.eng.accounts.values())
            acc = rig.accounting()
            assert acc.lost == 0 and acc.duplicated == 0, acc.details

    asyncio.run(go())


def test_a_stop_fill_between_the_poll_and_the_comparison_is_booked_as_a_fill() -> None:
    _run_race(1)


def test_a_stop_fill_right_after_the_balance_read_is_not_taken_for_coins_bought_by_hand() -> None:
    _run_race(1, after_read=True)


def test_the_race_for_100_accounts_books_every_fill_once() -> None:
    _run_race(100)


def test_the_race_after_the_read_for_100_accounts() -> None:
    _run_race(100, after_read=True)
