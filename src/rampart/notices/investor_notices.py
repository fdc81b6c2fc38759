"""What an investor is told when their money moves: engine events turned into short notices.

:class:`NoticeMaker` is a bus subscriber (the bus is synchronous, on the engine's path): it
keeps the little it needs to say a fill in full (the agent's reason for the entry, the reason
an exit order was sent) and hands each notice to a sink, the durable outbox
(:mod:`rampart.notices.outbox`), which sends it off the engine's path.

Amounts are written as every front writes them (:mod:`rampart.domain.money_format`: thousands
separators, the quote asset, PnL signed, quantities and prices to the instrument's lot and
tick), from the same figures ``GET /api/v1/accounts/{id}/...`` sends exactly. Each notice has a
``key`` naming the event it tells: the same event seen again (a replay after a restart) is
queued once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from rampart.clock import ms_to_datetime
from rampart.domain import money_format
from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    Event,
    IntentProposed,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    TradeClosed,
)
from rampart.domain.exits import exit_cause
from rampart.domain.instruments import Instrument
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.domain.positions import Position
from rampart.notices.plain_words import change, plain_reason
from rampart.risk.restrictions import NAMES as BREAKER_NAMES

# The breaker a rollout stage limit trips (rollout.enforce.STAGE_BREAKER is this name; the
# rollout is above the notices in the layers, so it is read where the rollout reads it).
from rampart.risk.restrictions import ROLLOUT_STAGE as STAGE_BREAKER

ENTRIES = "entries"
EXITS = "exits"
BRACKETS = "brackets"
BREAKERS = "breakers"
KILL = "kill"
PAUSE = "pause"
INCIDENTS = "incidents"
STAGE = "stage"
EXCHANGE = "exchange"
KINDS: dict[str, str] = {
    ENTRIES: "a position was opened (price, size, stop-loss, target, why)",
    EXITS: "a position was closed (which leg, realised PnL, fees)",
    BRACKETS: "the exchange refused a stop-loss or target, and how the position is guarded",
    BREAKERS: "a safety breaker tripped or your account's trading state changed",
    KILL: "the operator's kill switch was engaged or released",
    PAUSE: "the operator paused or resumed your account",
    INCIDENTS: "an incident affects your account, with the expected time to fix",
    STAGE: "a rollout stage change limits your account",
    EXCHANGE: "your exchange account changed outside Rampart (sold by hand, coins held apart, "
    "a deposit or withdrawal, a report it cannot explain)",
}
OPERATOR = "operator"
"""Not an investor's kind (``/notify`` does not list it): the operator chat's copy of a money
notice, put in the outbox by a worker past one machine and sent to the operator chat."""
MAX_REMEMBERED = 100_000
"""Entries, reasons and refusals remembered between events; beyond it the oldest are forgotten
(a notice then says less, never something wrong)."""

STATE_MEANING = {
    TradingState.ACTIVE: "✅ Your account trades normally again.",
    TradingState.REDUCING: (
        "⚠️ Your account now only closes positions: no new entries; open positions keep "
        "their stop-loss and target."
    ),
    TradingState.HALTED: (
        "⛔ Trading on your account is halted: no new orders; protective orders stay on the "
        "exchange until every position is closed."
    ),
}


@dataclass(frozen=True, slots=True)
class InvestorNotice:
    key: str
    """Names the event told; the outbox queues a key once."""
    account_id: str
    kind: str
    text: str
    """Telegram HTML, short."""
    ts: int


def claims_normal(key: str) -> bool:
    """Whether the notice under ``key`` tells an investor their account trades normally (back
    to active, the kill switch released, a pause lifted): true only while nothing restricts it,
    so the outbox checks it again as the notice leaves. Read from the key (kept with the row),
    not the words, which may change."""
    parts = key.split("|")
    if len(parts) < 3:
        return False
    kind, _, what = parts[:3]
    if kind == "state":
        return what == TradingState.ACTIVE.value
    return kind in ("kill", "pause") and what == "False"


def event_ms(key: str) -> int:
    """The business time of the event a notice's key names (0 when it names none)."""
    parts = key.split("|")
    return int(parts[3]) if len(parts) > 3 and parts[3].lstrip("-").isdigit() else 0


