"""Random interleavings of trading, the exchange, reconciliation, restarts and hand actions.

A Hypothesis state machine drives the engine (through the real ccxt client) and the
exchange simulator's matching core: candles Rampart trades, market moves it does not see,
interval reconciliations, a protective fill landing inside a reconciliation's balance read,
lost responses, restarts from an older checkpoint (kill -9), and an investor's own trades on
the exchange (cancel the bracket and sell, or buy a few coins). After every step nothing has
crashed and no invariant broke; once settled (faults off, reconciled), the books equal the
exchange: positions, open orders, cash, every fill once, trades and realised PnL consistent.
The next race is meant to be found here, not by an operator.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any

import ccxt
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from rampart.domain.events import ReconciliationRepaired
from rampart_testkit.soak import verify

from .helpers import SYMBOL, Chaos, chaos
from .test_reconcile_race import _protective_open

D = Decimal
ACCOUNTS = {"a1": {"every": 2, "hold": 100_000}, "a2": {"every": 2, "hold": 6}}


class Interleavings(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self._cm = chaos(ACCOUNTS)
        self.rig: Chaos = self.run(self._cm.__aenter__())
        self.checkpoint: tuple[dict[str, Any], Any] | None = None
        self.hand_trades = 0
        self.by_hand: set[int] = set()
        """Exchange trade ids of the investor's own orders."""

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.settle_and_compare()
        finally:
            self.run(self._cm.__aexit__(None, None, None))
            self.loop.close()

    # -- what happens ------------------------------------------------------------------------

    @rule(candles=st.integers(1, 4))
    def trade(self, candles: int) -> None:
        self.run(self.rig.step(candles))

    @rule(candles=st.integers(1, 30))
    def market_moves_unseen(self, candles: int) -> None:
        self.run(self.rig.market(candles))

    @rule()
    def interval_reconciliation(self) -> None:
        self.run(self.rig.reconcile(reason="interval"))

    @rule(after_read=st.booleans(), account=st.sampled_from(sorted(ACCOUNTS)))
    def bracket_fills_inside_a_balance_read(self, after_read: bool, account: str) -> None:
        rig = self.rig
        venue = rig.ven
        real = venue.fetch_balances
        done: list[bool] = []

        async def fetch_balances(account_id: str) -> Any:
            if account_id != account or done:
                return await real(account_id)
            done.append(True)
            if not after_read:
                self._execute_bracket(account)
            balances = await real(account_id)
            if after_read:
                self._execute_bracket(account)
            return balances

        venue.fetch_balances = fetch_balances  # type: ignore[method-assign]
        try:
            self.run(rig.reconcile(reason="interval"))
        finally:
            venue.fetch_balances = real  # type: ignore[method-assign]

    def _execute_bracket(self, account: str) -> None:
        for _ in range(3_000):
            if not _protective_open(self.rig, account):
                return
            self.rig.sim.exchange.advance(1)

    @rule()
    def lose_the_next_order_response(self) -> None:
        self.rig.sim.faults.add("lost_response", count=1, paths=["/api/v3/order"], methods=["POST"])

    @rule()
    def save_checkpoint(self) -> None:
        snapshot = json.loads(json.dumps(self.rig.eng.snapshot()))
        self.checkpoint = (snapshot, self.rig.book.copy())

    @precondition(lambda self: self.checkpoint is not None)
    @rule(away=st.integers(0, 20))
    def kill_and_restart_from_the_checkpoint(self, away: int) -> None:
        assert self.checkpoint is not None
        snapshot, book = self.checkpoint
        rig = self.rig
        self.run(rig.stop_engine())
        self.run(rig.market(away))
        rig.book.restore(book)
        self.run(rig.start_engine(ACCOUNTS, json.loads(json.dumps(snapshot))))
        self.run(rig.reconcile(reason="start"))

    @rule(account=st.sampled_from(sorted(ACCOUNTS)))
    def investor_sells_by_hand(self, account: str) -> None:
        self.run(self._by_hand(account, sell=True))

    @rule(account=st.sampled_from(sorted(ACCOUNTS)), qty=st.sampled_from(["0.001", "0.004"]))
    def investor_buys_by_hand(self, account: str, qty: str) -> None:
        self.run(self._by_hand(account, buy=D(qty)))

    async def _by_hand(self, account: str, sell: bool = False, buy: D = D(0)) -> None:
        rig = self.rig
        client = rig.client(account)
        before = {t.trade_id for t in rig.sim.exchange.trades[account]}
        try:
            if sell:
                for _ in range(2):
                    listed = rig.sim_state(account)["open_orders"]
                    if listed:
                        await client.cancel_order(str(listed[0]["order_id"]), SYMBOL)
                held = rig.sim.exchange.sub(account).balances().get("BTC")
                if held is not None and held.free > D("0.0001"):
                    await client.create_order(SYMBOL, "market", "sell", float(held.free))
            if buy:
                await client.create_order(SYMBOL, "market", "buy", float(buy))
        except ccxt.BaseError:
            pass  # a fault meant for Rampart hit the investor's app: what went through counts
        finally:
            await client.close()
        # Rampart is not running between steps: every new trade is the investor's.
        new = {t.trade_id for t in rig.sim.exchange.trades[account]} - before
        self.by_hand |= new
        self.hand_trades += len(new)

    # -- what must hold ----------------------------------------------------------------------

    @invariant()
    def nothing_broke(self) -> None:
        engine = self.rig.engine
        if engine is None:
            return
        assert engine.violations == 0
        for acct in engine.accounts.values():
            assert not acct.close_only, acct.close_only
            ledger = acct.ledger
            assert abs(ledger.equity(engine.marks) - ledger.pnl_equity(engine.marks)) < D("1e-9")

    def settle_and_compare(self) -> None:
        rig = self.rig
        # An order whose answer was lost settles once the exchange's receive window has passed
        # in real time; on a loaded machine that can take a while (bounded).
        self.run(rig.settle())
        report = self.run(rig.reconcile(reason="interval"))
        report = self.run(rig.reconcile(reason="interval"))
        assert report.matches, report.differences
        assert rig.truth() == []
        booked = {t for fills in rig.book.fills.values() for t in fills.members}
        # The investor's own trades are booked only where they sold Rampart's position.
        acc = verify.account(rig.eng, rig.sim.exchange, rig.book, self.by_hand - booked)
        assert acc.lost == 0 and acc.duplicated == 0, acc.details
        kinds = Counter(e.kind for e in rig.events if isinstance(e, ReconciliationRepaired))
        # Every quantity that moved on the exchange was booked as the fill it was.
        assert kinds["position_adjusted"] == 0, kinds
        assert kinds["report_unexplained"] == 0, kinds
        for account_id, acct in rig.eng.accounts.items():
            exchange_cash = rig.sim.exchange.sub(account_id).balances()["USDT"].total
            assert acct.ledger.cash == exchange_cash
            if self.hand_trades == 0:
                # Nothing but Rampart's own trades: no money was "repaired" into capital, so
                # realised and open PnL are exactly what the exchange's trades made.
                assert acct.ledger.capital == D("10000"), kinds
        self.nothing_broke()


Interleavings.TestCase.settings = settings(
    max_examples=3,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_interleavings = Interleavings.TestCase
