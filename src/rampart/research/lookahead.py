"""``rampart check-lookahead``: does any signal change when the candles after it are gone?

The agent is run over every candle and its decisions noted (as an account holding nothing
and as one holding a long). Then, for every candle where it proposed something — and a sample
of candles where it proposed nothing, so a signal that only the future suppresses is caught
too — a fresh agent is run on the candles up to and including that one only, and its decision
there compared with the first: any difference (a signal appearing, vanishing, or with another
price, stop, target, confidence or rationale) is reported. An agent that reads only what it
is fed changes nothing; one that peeks at later candles (through data handed to it whole, an
indicator centred on the bar, a model fitted on the whole file) is caught.

An agent that computes its signal from a file it declares (``files``) decides the same on cut
candles while its file is whole; so each judged candle is also decided by agents built with
**each declared table cut at that candle** (``rampart.research.cut_inputs``), and a difference
names the file that carried the future.

An agent that reads the future from elsewhere — the data file itself, the network, the wall
clock — decides the same on cut data, so while the check runs it, every such access made from
the agent's code is recorded too (``rampart.research.audit``) and is a finding of its own, with
the file and line that made it.

Every finding names what carried the future: the declared file cut, and the agent's attributes
whose values known at the candle the cut changed (``rampart.research.carriers``).

The moved market (every price doubled, the times weeks later) is a second, independent test: a
difference there alone, with no cut changing a decision, is the agent looking something up by
the candles' times (its time-keyed files and attributes, named), which is not lookahead: the
report says its decisions depend on candle times, and the check passes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rampart.agents.decision_times import DecisionTimes
from rampart.research.audit import Access, Watch, agent_code, watching
from rampart.research.carried_state import changed, snapshot
from rampart.research.carriers import differing, time_keyed
from rampart.research.future_shift import Moved, compare
from rampart.research.signals import AgentFactory, Decision, Driver

if TYPE_CHECKING:
    from rampart.research.cut_inputs import CutInputs, Table

ENGINE_SERVICES = ("rampart.ml.", "rampart.llm.")
"""The services the engine hands agents (the model registry, the LLM's client): what they read
(a model file, the model's API) is the engine's doing, not the agent's, and is not market data."""
QUIET_SAMPLES = 25
MAX_SIGNALS = 200
"""Signal candles re-computed by default, spread evenly over the file (each re-computation
replays the file up to its candle); ``signals=0`` checks every one."""

Tick = Callable[[int, int], None]
AGAIN = "a second run"
"""The carrier of a difference between two runs over the whole file in one process."""


@dataclass(frozen=True, slots=True)
class Change:
    full: Decision
    truncated: Decision
    carrier: str = ""
    """The declared file cut at the candle (empty: the candles were)."""
    through: tuple[str, ...] = ()
    """The agent's attributes whose values known at the candle the cut changed."""

    def describe(self) -> str:
        if self.carrier == AGAIN:
            return (
                f"candle {self.full.index + 1}: on its first run over the file it proposed "
                f"{self.full.describe()}; run again in the same process it proposed "
                f"{self.truncated.describe()}"
            )
        what = f"with {self.carrier} cut at that candle" if self.carrier else "cut at that candle"
        through = f" (the future came through {', '.join(self.through)})" if self.through else ""
        return (
            f"candle {self.full.index + 1}: with the whole file it proposed "
            f"{self.full.describe()}; {what} it proposed {self.truncated.describe()}{through}"
        )


@dataclass(frozen=True, slots=True)
class LookaheadReport:
    agent: str
    candles: int
    signals: int
    """Signal candles re-computed."""
    quiet_checked: int
    found: int = 0
    """Signal candles in the file (``signals`` of them were re-computed)."""
    changes: tuple[Change, ...] = field(default_factory=tuple)
    accesses: tuple[Access, ...] = field(default_factory=tuple)
    """Files, network, databases, processes and clock read from the agent's code."""
    moved: tuple[Moved, ...] = field(default_factory=tuple)
    """Candles decided apart on the moved market (``rampart.research.future_shift``)."""
    compared: int = 0
    """Candles compared with the moved market (0: not compared)."""
    failure: str | None = None
    """Why the check could not run the agent to the end (it raised, the sandbox refused it)."""
    walls: str = ""
    """What held the agent in (``rampart.research.sandbox``); empty when run in-process."""
    times: DecisionTimes | None = None
    """The wall time of its decisions over the whole file."""
    inputs: tuple[str, ...] = ()
    """Each declared file and how it was cut (or why it was not)."""
    again: tuple[Change, ...] = ()
    """Candles decided differently by a fresh agent run a second time in the same process."""
    state: tuple[str, ...] = ()
    """Class attributes and module globals of the agent's own code changed by a run."""
    lookups: tuple[str, ...] = ()
    """What the agent looks up by candle times: its declared files cut by a time column and its
    attributes keyed by the candles' times (named when the moved market decides apart)."""
    uncut: tuple[str, ...] = ()
    """Declared files the check could not cut at each candle (no time column, not one row per
    candle): the truncated past cannot show what they hold."""

    @property
    def unsettled(self) -> bool:
        """The moved market decides apart while a declared file could not be cut: the
        difference may be candle times or that file's future, and nothing here tells which."""
        return bool(self.moved and self.uncut)

    @property
    def ok(self) -> bool:
        """A difference on the moved market alone is no finding (it depends on candle times),
        unless a declared file the check could not cut may be where it comes from."""
        return (
            not self.changes
            and not self.accesses
            and not self.again
            and not self.failure
            and not self.unsettled
        )

    def carriers(self) -> str:
        """What carried the future, by count: ``data.csv 3 through Planted.z; the candles 1``."""
        counts: dict[str, int] = {}
        through: dict[str, tuple[str, ...]] = {}
        for change in self.changes:
            key = change.carrier or "the candles"
            counts[key] = counts.get(key, 0) + 1
            through[key] = through.get(key) or change.through
        return "; ".join(
            f"{k} {v}" + (f" through {', '.join(through[k])}" if through[k] else "")
            for k, v in sorted(counts.items())
        )

    def sentence(self) -> str:
        of = f" (of {self.found})" if self.found > self.signals else ""
        checked = f"{self.signals} signal candle(s){of} and {self.quiet_checked} quiet one(s)"
        if self.failure and not self.accesses:
            return f"Lookahead: {self.failure}; its backtests cannot be trusted."
        if self.again and not self.accesses:
            kept = f" ({', '.join(self.state)})" if self.state else ""
            return (
                f"Lookahead: {len(self.again)} candle(s) decided differently when the agent ran "
                f"over the file a second time in the same process: it keeps state between runs"
                f"{kept}, so a replay, a trial or an account depends on what ran before it; its "
                "backtests cannot be trusted."
            )
        if self.accesses:
            kinds = sorted({a.kind for a in self.accesses})
            also = (
                f"; and {len(self.changes)} of {checked} changed when the candles after them "
                "were removed"
                if self.changes
                else ""
            )
            return (
                f"Lookahead: the agent read {len(self.accesses)} thing(s) outside the engine's "
                f"view ({', '.join(kinds)}){also}; its backtests cannot be trusted."
            )
        if self.unsettled and not self.changes:
            return (
                f"Lookahead not ruled out: {len(self.moved)} candle(s) decided differently with "
                f"every price doubled and the times moved, and {', '.join(self.uncut)} could not "
                "be cut at each candle (no time column, not one row per candle), so its rows may "
                "carry the future; its backtests cannot be trusted until the file has a time "
                "column or one row per candle."
            )
        if self.ok:
            if not self.signals:
                return (
                    f"{self.agent} proposed nothing on these {self.candles:,} candles, so no "
                    f"signal could be checked ({self.quiet_checked} quiet candles re-computed "
                    "gave nothing either)."
                )
            also = (
                f"; all {self.compared:,} candles decided the same with every price doubled and "
                "the times moved"
                if self.compared and not self.moved
                else ""
            )
            return (
                f"No lookahead: {checked} re-computed on data cut at each{self._cut()} gave the "
                f"same decision{also}{self._depends()}."
            )
        via = sorted({name for c in self.changes for name in c.through})
        removed = (
            "the candles after them were removed"
            + (f" (the future came through {', '.join(via)})" if via else "")
            if not any(c.carrier for c in self.changes)
            else f"the rows after them were removed ({self.carriers()})"
        )
        changed = len({c.full.index for c in self.changes})
        return (
            f"Lookahead: {changed} of {checked} changed when {removed}; the agent "
            "reads the future and its backtests cannot be trusted."
        )

    def _cut(self) -> str:
        return (
            f" (and with each declared file cut: {'; '.join(self.inputs)})" if self.inputs else ""
        )

    def _depends(self) -> str:
        if not self.moved:
            return ""
        looked = (
            f"it looks up {', '.join(self.lookups)} by time"
            if self.lookups
            else "through a lookup the check could not name: a date, a time of day, or a "
            "price level written in its code"
        )
        return (
            f"; {len(self.moved)} candle(s) decided differently with every price doubled and the "
            f"times moved: its decisions depend on candle times ({looked}), which is not "
            "lookahead"
        )


async def check_lookahead(
    driver: Driver,
    *,
    agent: str,
    limit: int | None = None,
    quiet: int = QUIET_SAMPLES,
    signals_max: int = MAX_SIGNALS,
    seed: int = 0,
    tick: Tick | None = None,
    trusted: tuple[str, ...] = ENGINE_SERVICES,
    watch: Watch | None = None,
    moved: Driver | None = None,
    inputs: CutInputs | None = None,
) -> LookaheadReport:
    """``limit``: ask only the last that many candles (each LLM decision is a model call).
    ``trusted``: module prefixes of the services the engine hands the agent (their own reads
    are the engine's, not the agent's). ``watch``: the sandbox's (what the agent may read).
    ``moved``: the same agent on the moved market, compared on every candle asked.
    ``inputs``: the agent's declared files, each cut at every judged candle in a run of its
    own."""
    n = len(driver.candles)
    first = max(0, n - limit) if limit else 0
    if watch is None:
        watch = Watch(agent_code(driver.factory(driver.candles)), trusted)
    built = driver.factory(driver.candles)
    cls = type(built)
    before = snapshot(cls, watch.code)
    with watching(watch):
        ran, full = await driver.run(0, n, range(first, n))
    state = changed(before, snapshot(cls, watch.code))
    with watching(watch, clock=False):
        # A fresh agent in the same process: what the first run left behind is all that differs.
        _, second = await driver.run(0, n, range(first, n))
    again = [Change(full[i], second[i], AGAIN) for i in full if second[i] != full[i]]
    apart: list[Moved] = []
    if moved is not None:
        with watching(watch, clock=False):
            _, other = await moved.run(0, n, range(first, n))
        apart = compare(full, other, moved.candles[0].ts - driver.candles[0].ts if n else 0)
    found = [i for i, d in sorted(full.items()) if d.any]
    signals = _spread(found, signals_max) if signals_max else found
    silent = [i for i, d in sorted(full.items()) if not d.any]
    sampled = sorted(random.Random(seed).sample(silent, min(quiet, len(silent))))  # noqa: S311 - a seeded sample of candles
    targets = signals + sampled
    changes: list[Change] = []
    tables = inputs.cuttable if inputs is not None else ()
    named: set[str] = set()

    def through(carrier: str, factory: AgentFactory, index: int) -> tuple[str, ...]:
        """The attributes the future came through, for the first change of each carrier."""
        if carrier in named:
            return ()
        named.add(carrier)
        return differing(built, factory(driver.candles[: index + 1]), watch.code)

    with watching(watch, clock=False):
        for done, index in enumerate(targets, 1):
            _, cut = await driver.run(0, index + 1, (index,))
            if cut[index] != full[index]:
                via = through("", driver.factory, index)
                changes.append(Change(full[index], cut[index], "", via))
            for table in tables:
                with inputs.factory(table, index) as factory:  # type: ignore[union-attr]
                    _, cut = await driver.run(0, index + 1, (index,), factory)
                    if cut[index] != full[index]:
                        via = through(table.item.name, factory, index)
                        changes.append(Change(full[index], cut[index], table.item.name, via))
            if tick is not None:
                tick(done, len(targets))
    return LookaheadReport(
        agent=agent,
        candles=n,
        signals=len(signals),
        quiet_checked=len(sampled),
        found=len(found),
        changes=tuple(changes),
        accesses=watch.accesses(),
        moved=tuple(apart),
        compared=(n - first) if moved is not None else 0,
        times=driver.times,
        inputs=tuple(i.describe() for i in inputs.inputs) if inputs is not None else (),
        lookups=_lookups(tables, ran, driver, watch.code) if apart else (),
        uncut=tuple(i.name for i in inputs.inputs if not i.cut) if inputs is not None else (),
        again=tuple(again),
        state=state,
    )


def _lookups(
    tables: tuple[Table, ...], agent: object, driver: Driver, code: Iterable[str]
) -> tuple[str, ...]:
    """What the agent looks up by candle times: its files cut by a time column, its attributes
    keyed by the candles' times."""
    files = [
        f"{t.item.name}'s '{t.item.column}' column" for t in tables if t.item.column is not None
    ]
    return (*files, *time_keyed(agent, driver.candles, code))


def _spread(items: list[int], count: int) -> list[int]:
    """Up to ``count`` of ``items``, evenly spaced, the last one always among them."""
    if len(items) <= count:
        return list(items)
    step = (len(items) - 1) / (count - 1) if count > 1 else 0
    return sorted({items[round(k * step)] for k in range(count)})