def _quote(symbol: str) -> str:
    return escape(symbol.split("/")[-1])


Instruments = Callable[[str], Instrument]
"""The venue's instrument of a symbol (for its lot and tick); it may raise for one unknown."""


def _breaker_name(breaker: str) -> str:
    """ "Daily loss breaker", "Losing-streak cooldown" (the name every front gives it), not
    "daily loss" or "cooldown"."""
    return BREAKER_NAMES.get(breaker, breaker.replace("_", " "))


def _until(ts: int) -> str:
    return f"{ms_to_datetime(ts):%Y-%m-%d %H:%M} UTC"


def exit_leg(exit_reason: str, order_reason: str) -> str:
    """Which leg closed a trade, in the API's words (``exit_cause`` of GET .../trades):
    take-profit, stop-loss, investor, flatten (kill switch or pause), guard (the position
    monitor) or agent."""
    return exit_cause(exit_reason, order_reason)


LEG_WORDS = {
    "take-profit": "the take-profit filled",
    "stop-loss": "the stop-loss filled",
    "investor": "you closed it",
    "flatten": "the operator flattened it",
    "guard": "Rampart sold at the market price itself (stop-loss or target reached)",
    "agent": "the agent closed it",
    "external": "it was sold outside Rampart",
}


class _Bounded(dict[str, object]):
    """A dict that forgets its oldest keys past :data:`MAX_REMEMBERED`."""

    def remember(self, key: str, value: object) -> None:
        self.pop(key, None)
        self[key] = value
        if len(self) > MAX_REMEMBERED:
            del self[next(iter(self))]


