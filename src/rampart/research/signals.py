"""An agent's decisions on chosen candles, replayed outside the engine, for the lookahead and
warm-up checks.

The agent is driven as the engine drives it — ``update`` with each closed candle, then
``decide_async`` (a rule agent's returns ``decide``) with a view whose history ends at that
candle — and asked twice per candle: as an account holding nothing and as one holding a long
entered at that close, so entries and exits are both seen whatever the agent traded before.

``AgentFactory`` builds a fresh agent given the candles it may see. Built-in agents ignore
them (they only ever see what ``update`` feeds them); an agent that reads data from anywhere
else — a precomputed indicator, a file, a model fitted on the whole history — is handed the
truncated candles, which is how a lookahead shows: its decision on a candle changes when the
candles after it are gone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from time import perf_counter_ns

from rampart.agents.base import Agent, AgentConstraints, AgentView, agent_view
from rampart.agents.boundary import check_answer
from rampart.agents.decision_times import DecisionTimes
from rampart.agents.informative import Informative, SeriesBook, declared
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.domain.positions import Position

AgentFactory = Callable[[Sequence[Candle]], Agent]
ACCOUNT = "check"
EQUITY = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class Decision:
    index: int
    ts: int
    flat: tuple[Intent, ...]
    """What the agent proposes to an account holding nothing."""
    holding: tuple[Intent, ...]
    """What it proposes to an account holding a long entered at this close."""

    @property
    def any(self) -> bool:
        return bool(self.flat or self.holding)

    def describe(self) -> str:
        parts = [
            f"{i.action.value} {i.side.value} (stop {i.stop_loss}, target {i.take_profit}, "
            f"confidence {i.confidence:.2f})"
            for i in (*self.flat, *self.holding)
        ]
        return "; ".join(parts) or "nothing"


def _open_ts(candle: Candle) -> int:
    return candle.ts


class Driver:
    """Feeds fresh agents from ``factory`` the first candles of ``candles`` and asks them."""

    def __init__(
        self,
        factory: AgentFactory,
        candles: Sequence[Candle],
        instrument: Instrument,
        constraints: AgentConstraints,
        history: int = 300,
        equity: Decimal = EQUITY,
        others: Mapping[str, Sequence[Candle]] | None = None,
    ) -> None:
        self.factory = factory
        self.candles = candles
        self.instrument = instrument
        self.constraints = constraints
        self.history = history
        self.equity = equity
        self.others = dict(others or {})
        """Other symbols' candles, oldest first, for an agent declaring them informative:
        fed up to each decision's time, never past it, so a cut run is cut for them too."""
        self._book = SeriesBook(history)
        self._specs: tuple[Informative, ...] = ()
        self.times = DecisionTimes()
        """The wall time of every decision asked (the research summary's p50/p99)."""

    def _view(self, index: int, position: Position | None) -> AgentView:
        candle = self.candles[index]
        past = tuple(self.candles[max(0, index - self.history + 1) : index + 1])
        equity = self.equity
        cash = equity if position is None else equity - position.qty * position.avg_price
        return agent_view(
            ACCOUNT,
            candle.symbol,
            candle,
            past,
            self.instrument,
            equity,
            cash,
            position,
            self.constraints,
            candle.close_ts,
            self._book.view(self._specs, candle.symbol, candle.close_ts),
        )

    def _holding(self, index: int, agent: Agent) -> Position:
        candle = self.candles[index]
        close = candle.close_dec
        return Position(
            symbol=candle.symbol,
            strategy=agent.name,
            entry_client_id="check-entry",
            opened_at=candle.close_ts,
            stop_loss=close * Decimal("0.95"),
            take_profit=close * Decimal("1.10"),
            qty=Decimal(1),
            avg_price=close,
        )

    async def _ask(self, agent: Agent, view: AgentView) -> tuple[Intent, ...]:
        start = perf_counter_ns()
        answer = await agent.decide_async(view)
        self.times.add(perf_counter_ns() - start)
        return tuple(check_answer(agent.name, view.account_id, view.symbol, answer))

    async def decide_at(self, agent: Agent, index: int) -> Decision:
        flat = await self._ask(agent, self._view(index, None))
        holding = await self._ask(agent, self._view(index, self._holding(index, agent)))
        return Decision(index, self.candles[index].close_ts, flat, holding)

    async def run(
        self,
        start: int,
        end: int,
        at: Sequence[int] | None = None,
        factory: AgentFactory | None = None,
    ) -> tuple[Agent, dict[int, Decision]]:
        """A fresh agent fed candles ``[start, end)`` (and handed them), asked at ``at`` (every
        candle when None); built by ``factory`` when given (one whose declared file is cut)."""
        visible = self.candles[start:end]
        agent = (factory or self.factory)(visible)
        wanted = set(range(start, end)) if at is None else set(at)
        out: dict[int, Decision] = {}
        self._specs = specs = declared(agent)
        book = self._book = SeriesBook(self.history)
        others: list[tuple[Sequence[Candle], list[int]]] = []
        if specs and visible:
            book.want_all(specs, visible[0].symbol)
            first = visible[0].ts
            for symbol, rows in self.others.items():
                if symbol in book.symbols():
                    # From the run's first candle on, as an engine started there would see.
                    others.append((rows, [bisect_left(rows, first, key=_open_ts)]))
        for index in range(start, end):
            candle = self.candles[index]
            now = candle.ts + candle.timeframe_ms
            for rows, at_row in others:
                i = at_row[0]
                while i < len(rows) and rows[i].ts + rows[i].timeframe_ms <= now:
                    book.feed(rows[i])
                    i += 1
                at_row[0] = i
            if specs:
                book.feed(candle)
            agent.update(candle)
            if index in wanted:
                out[index] = await self.decide_at(agent, index)
        return agent, out
