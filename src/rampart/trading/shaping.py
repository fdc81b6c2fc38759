"""What shaped a run's numbers besides the agent's own trades: the breakers that tripped, the
halts and reductions they caused, and the entries refused (by reason and count), each with the
candle time it happened at.

A replay or a trial whose account a breaker halted half-way says "101 trades, −9.43 %" unless it
also says that it stopped trading on 2024-03-02; a file whose 41 entries were all refused below
the exchange's minimum says "0 trades" unless it also says why. :class:`RunShaping` listens to
the bus (a subscriber) and tells it in sentences for the replay's summary and report, and in
one line for ``optimize``'s trial table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rampart.clock import ms_to_datetime
from rampart.domain.accounts import TradingState
from rampart.domain.events import AccountStateChanged, BreakerTripped, Event, IntentRejected


def when(ts: int) -> str:
    """A candle time as the summary prints it (UTC, to the minute)."""
    return ms_to_datetime(ts).strftime("%Y-%m-%d %H:%M")


@dataclass(slots=True)
class Refusals:
    """The entries refused for one reason: how many, and the first one's time and words."""

    count: int
    first_ts: int
    first_message: str


@dataclass(slots=True)
class RunShaping:
    """A bus subscriber keeping what shaped a run (see the module's docstring)."""

    refused: dict[str, Refusals] = field(default_factory=dict)
    """By the risk engine's code (``stop_too_wide``, ``below_min_notional``, ...)."""
    breakers: list[BreakerTripped] = field(default_factory=list)
    stops: list[AccountStateChanged] = field(default_factory=list)
    """The account leaving ACTIVE: halted or only reducing, with the reason it was given."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, IntentRejected):
            seen = self.refused.get(event.code)
            if seen is None:
                self.refused[event.code] = Refusals(1, event.ts, event.message)
            else:
                seen.count += 1
        elif isinstance(event, BreakerTripped):
            self.breakers.append(event)
        elif isinstance(event, AccountStateChanged) and event.new is not TradingState.ACTIVE:
            self.stops.append(event)

    @property
    def refused_total(self) -> int:
        return sum(r.count for r in self.refused.values())

    def sentences(self) -> list[str]:
        """Each breaker trip, halt and kind of refusal, oldest first; empty when nothing but
        the agent's own trades shaped the run."""
        out: list[tuple[int, str]] = []
        told = {(t.ts, t.account_id, t.message): t for t in self.breakers}
        merged: set[tuple[int, str, str]] = set()
        for stop in self.stops:
            doing = "halted" if stop.new is TradingState.HALTED else "only reducing"
            why = stop.reason or stop.cause or "no reason given"
            trip = told.get((stop.ts, stop.account_id, stop.reason))
            if trip is not None:  # the breaker's own sentence says why: one line for both
                merged.add((trip.ts, trip.account_id, trip.message))
                said = f"the {trip.breaker} breaker tripped and the account was {doing}: {why}"
            else:
                said = f"the account was {doing} from then: {why}"
            out.append((stop.ts, f"{when(stop.ts)}: {said}"))
        for key, trip in told.items():
            if key not in merged:
                said = f"{when(trip.ts)}: the {trip.breaker} breaker tripped: {trip.message}"
                out.append((trip.ts, said))
        for code, r in self.refused.items():
            entries = "entry" if r.count == 1 else "entries"
            out.append(
                (
                    r.first_ts,
                    f"{r.count:,} {entries} refused for {code}, the first at "
                    f"{when(r.first_ts)}: {r.first_message}",
                )
            )
        return [text for _, text in sorted(out, key=lambda pair: pair[0])]

    def line(self) -> str:
        """One cell of the trial table: halts with their time, refusals by reason."""
        parts = [
            f"{'halted' if s.new is TradingState.HALTED else 'reducing'} {when(s.ts)} "
            f"({s.cause or s.reason})"
            for s in self.stops
        ]
        parts += [
            f"{r.count} refused {code}"
            for code, r in sorted(self.refused.items(), key=lambda kv: -kv[1].count)
        ]
        return "; ".join(parts)