class NoticeMaker:
    """Bus subscriber: each event that moves an investor's money becomes a notice for ``sink``.

    ``accounts`` names every running account (a global kill switch is told to each);
    ``realised`` reads an account's running realised total for the exit notices.
    """

    def __init__(
        self,
        sink: Callable[[InvestorNotice], None],
        accounts: Callable[[], Iterable[str]],
        instruments: Instruments | None = None,
        realised: Callable[[str], Decimal | None] | None = None,
    ) -> None:
        self._sink = sink
        self._realised = realised
        """An account's realised profit or loss so far (its ledger's, this trade included)."""
        self._accounts = accounts
        self._instruments = instruments
        self._why = _Bounded()
        """(account, symbol) → the agent's rationale for its latest open intent."""
        self._filled = _Bounded()
        """(account, entry client id) → fees of an entry order that has just filled."""
        self._exit_reason = _Bounded()
        """(account, symbol) → the reason of the latest exit order sent."""
        self._position = _Bounded()
        """(account, symbol) → the latest position (its stop-loss and target)."""
        self._refused = _Bounded()
        """(account, entry client id) → the bracket refusal already told."""
        self._stage_trip = _Bounded()
        """account → (time, reason) of the rollout stage's latest trip."""
        self._tripped = _Bounded()
        """account → (time, message, key, text) of its latest breaker trip, told already: the
        state change that follows from it is told under the same key, as one notice."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, IntentProposed):
            i = event.intent
            if i.action.value == "open":
                why = plain_reason(i.agent, i.rationale, i.confidence)
                self._why.remember(f"{i.account_id}|{i.symbol}", why)
        elif isinstance(event, OrderUpdated):
            self._on_order(event)
        elif isinstance(event, PositionChanged):
            self._on_position(event)
        elif isinstance(event, TradeClosed):
            self._on_trade(event)
        elif isinstance(event, BreakerTripped):
            if event.breaker == STAGE_BREAKER:
                # A stage change is told once, as a 'stage' notice by the rollout (it names
                # what brings the account back inside), not again as a breaker and its state.
                self._stage_trip.remember(event.account_id, (event.ts, event.message))
                return
            key = f"breaker|{event.account_id}|{event.breaker}|{event.ts}"
            text = (
                f"🛑 Safety breaker <b>{escape(_breaker_name(event.breaker))}</b> tripped: "
                f"{escape(event.message)}"
            )
            self._tripped.remember(event.account_id, (event.ts, event.message, key, text))
            self._emit(key, event.account_id, BREAKERS, text, event.ts)
        elif isinstance(event, AccountStateChanged):
            stage = self._stage_trip.pop(event.account_id, None)
            if stage == (event.ts, event.reason):
                return  # the state the stage's trip put the account in: told as 'stage'
            tripped = self._tripped.pop(event.account_id, None)
            if event.old is not event.new and isinstance(tripped, tuple):
                ts, message, key, text = tripped
                if (ts, message) == (event.ts, event.reason):
                    # The state this trip put the account in: one notice for the one event,
                    # the breaker's under its key (the outbox keeps the fuller telling).
                    self._emit(
                        key, event.account_id, BREAKERS, f"{text}\n{STATE_MEANING[event.new]}", ts
                    )
                    return
            if event.old is not event.new:
                self._emit(
                    f"state|{event.account_id}|{event.new.value}|{event.ts}",
                    event.account_id,
                    BREAKERS,
                    f"{STATE_MEANING[event.new]}\nWhy: {escape(event.reason)}",
                    event.ts,
                )
        elif isinstance(event, KillSwitchChanged):
            self._on_kill(event)

    # -- figures ----------------------------------------------------------------------------

    def _instrument(self, symbol: str) -> Instrument | None:
        if self._instruments is None:
            return None
        try:
            return self._instruments(symbol)
        except Exception:  # a notice says a figure with fewer decimals, never nothing
            return None

    def _qty(self, symbol: str, qty: Decimal) -> str:
        found = self._instrument(symbol)
        return money_format.quantity(qty, found.lot_size if found is not None else None)

    def _price(self, symbol: str, price: Decimal) -> str:
        found = self._instrument(symbol)
        return money_format.price(price, "", found.tick_size if found is not None else None)

    # -- the events -------------------------------------------------------------------------

    def _on_order(self, event: OrderUpdated) -> None:
        o = event.order
        if o.role is OrderRole.ENTRY and o.status is OrderStatus.FILLED:
            self._filled.remember(f"{o.account_id}|{o.client_id}", o.fees)
        elif o.role is OrderRole.EXIT and event.previous is OrderStatus.NEW:
            self._exit_reason.remember(f"{o.account_id}|{o.symbol}", o.reason)
        elif o.role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT) and (
            o.status is OrderStatus.REJECTED
        ):
            self._on_refused(event)

    def _on_position(self, event: PositionChanged) -> None:
        pos = event.position
        if pos is None:
            return
        where = f"{event.account_id}|{event.symbol}"
        self._position.remember(where, pos)
        fees = self._filled.pop(f"{event.account_id}|{pos.entry_client_id}", None)
        if fees is None:
            return
        why = self._why.pop(where, None)
        why_line = f"\nWhy: {escape(str(why))}." if why else ""
        symbol, quote = event.symbol, event.symbol.split("/")[-1]
        at = pos.avg_price
        self._emit(
            f"entry|{event.account_id}|{pos.entry_client_id}",
            event.account_id,
            ENTRIES,
            f"🟢 <b>Bought {escape(symbol)}</b>: {self._qty(symbol, pos.qty)} at "
            f"{self._price(symbol, at)} {escape(quote)} "
            f"(fees {escape(money_format.money(Decimal(str(fees)), quote))})"
            f"{why_line}"
            f"\nStop-loss {self._price(symbol, pos.stop_loss)} ({change(pos.stop_loss, at)}) · "
            f"take-profit {self._price(symbol, pos.take_profit)} "
            f"({change(pos.take_profit, at)}): it sells by itself at either.",
            event.ts,
        )

    def _on_trade(self, event: TradeClosed) -> None:
        t = event.trade
        if t.exit_reason == OrderRole.EXTERNAL.value:
            return  # told by rampart.notices.money_notices (sold outside Rampart)
        reason = str(self._exit_reason.pop(f"{t.account_id}|{t.symbol}", "") or "")
        leg = exit_leg(t.exit_reason, reason)
        sign = "🟩" if t.pnl > 0 else "🟥"
        quote = t.symbol.split("/")[-1]
        cost = t.entry_price * t.qty
        share = f" ({change(cost + t.pnl, cost)})" if cost > 0 else ""
        total = self._realised(t.account_id) if self._realised is not None else None
        total_line = (
            ""
            if total is None
            else f"\nYour account's realised result so far: "
            f"{escape(money_format.pnl(total, quote))}."
        )
        self._emit(
            f"exit|{t.account_id}|{t.entry_client_id}|{t.closed_at}",
            t.account_id,
            EXITS,
            f"{sign} <b>Sold {escape(t.symbol)}</b> ({leg}): {self._qty(t.symbol, t.qty)} at "
            f"{self._price(t.symbol, t.exit_price)}, {LEG_WORDS.get(leg, leg)}.\nResult: "
            f"{escape(money_format.pnl(t.pnl, quote))}{share} after fees "
            f"{escape(money_format.money(t.fees, quote))} "
            f"(bought at {self._price(t.symbol, t.entry_price)}).{total_line}",
            event.ts,
        )

    def _on_refused(self, event: OrderUpdated) -> None:
        o = event.order
        entry = o.parent_id or o.client_id
        told = f"{o.account_id}|{entry}"
        if told in self._refused:
            return  # the bracket is retried with backoff: the investor is told once
        self._refused.remember(told, True)
        pos = self._position.get(f"{o.account_id}|{o.symbol}")
        guard = "Rampart watches the price itself meanwhile: it sells at the market price"
        if isinstance(pos, Position):
            guard += (
                f" if the price reaches the stop-loss {self._price(o.symbol, pos.stop_loss)} or "
                f"the take-profit {self._price(o.symbol, pos.take_profit)}"
            )
        why = f" ({escape(o.reason)})" if o.reason else ""
        self._emit(
            f"bracket|{o.account_id}|{entry}",
            o.account_id,
            BRACKETS,
            f"⚠️ The exchange refused the {o.role.value.replace('_', '-')} order for your "
            f"{escape(o.symbol)} position{why}. {guard}, checked at every new price, and the "
            "order is tried again.",
            event.ts,
        )

    def _on_kill(self, event: KillSwitchChanged) -> None:
        # A person's command, never replayed from candles: two of them may share a business
        # time (kill, release, kill before the next candle), so each gets its own key.
        once = secrets.token_hex(8)
        reason = f"\nReason: {escape(event.reason)}" if event.reason else ""
        if event.scope == "global":
            # "stopped opening positions and closing every position" read as both stopped.
            flat = (
                " It is closing every open position now, at the market price."
                if event.flatten
                else " Open positions keep their stop-loss and take-profit."
            )
            text = (
                f"🚨 The operator engaged the kill switch: Rampart opens no new positions on any "
                f"account until it is released.{flat}{reason}"
                if event.engaged
                else f"✅ The operator released the kill switch: trading goes on.{reason}"
            )
            for account_id in self._accounts():
                self._emit(
                    f"kill|{account_id}|{event.engaged}|{event.ts}|{once}",
                    account_id,
                    KILL,
                    text,
                    event.ts,
                )
            return
        if event.actor.startswith("telegram:") and event.scope == "tg-" + event.actor[9:]:
            return  # the investor's own /pause and /resume are answered where they are typed
        who = "Rampart" if event.actor == "system" else "The operator"
        flat = ", and your positions are being closed" if event.flatten else ""
        text = (
            f"⏸ {who} paused your account: no new positions{flat} until an operator "
            f"resumes it.{reason}"
            if event.engaged
            else f"▶️ {who} resumed your account.{reason}"
        )
        self._emit(
            f"pause|{event.scope}|{event.engaged}|{event.ts}|{once}",
            event.scope,
            PAUSE,
            text,
            event.ts,
        )

    def _emit(self, key: str, account_id: str, kind: str, text: str, ts: int) -> None:
        self._sink(InvestorNotice(key, account_id, kind, text, ts))


def realised_of(engine: Any) -> Callable[[str], Decimal | None]:
    """``NoticeMaker``'s ``realised`` for an engine: the account's ledger's realised total,
    read when the trade is told (the ledger has booked it by then); None for an account the
    engine no longer trades."""

    def realised(account_id: str) -> Decimal | None:
        acct = engine.accounts.get(account_id)
        return None if acct is None else Decimal(acct.ledger.realized_pnl)

    return realised


def incident_text(summary: str, eta_ms: int | None) -> str:
    eta = (
        f"The operator expects it fixed by {_until(eta_ms)}."
        if eta_ms is not None
        else "The operator is working on it."
    )
    return f"🔧 An incident affects your account: {escape(summary)}\n{eta}"
