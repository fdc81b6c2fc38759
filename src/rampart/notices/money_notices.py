"""Telling the investor and the operator when their money moved outside Rampart.

Reconciliation finds what happened on the exchange behind Rampart's back: a position sold by
hand (the trade closes as ``external``), coins bought by hand (held apart), a cash flow (a
deposit, a withdrawal, cash spent or brought back by hand: left out of the strategy's
result), a quantity no trade explains (booked at a stated price), a venue report the books
cannot take (the account goes close-only). Each is published on the bus; this subscriber
turns them into messages for the account's investor and the operator chat.

The investor's message is an ``exchange`` notice handed to the durable outbox
(:mod:`rampart.notices.outbox`) like every other investor notice: paced within Telegram's
limits, switched with ``/notify``, written to ``notify_outbox`` so a restart does not lose it,
and keyed by the event so a replayed event is not told twice. The operator's copy goes to the
operator chat, sent by :meth:`MoneyNotices.run` off the engine's path (the bus is synchronous,
Telegram is not). A worker past one machine has no bot: it puts the operator's copy in the same
outbox, as an ``operator`` notice keyed by the event, and the server that sends the outbox
sends it to the operator chat (:mod:`rampart.notices.outbox`), once per event.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from html import escape

import structlog

from rampart.domain import money_format
from rampart.domain.events import Event, ReconciliationRepaired, ReportUnexplained, TradeClosed
from rampart.notices.investor_notices import EXCHANGE, OPERATOR, InvestorNotice
from rampart.runtime.messaging import Messenger

log = structlog.get_logger("rampart.ops.notices")

QUEUE_MAX = 1_000
"""Messages kept while nobody can send them (no bot yet, Telegram down): the oldest go first."""


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    """Names the event told (the outbox queues a key once)."""
    account_id: str
    ts: int
    investor: str
    """Telegram HTML for the investor ("" when they are not told)."""
    operator: str


def _money(value: Decimal | str) -> str:
    """A price as every front shows it (:mod:`rampart.domain.money_format`)."""
    return escape(money_format.price(value) if not isinstance(value, str) else value)


def notice_for(event: Event) -> Notice | None:
    """The message an event deserves, or None when it is ordinary trading."""
    if isinstance(event, TradeClosed) and event.trade.exit_reason == "external":
        t = event.trade
        what = (
            f"your {escape(t.symbol)} position ({escape(money_format.quantity(t.qty))}) was sold "
            f"outside Rampart, on the exchange, at {_money(t.exit_price)}; the trade closed at "
            f"{escape(money_format.pnl(t.pnl, t.symbol.split('/')[-1]))}."
        )
        return Notice(
            f"external|{t.account_id}|{t.entry_client_id}|{t.closed_at}",
            t.account_id,
            event.ts,
            f"ℹ️ Rampart noticed that {what} It no longer holds or protects that position.",
            f"Account <code>{escape(t.account_id)}</code>: {what}",
        )
    if isinstance(event, ReconciliationRepaired) and event.kind == "cash_flow":
        detail = escape(event.detail)
        return Notice(
            f"reconcile|{event.account_id}|{event.kind}|{event.ts}",
            event.account_id,
            event.ts,
            f"ℹ️ Rampart saw money move on your exchange account: {detail}",
            f"Account <code>{escape(event.account_id)}</code> (cash flow): {detail}",
        )
    if isinstance(event, ReconciliationRepaired) and event.kind in (
        "holdings_apart",
        "position_adjusted",
    ):
        detail = escape(event.detail)
        digest = hashlib.sha1(event.detail.encode(), usedforsecurity=False).hexdigest()[:16]
        return Notice(
            f"reconcile|{event.account_id}|{event.kind}|{event.ts}|{digest}",
            event.account_id,
            event.ts,
            f"ℹ️ Rampart compared your exchange account with its books: {detail}",
            f"Account <code>{escape(event.account_id)}</code> ({escape(event.kind)}): {detail}",
        )
    if isinstance(event, ReportUnexplained):
        order = escape(event.client_id or "?")
        return Notice(
            f"unexplained|{event.account_id}|{event.client_id or '?'}|{event.ts}",
            event.account_id,
            event.ts,
            "⚠️ The exchange reported something Rampart cannot explain, so it stops opening new "
            "positions on your account until the operator has checked it. Open positions stay "
            "protected.",
            f"⚠️ Account <code>{escape(event.account_id)}</code>: the venue's report on order "
            f"<code>{order}</code> cannot be booked ({escape(event.detail)}). The account is "
            "close-only until you check it and resume it with its breakers lifted.",
        )
    return None


class MoneyNotices:
    """Bus subscriber and sender: ``notices(event)`` hands the investor's message to
    ``investors`` (the outbox's ``put``: memory only, on the engine's path) and queues the
    operator's copy, which :meth:`run` sends. Without ``investors`` (a service with no bot has
    no investor to tell) only the operator is told. With ``operators`` (a worker's outbox) the
    operator's copy is put there instead, for the server that sends the outbox."""

    def __init__(
        self,
        messenger: Callable[[], Messenger | None],
        investors: Callable[[InvestorNotice], None] | None = None,
        *,
        operators: Callable[[InvestorNotice], None] | None = None,
    ) -> None:
        self._messenger = messenger
        self._investors = investors
        self._operators = operators
        self._queue: deque[Notice] = deque(maxlen=QUEUE_MAX)
        self._wake = asyncio.Event()
        self.sent = 0

    def __call__(self, event: Event) -> None:
        notice = notice_for(event)
        if notice is None:
            return
        if notice.investor and self._investors is not None:
            self._investors(
                InvestorNotice(notice.key, notice.account_id, EXCHANGE, notice.investor, notice.ts)
            )
        if self._operators is not None:
            key = f"{OPERATOR}|{notice.key}"
            self._operators(
                InvestorNotice(key, notice.account_id, OPERATOR, notice.operator, notice.ts)
            )
            return
        self._queue.append(notice)
        self._wake.set()

    def pending(self) -> list[Notice]:
        return list(self._queue)

    async def flush(self) -> int:
        """Send the operator's copies queued; what cannot be sent now stays for the next try."""
        messenger = self._messenger()
        if messenger is None:
            return 0
        done = 0
        while self._queue:
            notice = self._queue[0]
            told = await messenger.tell_operators(notice.operator)
            if not told:
                log.warning("money_notice_not_delivered", account_id=notice.account_id)
            self._queue.popleft()
            done += 1
        self.sent += done
        return done

    async def run(self, stop: asyncio.Event, beat: Callable[[], None], every_s: float) -> None:
        while not stop.is_set():
            await self.flush()
            beat()
            self._wake.clear()
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waits, timeout=every_s, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
