"""The Solana soak's faults: seeded episodes of the stand-in's faults, a crash between a swap's
send and its confirmation (then a restart from the last checkpoint), and tokens moved out of a
wallet by hand while Rampart trades.

An episode switches one kind on for a few candles, with parameters drawn for that kind; then
it is cleared and the market runs quietly until the next one (when the books are checked
against the chain). ``down`` and ``lag`` hit the primary RPC node ``a``: the venue must fail
over to node ``b`` and back once ``a`` is healthy again.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.domain.errors import ConfigError
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderType
from rampart.trading.engine import Engine
from rampart_testkit.soak.chaos import Episode, EpisodeSchedule, parse_faults
from rampart_testkit.solana_sim import FAULT_KINDS, SolanaSimHandle

RESTART = "restart"
"""The process crashes right after sending a swap (or between candles when none is sent)
and restarts from its last checkpoint over the same journal."""
TRANSFER = "transfer"
"""A person moves a position's tokens out of the wallet while Rampart trades."""
CLOCK_STEP = "clock_step"
"""The clock the engine and its venue read jumps, and jumps back at the episode's end."""
HARNESS_KINDS = (RESTART, TRANSFER, CLOCK_STEP)
SOLANA_DIRTY = ("bad_candles", "flap", CLOCK_STEP)
"""``--faults dirty``: spoiled quotes (the prices a DEX feed reads), a node or route failing
on and off, the engine's clock stepped."""
SOLANA_KINDS = tuple(k for k in (*FAULT_KINDS, *HARNESS_KINDS) if k not in SOLANA_DIRTY)
"""``all``: the clean faults, which every Solana soak passes; the dirty ones are asked for by
name or with ``dirty``."""
QUOTED = ("bad_candles", "flap")
"""Kinds after which the soak reads its prices through the routes' quotes, as the service's
feed does (a clean soak hands the engine the walk's prices and saves the quotes)."""
PRIMARY = "a"


class Crash(BaseException):
    """The planned crash: nothing in the engine or venue may catch it (a killed process)."""


def parse_solana_faults(text: str) -> tuple[str, ...]:
    """``all``, ``none``, ``dirty`` or a comma list of the Solana soak's fault kinds."""
    return parse_faults(text, SOLANA_KINDS, venue="Solana", dirty=SOLANA_DIRTY)


@dataclass
class SolanaFaultPlan(EpisodeSchedule):
    sim: SolanaSimHandle
    kinds: tuple[str, ...]
    rng: random.Random
    gap: tuple[int, int] = (3, 10)
    length: tuple[int, int] = (2, 4)
    step_ms: tuple[int, int] = (60_000, 3_600_000)
    """How far a ``clock_step`` moves the engine's clock (either way)."""
    active: Episode | None = None
    quiet_since: int = 0
    next_start: int = 0
    episodes: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    _bag: list[str] = field(default_factory=list)
    _due: str | None = None

    def tick(self, step: int) -> str | None:
        """Start or end an episode at this step; the kind that just ended, if any."""
        ended = None
        if self.active is not None and step >= self.active.end:
            ended = self.active.kind
            self.stop(step)
        elif self.active is not None and self.active.kind == "bad_candles":
            # Bad prints come now and then through the episode, a few quotes at a time: a feed
            # spoiling every quote alike would confirm its own print (see the guard's limits).
            self.sim.add_fault("bad_candles", **self._params("bad_candles"))
        if self.active is None and self.kinds and step >= self.next_start:
            self._start(step)
        return ended

    def clock_offset_ms(self) -> int:
        """How far the engine's clock is stepped now (0 outside a ``clock_step`` episode)."""
        episode = self.active
        return episode.params["step_ms"] if episode and episode.kind == CLOCK_STEP else 0

    def stop(self, step: int) -> None:
        self._count_fired()
        self.sim.clear_faults()
        self._end_episode(step)

    def _count_fired(self) -> None:
        for fault in self.sim.context.faults.faults:
            self.fired[fault.kind] += fault.fired

    def _start(self, step: int) -> None:
        kind = self._draw_kind()
        if kind == CLOCK_STEP:  # stepped back at the episode's end
            span = self.rng.randint(*self.length) * 3
            offset = self.rng.choice([-1, 1]) * self.rng.randint(*self.step_ms)
            self.active = Episode(kind, step, step + span, {"step_ms": offset})
            return
        if kind in HARNESS_KINDS:
            self._due = kind
            self.active = Episode(kind, step, step + 1, {})
            return
        params = self._params(kind)
        self.sim.add_fault(kind, **params)
        self.active = Episode(kind, step, step + self.rng.randint(*self.length), params)

    def _params(self, kind: str) -> dict[str, Any]:
        r = self.rng
        if kind in ("drop", "expire", "slippage"):
            out: dict[str, Any] = {"count": r.randint(1, 3)}
            if kind == "slippage":
                out["bps"] = r.randint(100, 500)
            return out
        if kind == "slow_confirm":
            return {"count": r.randint(1, 3), "slots": r.randint(5, 60)}
        if kind == "http429":
            return {"count": r.randint(2, 6), "node": r.choice([PRIMARY, "jupiter", "bags"])}
        if kind == "http5xx":
            return {"count": r.randint(2, 8), "node": r.choice([PRIMARY, "b", "jupiter", "bags"])}
        if kind == "down":
            return {"node": PRIMARY}
        if kind == "lag":
            return {"node": PRIMARY, "slots": r.randint(80, 200)}
        if kind == "bad_candles":  # the next 1-3 quote answers of either route
            return {"count": r.randint(1, 3), "variant": "random"}
        if kind == "flap":  # until the episode ends
            node = r.choice([PRIMARY, "jupiter", "bags"])
            return {"node": node, "flap_on": r.randint(1, 4), "flap_off": r.randint(2, 8)}
        raise ConfigError(f"Unknown Solana fault kind {kind!r}.")


# -- the manual transfer -------------------------------------------------------------------


@dataclass
class Transfer:
    account_id: str
    symbol: str
    qty: Decimal


def pick_transfer(engine: Engine, rng: random.Random) -> tuple[str, str] | None:
    """A position with nothing of Rampart's in flight on its market (a swap in flight would
    move the balance under the person's hands)."""
    found = []
    for account_id, acct in engine.accounts.items():
        for symbol in acct.ledger.positions:
            busy = any(
                o.symbol == symbol and o.type is OrderType.MARKET and o.is_open
                for o in acct.orders.values()
            )
            if not busy:
                found.append((account_id, symbol))
    return rng.choice(sorted(found)) if found else None


def transfer_out(
    sim: SolanaSimHandle, engine: Engine, wallet: str, account_id: str, symbol: str
) -> Transfer | None:
    """Move every token of the position out of the wallet (what the chain holds of it beyond
    the coins held apart)."""
    acct = engine.accounts[account_id]
    inst = engine.venue.instrument(symbol)
    decimals = -inst.lot_size.as_tuple().exponent  # type: ignore[operator]
    mint = sim.mint(inst.base)
    apart = int(acct.held_apart.get(symbol, ZERO).scaleb(decimals))
    units = sim.balance(wallet, mint) - apart
    if units <= 0:
        return None
    sim.transfer(wallet, mint, units)
    return Transfer(account_id, symbol, Decimal(units).scaleb(-decimals))
