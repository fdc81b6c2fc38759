"""The trading engine: many accounts in one process, driven by closed candles.

For each candle: the venue matches resting orders (paper), reports are applied, agents update
once per symbol, then every account on the symbol is guarded (position monitor, breakers) and
asked for intents, which pass the risk engine before any order is sent. After the candle the
invariants are checked: no open position without a live stop-loss, and equity computed from
cash equals equity computed from PnL.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import structlog

from rampart.agents.base import Agent, AgentConstraints
from rampart.agents.informative import SeriesBook, declared
from rampart.clock import Clock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.events import (
    EquitySnapshot,
    IntentProposed,
    IntentRejected,
)
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.domain.positions import ClosedTrade
from rampart.domain.stages import OPEN_STAGE, Stage
from rampart.risk.breakers import Breakers, Trip
from rampart.risk.checks import RiskContext, RiskEngine, RiskVerdict
from rampart.risk.codes import ACCOUNT_GATES
from rampart.risk.profiles import RiskProfile
from rampart.trading import cover_first
from rampart.trading.account import AccountRuntime, Rejection
from rampart.trading.agent_plots import AgentPlots
from rampart.trading.agent_protections import AgentProtections
from rampart.trading.agent_room import AgentRoom, RoomRules
from rampart.trading.bus import EventBus
from rampart.trading.callbacks import hears_fills, looks
from rampart.trading.controls import Controls
from rampart.trading.execution import Executor
from rampart.trading.guard import IDLE, YIELD_EVERY, Guard
from rampart.trading.invariants import after_event
from rampart.trading.investor_holds import InvestorHolds
from rampart.trading.moves import entry_bracket, move_bracket, reduce_position
from rampart.trading.ports import (
    MarketDrivenVenue,
    PolledVenue,
    SnapshotVenue,
    Updates,
    Venue,
    declared_capabilities,
)
from rampart.trading.restore import engine_snapshot, load_engine_snapshot
from rampart.trading.risk_view import risk_context
from rampart.trading.serving import Subscription, serving_order

if TYPE_CHECKING:
    from rampart.trading.callbacks import LastLook

log = structlog.get_logger("rampart.engine")

AgentFactory = Callable[[str, dict[str, Any] | None], Agent]
ProfileLookup = Callable[[str], RiskProfile]


class Engine:
    def __init__(
        self,
        *,
        venue: Venue,
        clock: Clock,
        bus: EventBus,
        make_agent: AgentFactory,
        profile_for: ProfileLookup,
        taker_fee: Decimal,
        stage: Stage = OPEN_STAGE,
        history: int = 300,
        equity_snapshot_ms: int = 3_600_000,
        room: RoomRules | None = None,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.bus = bus
        self.risk = RiskEngine()
        self.stage = stage
        self.taker_fee = taker_fee
        self.equity_snapshot_ms = equity_snapshot_ms
        self._make_agent = make_agent
        self.profile_for = profile_for
        self._history_len = history
        self.capabilities = declared_capabilities(venue)
        """What the venue declared it can do; the engine reads nothing else about it."""
        # Bound once: a venue that declares a capability without its method fails here, when
        # it is built, not on the first candle.
        updates = self.capabilities.updates
        self._on_candle: Callable[[Candle], None] | None = (
            cast(MarketDrivenVenue, venue).on_candle if updates is Updates.CANDLES else None
        )
        self._poll: Callable[[], Awaitable[None]] | None = (
            cast(PolledVenue, venue).poll if updates is Updates.POLLED else None
        )
        keeps = cast(SnapshotVenue, venue) if self.capabilities.snapshots else None
        self._venue_snapshot = keeps.snapshot if keeps is not None else None
        self._venue_restore = keeps.load_snapshot if keeps is not None else None
        self.stale_symbols: set[str] = set()
        """Symbols whose feed has gone quiet past its bound: entries on them are refused."""
        self.suspect_symbols: set[str] = set()
        """Symbols with a price held by the market-data guard until confirmed: entries on them
        are refused meanwhile (the session's guard keeps this set)."""
        # Entries are refused while the store cannot take a write (set by the session) or a
        # worker has not heard the command stream for a while (set by the worker).
        self.store_down = self.commands_stale = False
        self.executor = Executor(venue, bus, clock, self._on_trade_closed)
        self.controls = Controls(self)
        self.holds = InvestorHolds()
        """What investors decided the agents must respect (see investor_holds)."""
        # What agents declare beyond decide: protections, plotted indicators.
        self.protections, self.plots = AgentProtections(), AgentPlots(history)
        self.tells_protection = True
        """Whether each position's protection is read after every event and its changes
        published (ProtectionChanged: the PositionUnprotected alert, since when the API shows).
        A replay or a research trial, which no alert or person reads while it runs, turns it
        off; the stops themselves are placed, refitted and watched by the monitor either way."""
        self.accounts: dict[str, AccountRuntime] = {}
        self.breakers: dict[str, Breakers] = {}
        self.guard = Guard(self)
        """The position monitor and breakers of every account (they share ``breakers``)."""
        self.marks: dict[str, Decimal] = {}
        self.data_ts: dict[str, int] = {}
        self.history: dict[str, deque[Candle]] = {}
        self.series = SeriesBook(history)  # informative series, closed bars (agents.informative)
        self.room = AgentRoom(self, room or RoomRules())
        """Each account's decision: its view, deadline, checks and faults (agent_room)."""
        self._rows = self.room.rows
        self._agents: dict[tuple[str, str, str], Agent] = {}
        self._agents_by_symbol: dict[str, list[Agent]] = {}
        self._subs: dict[str, list[Subscription]] = {}
        self._order: dict[str, list[Subscription]] = {}
        """Each symbol's accounts in the order they are served on the next candle."""
        self._turns: dict[str, int] = {}
        """Candles on which each symbol's accounts were asked (the rotation's turn)."""
        self.candles_seen = 0
        self.last_candle_ts = 0
        self.calm: Candle | None = None
        """The last candle traded on which the guard's pass was the last thing to touch an
        account (nothing sent, drained or asked of an agent after it): each account on its
        symbol then ends it at ``acct.breakers.last_equity``, the equity the guard worked
        out (a loop's equity curve reads it instead of working it out again)."""
        self.violations = 0
        self.owed: str = ""
        """What a clean stop's last pass could not do (fills to book, coins to cover), in
        words: saved with the checkpoint, the next holder's first pass does it first."""

    # -- setup --------------------------------------------------------------------------------

    async def add_account(self, spec: AccountSpec, params: dict[str, Any] | None = None) -> None:
        if spec.account_id in self.accounts:
            raise ConfigError(f"Account {spec.account_id!r} is already running.")
        profile = self.profile_for(spec.profile)
        breakers = Breakers(profile, currency=spec.quote)
        acct = AccountRuntime(spec, profile, breakers.new_state(spec.capital, self.clock.now_ms()))
        for symbol in spec.symbols:
            instrument = self.venue.instrument(symbol)
            if instrument.quote != spec.quote:
                raise ConfigError(
                    f"Account {spec.account_id!r} keeps its money in {spec.quote} but "
                    f"{symbol} is priced in {instrument.quote}."
                )
        agents = []
        for symbol in spec.symbols:
            key = (spec.agent, json.dumps(params or {}, sort_keys=True, default=str), symbol)
            agent = self._agents.get(key)
            if agent is None:
                agent = self._make_agent(spec.agent, params)
                if not isinstance(agent, Agent):
                    raise ConfigError(
                        f"The {spec.agent} agent lacks a member of the Agent protocol (name, "
                        "warmup, quiet, update, decide, decide_async: rampart.agents.base)."
                    )
                self.series.want_all(declared(agent), symbol)
                self.plots.add(symbol, agent)
                self._agents[key] = agent
                self._agents_by_symbol.setdefault(symbol, []).append(agent)
            agents.append((symbol, agent))
        constraints = AgentConstraints(profile.min_stop, profile.max_stop, profile.min_rr)
        if agents:
            self.protections.add(spec.account_id, agents[0][1])
        self.accounts[spec.account_id] = acct
        self.breakers[spec.account_id] = breakers
        self.executor.accounts[spec.account_id] = acct
        self.executor.cover_first.add(spec.account_id)  # a start or a take: covered first
        for symbol, agent in agents:
            # Which callbacks the agent overrides, asked once here and not on each order.
            sub = Subscription(
                acct, agent, constraints, looks=looks(agent), hears_fills=hears_fills(agent)
            )
            self._subs.setdefault(symbol, []).append(sub)
            self._serve(symbol)
            self.history.setdefault(symbol, deque(maxlen=self._history_len))
        try:
            await self.venue.open_account(spec.account_id, {spec.quote: spec.capital})
        except BaseException:
            # The venue refused the account (a bad key, no balance): it must not half-exist.
            self.remove_account(spec.account_id)
            raise

    def change_profile(self, account_id: str, profile_name: str) -> None:
        """Trade a running account under another risk profile from its next decision: new
        limits, breakers and agent constraints; open positions keep their brackets."""
        acct = self.accounts[account_id]
        profile = self.profile_for(profile_name)
        acct.profile = profile
        acct.spec = replace(acct.spec, profile=profile_name)
        self.breakers[account_id] = Breakers(profile, currency=acct.spec.quote)
        constraints = AgentConstraints(profile.min_stop, profile.max_stop, profile.min_rr)
        for subs in self._subs.values():
            for sub in subs:
                if sub.account is acct:
                    sub.constraints = constraints

    def agents_of(self, symbol: str, account_ids: Collection[str]) -> list[Agent]:
        """The agents that ``account_ids`` trade ``symbol`` with (an agent two accounts share
        with the same parameters is one object, listed once)."""
        found: list[Agent] = []
        for sub in self._subs.get(symbol, ()):
            mine = sub.account.spec.account_id in account_ids
            if mine and all(sub.agent is not agent for agent in found):
                found.append(sub.agent)
        return found

    def remove_account(self, account_id: str) -> AccountRuntime:
        """Stop trading an account that is flat with no working orders (the caller checks:
        a position left behind would lose its monitor)."""
        acct = self.accounts[account_id]
        if acct.ledger.positions or any(True for _ in acct.open_orders()):
            raise ConfigError(f"Account {account_id!r} still has positions or orders.")
        del self.accounts[account_id]
        self.protections.remove(account_id)
        self.breakers.pop(account_id, None)
        self.executor.accounts.pop(account_id, None)
        self.executor.cover_first.discard(account_id)
        for symbol, subs in self._subs.items():
            self._subs[symbol] = [s for s in subs if s.account is not acct]
            self._serve(symbol)
        return acct

    def symbols(self) -> list[str]:
        return sorted(self._subs)

    # -- market data --------------------------------------------------------------------------

    def _observe(self, candle: Candle) -> bool:
        """Marks, history and the agents' indicators; whether an agent on the symbol has
        something to say on this bar (is not quiet)."""
        # Runs on every candle: attributes read once, no deque built when one exists.
        symbol, ts = candle.symbol, candle.ts
        self.marks[symbol] = candle.close_dec
        self.data_ts[symbol] = candle.close_ts
        history = self.history.get(symbol)
        if history is None:
            history = self.history[symbol] = deque(maxlen=self._history_len)
        history.append(candle)
        self._rows[symbol] = None
        if self.series.wanted:
            self.series.feed(candle)
        speaks = False
        for agent in self._agents_by_symbol.get(symbol, ()):
            try:
                agent.update(candle)
                speaks = speaks or not agent.quiet
            except Exception as exc:  # an agent's bug pauses its accounts, not the engine
                for sub in self._subs.get(symbol, ()):
                    if sub.agent is agent:
                        self.controls.agent_raised(sub.account, agent, exc, "reading a candle")
        if self.plots.wanted:
            self.plots.record(symbol, ts)
        self.candles_seen += 1
        if ts > self.last_candle_ts:
            self.last_candle_ts = ts
        return speaks

    def warm(self, candle: Candle) -> None:
        """Feed a candle that was already traded before a restart: indicators only."""
        self._observe(candle)

    async def on_candle(self, candle: Candle) -> None:
        """What happens on a candle, top to bottom, for one account or ten thousand; a quiet
        candle runs the same steps with nothing to do in most. Accounts are served in a
        rotating order (:mod:`rampart.trading.serving`); when they all act on one candle, the
        last one's order waits for no other's fill and bracket (see step 5)."""
        # The cyclic collector waits until the candle is done: a full collection over a
        # thousand accounts' objects (~100 ms) inside the candle delays every order after it.
        # Allocations still count, so it runs as often, at the first allocation after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            symbol = candle.symbol
            # 1. The venue sees the candle: the paper venue matches its resting orders against it;
            #    a polled venue is asked for what it did since.
            if self._on_candle is not None:
                self._on_candle(candle)
            elif self._poll is not None:
                await self._poll()
            # 2. Marks, history, the agents' indicators.
            speaks = self._observe(candle)
            # 3. The venue's reports applied: fills booked, brackets placed.
            executor = self.executor
            # Whether anything since could have queued work for the executor: a drain, an
            # account acted on, an agent asked, the loop let go of (another task's report).
            # Nothing did on a quiet candle, and the executor is then not asked again.
            stirred = speaks
            if executor.has_work():
                stirred = True
                await executor.drain()
            now = self.clock.now_ms()
            order = self._order.get(symbol, ())
            # 4. Every account guarded: the position monitor, the breakers. Most send nothing.
            guard = self.guard
            for i, sub in enumerate(order, 1):
                guarding = guard.check(sub.account, symbol, now)
                if guarding is not IDLE:
                    stirred = True
                    await guard.act(sub.account, symbol, guarding, now)
                if i % YIELD_EVERY == 0:
                    stirred = True
                    await asyncio.sleep(0)
            # 5. The agents, unless all are quiet on this bar (most bars): each account whose
            #    agent speaks gets a view, its intents are risk-checked and sent, the venue's
            #    answers held until the last account's are out; the next such bar starts elsewhere.
            if speaks:
                executor.holding = True
                try:
                    for i, sub in enumerate(order, 1):
                        if not sub.agent.quiet:
                            await self.room.ask(sub, candle, now)
                        if i % YIELD_EVERY == 0:
                            await asyncio.sleep(0)
                finally:
                    executor.holding = False
                if len(order) > 1:
                    turn = self._turns[symbol] = self._turns.get(symbol, 0) + 1
                    self._order[symbol] = serving_order(self._subs[symbol], turn)
            # 6. The answers applied, then the invariants.
            if stirred and executor.has_work():
                await executor.drain()
            for sub in order:
                acct = sub.account
                ledger = acct.ledger
                # after_event has nothing to do for a flat account with no new fill, its
                # cash not negative and no snapshot due (most candles): not called then.
                if (
                    ledger.positions
                    or ledger.fills_booked != acct.checked_fills
                    or now >= acct.next_equity_snapshot_ts
                    or ledger.cash < ZERO
                ):
                    after_event(self, acct, now)
            if not stirred:
                self.calm = candle
        finally:
            if collecting:
                gc.enable()

    def _serve(self, symbol: str) -> None:  # the accounts on ``symbol`` changed: same turn
        self._order[symbol] = serving_order(self._subs[symbol], self._turns.get(symbol, 0))

    async def on_price(self, symbol: str, price: Decimal) -> None:
        """A price between two candles (a DEX quote, a ticker): the position monitor and the
        breakers act on it at once, so a stop held by Rampart (no resting order on a DEX) is
        sent within one price update of being crossed. Agents still decide on candles only."""
        if symbol not in self._subs or price <= 0:
            return
        if self._poll is not None:
            await self._poll()
        self.marks[symbol] = price
        await self.executor.drain()
        now = self.clock.now_ms()
        order = self._order[symbol]
        await self.guard.accounts(order, symbol, now)
        await self.executor.drain()
        for sub in order:
            after_event(self, sub.account, now)

    # -- decisions ----------------------------------------------------------------------------

    def risk_context(self, acct: AccountRuntime, symbol: str, now: int) -> RiskContext:
        return risk_context(self, acct, symbol, now)

    async def handle_intent(
        self, acct: AccountRuntime, intent: Intent, look: LastLook | None = None
    ) -> bool:
        """Risk-check one intent and act on it. Returns whether it was approved. ``look``:
        the agent's last look at what the risk engine approved (its stake, its veto)."""
        now = self.clock.now_ms()
        # An agent's own protections refuse before the risk engine, never in its place.
        held = self.holds.refusal(acct, intent, now) or self.protections.refusal(
            acct, intent, now, self.history.get(intent.symbol)
        )
        if not held and acct.account_id in self.executor.cover_first:
            held = await cover_first.refusal(self, acct, intent, now)
        verdict = (
            RiskVerdict.reject(*held)
            if held
            else self.risk.check(intent, self.risk_context(acct, intent.symbol, now))
        )
        action = intent.action
        if look is not None and verdict.approved and action is not IntentAction.MOVE:
            looked = await look.verdict(intent, verdict)
            if looked is None:
                return False  # its callback faulted: the room has said so and counted it
            verdict = looked
        opens = verdict.approved and (action is IntentAction.OPEN or action is IntentAction.ADD)
        # The entry's client id is taken only once the intent is approved (a refused intent
        # must not use up a number), so the intent is published after the verdict, carrying
        # the id ``rampart trace`` follows; the checks above publish nothing.
        client_id = acct.next_client_id(OrderRole.ENTRY) if opens else None
        self.bus.publish(IntentProposed(now, intent, client_id))
        if not verdict.approved:
            code = verdict.code.value if verdict.code else "rejected"
            if code in ACCOUNT_GATES and acct.blocked.get(intent.symbol) == code:
                # Same closed gate as last time: the investor has been told once already.
                acct.repeated_rejections += 1
                return False
            acct.blocked[intent.symbol] = code
            acct.rejections.append(
                Rejection(now, intent.symbol, code, verdict.message, intent.agent)
            )
            self.bus.publish(IntentRejected(now, intent, code, verdict.message))
            return False
        acct.blocked.pop(intent.symbol, None)
        if action is IntentAction.MOVE:
            await move_bracket(
                self.executor, acct, intent.symbol, intent.stop_loss, intent.take_profit
            )
            return True
        if action is IntentAction.REDUCE:
            await reduce_position(
                self.executor, acct, intent.symbol, verdict.qty, intent.rationale or "agent"
            )
            return True
        if client_id is None:
            await self.executor.exit_position(acct, intent.symbol, intent.rationale or "agent")
            return True
        acct.brackets[client_id] = entry_bracket(acct, intent)
        entry = Order(
            client_id=client_id,
            account_id=acct.account_id,
            symbol=intent.symbol,
            side=Side.BUY,
            type=OrderType.MARKET,
            qty=verdict.qty,
            role=OrderRole.ENTRY,
            strategy=intent.agent,
        )
        await self.executor.submit(acct, entry)
        await self.executor.drain()
        return True

    # -- guarding (see rampart.trading.guard) ------------------------------------------------

    async def apply_trips(self, acct: AccountRuntime, trips: list[Trip], now: int) -> None:
        """Publish breaker decisions and cancel working entries when one restricts trading."""
        await self.guard.apply_trips(acct, trips, now)

    def _on_trade_closed(self, acct: AccountRuntime, trade: ClosedTrade) -> None:
        self.guard.on_trade_closed(acct, trade)
        self.protections.on_trade_closed(acct, trade)

    # -- invariants and snapshots -------------------------------------------------------------

    def publish_equity(self, acct: AccountRuntime, now: int) -> None:
        ledger = acct.ledger
        value = ledger.positions_value(self.marks)
        self.bus.publish(
            EquitySnapshot(
                now, acct.account_id, ledger.cash, value, ledger.cash + value, ledger.realized_pnl
            )
        )

    def equity(self, account_id: str) -> Decimal:
        return self.accounts[account_id].ledger.equity(self.marks)

    def snapshot(self) -> dict[str, Any]:
        return engine_snapshot(self)

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        """Restore state saved by :meth:`snapshot`; accounts must already be added."""
        load_engine_snapshot(self, snap)
