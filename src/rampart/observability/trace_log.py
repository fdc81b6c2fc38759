"""One log line per step of an entry's path, each with ``trace=<the entry's client id>``: the
agent's intent, every order of the position (the entry, its stop-loss and take-profit, an
exit) and its status changes, every fill and the closed trade. ``rampart trace ID`` reads them
back beside what the store holds, so an entry can be followed from the agent to the venue, the
books, the investor's notice and the log.

The entry's client id is the trace id: the approved intent carries it (the engine takes the
entry's id before publishing the intent), the bracket legs and exits name it as their parent,
the trade keeps it (``entry_client_id``) and the investor's notices use it in their keys.
"""

from __future__ import annotations

from collections import OrderedDict

import structlog

from rampart.domain.events import Event, FillBooked, IntentProposed, OrderUpdated, TradeClosed
from rampart.domain.intents import Intent

log = structlog.get_logger("rampart.trace")

KEEP = 10_000
"""Orders remembered (client id → trace id) for their fills: bounded, oldest forgotten first."""


class TraceLog:
    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._trace: OrderedDict[str, str] = OrderedDict()

    def _remember(self, client_id: str, trace: str) -> None:
        self._trace[client_id] = trace
        self._trace.move_to_end(client_id)
        while len(self._trace) > self.keep:
            self._trace.popitem(last=False)

    def __call__(self, event: Event) -> None:
        if isinstance(event, IntentProposed):
            if event.trace is not None:
                self._intent(event.trace, event.ts, event.intent)
        elif isinstance(event, OrderUpdated):
            self._order(event)
        elif isinstance(event, FillBooked):
            fill = event.fill
            trace = self._trace.get(fill.client_id, fill.client_id)
            log.info(
                "trace_fill",
                trace=trace,
                order=fill.client_id,
                account_id=fill.account_id,
                symbol=fill.symbol,
                role=event.role,
                qty=str(fill.qty),
                price=str(fill.price),
                fee=str(fill.fee),
            )
        elif isinstance(event, TradeClosed):
            t = event.trade
            log.info(
                "trace_trade",
                trace=t.entry_client_id,
                account_id=t.account_id,
                symbol=t.symbol,
                pnl=str(t.pnl),
                exit_reason=t.exit_reason,
            )
            for cid in [c for c, tr in self._trace.items() if tr == t.entry_client_id]:
                del self._trace[cid]

    def _intent(self, trace: str, ts: int, intent: Intent) -> None:
        log.info(
            "trace_intent",
            trace=trace,
            account_id=intent.account_id,
            symbol=intent.symbol,
            agent=intent.agent,
            proposed_at=ts,
            entry=str(intent.entry_price),
            stop_loss=str(intent.stop_loss),
            take_profit=str(intent.take_profit),
            why=intent.rationale or "",
        )

    def _order(self, event: OrderUpdated) -> None:
        o = event.order
        trace = o.parent_id or o.client_id
        self._remember(o.client_id, trace)
        log.info(
            "trace_order",
            trace=trace,
            order=o.client_id,
            account_id=o.account_id,
            symbol=o.symbol,
            role=o.role.value,
            status=o.status.value,
            previous=event.previous.value,
        )


__all__ = ["TraceLog"]
