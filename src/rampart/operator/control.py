"""The operator's commands over the running engine, shared by the HTTP API and the Telegram bot.

Every mutation runs under one :class:`asyncio.Lock` that the service's candle loop also holds
while it processes a candle, so a command never lands in the middle of a half-processed
candle. The kill switch is the exception that proves the rule: its flag is raised before the
lock is taken, so no new entry is approved from that instant even if a candle is in flight;
canceling and flattening then happen under the lock.

Each command answers with what it did, in numbers and in one sentence, and refuses bad input
with a sentence while changing nothing. The control actions (kill switch, pause, resume, an
engine stopped) are in :mod:`rampart.operator.control_actions`, written once for this process
and for the fleet (:class:`~rampart.operator.scaled.ScaledOperator`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from rampart.agents.plugins import check_storable
from rampart.agents.registry import make_agent
from rampart.clock import Clock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError, RampartError, StoreError
from rampart.domain.instruments import Instrument
from rampart.notices.command_book import CommandBook
from rampart.operator.accounts import AccountConfig, account_spec, quote_of
from rampart.operator.control_actions import ControlActions
from rampart.operator.desk import InvestorDesk
from rampart.operator.desk_base import Recheck
from rampart.operator.errors import Conflict as Conflict  # re-exported: callers catch it here
from rampart.operator.investors import InvestorBook
from rampart.operator.ops import OpsActions
from rampart.operator.people import PeopleActions
from rampart.operator.records import PanelSessionRecords, TokenRecords
from rampart.operator.results import (
    OPERATOR_OWNER,
    STOPPED,
    AccountSummary,
    KillSwitchState,
    parse_capital,
)
from rampart.operator.settings import Settings
from rampart.operator.views import InvestorViews, UnknownAccount
from rampart.risk.profiles import DEFAULT_PROFILES, get_profile
from rampart.risk.restrictions import Restriction
from rampart.store import queries
from rampart.store.audit import record_safely
from rampart.trading.account import AccountRuntime

if TYPE_CHECKING:
    from rampart.operator.session import Session as TradingSession
    from rampart.security.secrets import KeyBox
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.operator.control")


class Operator(ControlActions, OpsActions, PeopleActions):
    def __init__(
        self,
        session: TradingSession,
        lock: asyncio.Lock,
        *,
        feed_symbols: Iterable[str],
        mode: str | None = None,
        business: Clock | None = None,
    ) -> None:
        self._session = session
        self.business = business or session.clock
        """The service's business clock (support tickets' SLA runs on it)."""
        self.lock = lock
        self.feed_symbols = frozenset(feed_symbols)
        self.mode = mode or session.settings.mode
        self.views = InvestorViews(session)
        self.investors = InvestorBook(session)
        """The investors' records (the bot's users), for every front."""
        self.tokens = TokenRecords(session)
        """The API's tokens as the store keeps them (the API's token check reads them)."""
        self.panel_sessions = PanelSessionRecords(session)
        """The panel's stored sign-in sessions."""
        self._rollout: object | None = None
        self._rollout_make: Callable[[TradingSession], object] | None = None

    # The session, its engine and its store stay behind the facade: a front
    # is handed methods and the objects above, never these (tests/operator/test_facade.py).
    @property
    def _engine(self) -> Engine:
        return self._session.engine

    def investor_desk(
        self, settings: Settings, key_box: KeyBox | None, recheck: Recheck | None = None
    ) -> InvestorDesk:
        """The investor actions (connect, invest, profile…) on this facade, for the bot."""
        return InvestorDesk(self, self._session, settings, key_box, recheck)

    def command_book(self) -> CommandBook | None:
        """The bot's durable commands and replies in the service's store; None when it has no
        store open (nothing is kept)."""
        db = getattr(self._session, "db", None)
        return CommandBook(db) if db is not None else None

    def serve_rollout(self, make: Callable[[TradingSession], object]) -> None:
        """The composition root puts the staged rollout's desk on the facade: the rollout sits
        above it, so it brings ``make`` (``rampart.rollout.desk.serve_desk``), which is handed
        the session behind the facade on first use. A front never calls this."""
        self._rollout_make = make
        self._rollout = None

    @property
    def serves_rollout(self) -> bool:
        """Whether the composition root served the staged rollout on this facade."""
        return self._rollout_make is not None

    def rollout_desk(self) -> Any:
        """The staged rollout's desk the fronts share (a ``rampart.rollout.desk.RolloutDesk``,
        typed by the fronts: the facade may not name the layer above it); the service hands it
        its started controller. Refused where the composition root served none."""
        if self._rollout is None:
            if self._rollout_make is None:
                raise Conflict("This process does not serve the staged rollout.")
            self._rollout = self._rollout_make(self._session)
        return self._rollout

    def profile_names(self) -> list[str]:
        """The risk profiles this service knows (its overrides, or the defaults), sorted."""
        return sorted(self._session.settings.profiles or DEFAULT_PROFILES)

    @property
    def forwarding(self) -> bool:
        """Whether the accounts are traded elsewhere (by workers, ``rampart serve``): then an
        action's change to the engine is sent to them (:meth:`forward`) instead of applied
        here."""
        return False

    async def forward(self, kind: str, payload: dict[str, Any], account_id: str) -> str | None:
        """Send an action on ``account_id`` to the process that trades it; its answer, or None
        when that is this one (the caller applies the change here, under the lock)."""
        del kind, payload, account_id
        return None

    async def save_now(self) -> None:
        """Write what the engine booked since the last checkpoint, so a report made from the
        store right after is current to the last candle (a store that is down: as it stands)."""
        async with self.lock:
            await self._session.checkpoint_off_loop()

    async def audit(self, actor: str, action: str, target: str, **detail: object) -> None:
        """Audit one of the facade's actions (``operator.…``) once, in its numbered sequence,
        through the store's buffered writer (see :meth:`_audit`)."""
        await self._audit(actor, action, target, **detail)

    async def _audit(self, actor: str, action: str, target: str, **detail: object) -> None:
        """Record the action through the store's buffered writer, and try to write it now.

        The action has happened already, so a store that is down must not fail the command:
        the entry stays buffered with the engine's rows and is written (and numbered in the
        facade's sequence) by the first write that succeeds. Without a writer (a session
        never opened on a store) it is written directly, as best it can be."""
        now = self._session.clock.now_ms()
        writer = self._session.writer
        if writer is None:
            await record_safely(
                getattr(self._session, "db", None), now, actor, action, target, detail
            )
            return
        writer.facade_entry(now, actor, action, target, dict(detail))
        items = writer.take_facade()
        try:
            await asyncio.to_thread(writer.write_facade, items)
        except StoreError as err:
            # Back in the buffer: the session's next write that succeeds takes it.
            writer.restore_facade(items)
            log.warning("audit_entry_delayed", action=action, target=target, error=err.message)

    def _account(self, account_id: str) -> AccountRuntime:
        acct = self._engine.accounts.get(account_id)
        if acct is None:
            raise UnknownAccount(f"There is no account called {account_id!r}.")
        return acct

    # -- reading ------------------------------------------------------------------------------

    def summary(self, account_id: str) -> AccountSummary:
        acct = self._account(account_id)
        spec = acct.spec
        if acct.paused and acct.pause_reason.startswith(STOPPED):
            status = "stopped"
        elif acct.paused:
            status = "paused"
        else:
            status = acct.state.value
        return AccountSummary(
            account_id=spec.account_id,
            owner=spec.owner,
            agent=spec.agent,
            profile=spec.profile,
            symbols=spec.symbols,
            quote=spec.quote,
            capital=spec.capital,
            equity=acct.ledger.equity(self._engine.marks),
            realized_pnl=acct.ledger.realized_pnl,
            state=acct.state.value,
            status=status,
            paused=acct.paused,
            pause_reason=acct.pause_reason,
            open_positions=len(acct.ledger.positions),
            working_orders=sum(1 for _ in acct.open_orders()),
            restrictions=tuple(self._engine.controls.restrictions(acct)),
        )

    def accounts(self) -> list[AccountSummary]:
        return [self.summary(a) for a in sorted(self._engine.accounts)]

    def is_running(self, account_id: str) -> bool:
        return account_id in self._engine.accounts

    def kill_switch(self) -> KillSwitchState:
        c = self._engine.controls
        since = c.global_since_ms or None
        return KillSwitchState(bool(c.global_kill), c.global_reason or "", c.global_actor, since)

    def paused_by(self, account_id: str) -> str:
        """Who paused the account ('' when nobody did; ``system`` for a loss limit)."""
        return str(self._engine.controls.paused_by.get(account_id, ""))

    def restrictions(self, account_id: str) -> tuple[Restriction, ...]:
        """Why the account does not trade normally, in the words every front shows."""
        return tuple(self._engine.controls.restrictions(self._account(account_id)))

    def instrument(self, symbol: str) -> Instrument:
        """The venue's instrument for ``symbol`` (its price and size steps, for display)."""
        return self._engine.venue.instrument(symbol)

    def candles(self, symbol: str) -> list[Candle]:
        """The candles the engine keeps for ``symbol``, oldest first."""
        return list(self._engine.history.get(symbol, ()))

    def plotted(self, symbol: str, accounts: Collection[str]) -> list[dict[str, object]]:
        """The indicators that the agents of ``accounts`` trading ``symbol`` ask to have drawn
        (their ``plot``), each with its points beside the candles: the panel's trade chart
        draws them. Another account's agent's lines are never among them."""
        return self._engine.plots.series(symbol, self._engine.agents_of(symbol, accounts))

    def change_mark(self) -> tuple[int, int, bool]:
        """Moves with every candle, every engine event and the kill switch (a live page asks
        whether to send figures again)."""
        engine = self._engine
        published = int(getattr(self._session.bus, "published", 0))
        return int(engine.candles_seen), published, bool(engine.controls.global_kill)

    def market_data_until(self) -> int | None:
        """Business time of the newest candle the engine has seen (None: none yet)."""
        data = self._engine.data_ts
        return max(data.values()) if data else None

    # -- engines ------------------------------------------------------------------------------

    def _check_engine(
        self, symbol: str, mode: str, capital: Decimal | str | int | float, agent: str, profile: str
    ) -> tuple[str, Decimal]:
        wanted = (mode or "").strip().lower()
        if wanted != self.mode:
            raise RampartError(
                f"This service runs in {self.mode} mode; it cannot start a {wanted or '(blank)'} "
                "engine. Start a service in that mode instead."
            )
        name = (symbol or "").strip().upper()
        if name not in self.feed_symbols:
            carried = ", ".join(sorted(self.feed_symbols)) or "nothing"
            raise RampartError(f"The feed does not carry {symbol!r}; it carries {carried}.")
        amount = parse_capital(capital)
        check_storable(agent)
        make_agent(agent)
        get_profile(profile, self._session.settings.profiles or None)
        return name, amount

    def _new_id(self, symbol: str) -> str:
        stem = "engine-" + "".join(ch for ch in symbol.lower() if ch.isalnum())
        n = 1
        while f"{stem}-{n}" in self._engine.accounts:
            n += 1
        return f"{stem}-{n}"

    async def start_engine(
        self,
        symbol: str,
        mode: str,
        capital: Decimal | str | int | float,
        actor: str,
        agent: str = "trend",
        profile: str = "moderate",
    ) -> AccountSummary:
        """Add an operator account trading ``symbol`` on the running engine."""
        name, amount = self._check_engine(symbol, mode, capital, agent, profile)
        async with self.lock:
            cfg = AccountConfig(
                id=self._new_id(name),
                agent=agent,
                profile=profile,
                capital=amount,
                symbols=[name],
                owner=OPERATOR_OWNER,
            )
            spec = account_spec(cfg, quote_of(cfg.symbols))
            await self.add_account(spec)
            summary = self.summary(spec.account_id)
        log.warning("engine_started", actor=actor, account_id=spec.account_id, symbol=name)
        await self._audit(
            actor, "operator.engine_start", spec.account_id, symbol=name, capital=amount
        )
        return summary

    async def add_account(self, spec: AccountSpec) -> None:
        """Start ``spec`` on the running engine and store it (call under the lock)."""
        try:
            await self._engine.add_account(spec)
        except ConfigError:
            raise
        except (KeyError, ValueError) as exc:
            raise RampartError(f"The venue cannot trade {spec.symbols[0]}: {exc}.") from None
        writer = self._session.writer
        if writer is not None:
            acct = self._engine.accounts[spec.account_id]
            writer.upsert_account(spec, acct.state, acct.paused, self._session.clock.now_ms())


async def restore_operator_accounts(
    session: TradingSession, only: Callable[[str], bool] | None = None
) -> list[str]:
    """Add back the accounts an operator started before a restart (those ``only`` accepts:
    a worker's shard).

    Call after ``session.open()`` and before ``session.finish_resume()``, so the checkpoint
    restores their positions and orders along with everyone else's.
    """
    added = []
    for record in await asyncio.to_thread(queries.list_accounts, session.db):
        if record.owner != OPERATOR_OWNER or record.account_id in session.engine.accounts:
            continue
        if only is not None and not only(record.account_id):
            continue
        await session.engine.add_account(record.spec)
        added.append(record.account_id)
    return added
