"""Faults of the Solana stand-in, switchable at run time (``/sim/faults`` or a handle's
``add_fault``).

Transaction kinds act on the next ``sendTransaction`` (on ``node`` if given):
``drop`` (accepted and lost on the way: only a resend of it lands), ``expire`` (never lands,
however often sent, so its blockhash runs out),
``slippage`` (the pool moves ``bps`` against the swap just before it lands), ``slow_confirm``
(lands ``slots`` later). HTTP kinds act on the next request to a node or route (``node`` may
name either): ``http429`` (with ``Retry-After``), ``http5xx`` (503). Node kinds last until
cleared unless given a count: ``down`` (the node closes connections), ``lag`` (the node's
slot view is ``slots`` behind; its getHealth reports it).
``flap`` is a node or route failing on and off (mirroring the exchange simulator's): of the
requests to ``node`` (a node or route; any when None), ``flap_on`` in a row are answered 503 as
``http5xx`` answers, then ``flap_off`` in a row are served, and so on, until cleared (a count
ends it after that many failed requests).
``bad_candles`` spoils the next quote answer of a swap API (``node``: ``jupiter`` or ``bags``,
or either) by ``variant`` (zero, negative, x1000, x0.001 or random among them): its
``outAmount`` (the price a DEX feed reads) is spoiled, nothing else; the pools, the threshold a
swap is held to and the chain stay true. A quote is a price, not a candle, so the simulator's
candle-shaped variants (stale, out_of_order, duplicate, gap) do not apply. Each spoiled answer
is recorded in :attr:`FaultSet.corrupted`.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from rampart_testkit.solana_sim.ledger import TxFaults

TX_KINDS = ("drop", "expire", "slippage", "slow_confirm")
HTTP_KINDS = ("http429", "http5xx", "flap")
NODE_KINDS = ("down", "lag")
QUOTE_KINDS = ("bad_candles",)
KINDS = TX_KINDS + HTTP_KINDS + NODE_KINDS + QUOTE_KINDS
QUOTE_VARIANTS = {
    "zero": Decimal(0),
    "negative": Decimal(-1),
    "x1000": Decimal(1000),
    "x0.001": Decimal("0.001"),
}
_LASTING = (*NODE_KINDS, "flap")


@dataclass
class Fault:
    kind: str
    count: int | None = 1
    """How many times it fires; None: until cleared."""
    node: str | None = None
    slots: int = 10
    retry_after: int = 1
    bps: int = 300
    variant: str = "random"
    flap_on: int = 3
    flap_off: int = 3
    id: int = 0
    fired: int = 0
    seen: int = 0
    """Requests a ``flap`` fault matched so far (its phase)."""

    def matches(self, target: str) -> bool:
        return self.node is None or self.node == target

    def spent(self) -> bool:
        return self.count is not None and self.fired >= self.count


@dataclass(frozen=True)
class SpoiledQuote:
    route: str
    variant: str
    true_out: int
    served_out: int


class FaultSet:
    def __init__(self, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)
        self.corrupted: list[SpoiledQuote] = []
        """Quote answers ``bad_candles`` spoiled, oldest first."""

    def add(
        self,
        kind: str,
        count: int | None = None,
        node: str | None = None,
        slots: int | None = None,
        retry_after: int = 1,
        bps: int = 300,
        variant: str = "random",
        flap_on: int = 3,
        flap_off: int = 3,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        variant = "x0.001" if variant == "x0_001" else variant
        if variant != "random" and variant not in QUOTE_VARIANTS:
            named = ", ".join((*QUOTE_VARIANTS, "random"))
            raise ValueError(f"a quote's bad_candles variant is one of {named}, not {variant!r}")
        if count is None and kind not in _LASTING:
            count = 1
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        if kind == "flap" and (int(flap_on) < 1 or int(flap_off) < 0):
            raise ValueError("a flap fault fails flap_on >= 1 requests, then serves flap_off >= 0")
        default_slots = 10 if kind == "lag" else 5
        fault = Fault(
            kind=kind,
            count=count,
            node=node,
            slots=default_slots if slots is None else int(slots),
            retry_after=int(retry_after),
            bps=int(bps),
            variant=variant,
            flap_on=int(flap_on),
            flap_off=int(flap_off),
            id=next(self._ids),
        )
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def take(self, kinds: tuple[str, ...], target: str) -> Fault | None:
        """Fire the first live fault of one of ``kinds`` for ``target`` (a node or route)."""
        for fault in self.faults:
            if fault.kind in kinds and not fault.spent() and fault.matches(target):
                if fault.kind == "flap":
                    fault.seen += 1
                    if (fault.seen - 1) % (fault.flap_on + fault.flap_off) >= fault.flap_on:
                        continue  # its "on" spell: this request is served
                fault.fired += 1
                return fault
        return None

    def spoil_quote(self, route: str, quote: dict[str, Any]) -> dict[str, Any]:
        """A quote answer as a corrupting proxy passes it on: its ``outAmount`` spoiled when a
        ``bad_candles`` fault fires for ``route`` (the threshold and the pool stay true)."""
        fault = self.take(QUOTE_KINDS, route)
        if fault is None:
            return quote
        variant = fault.variant
        if variant == "random":
            variant = self._rng.choice(list(QUOTE_VARIANTS))
        true_out = int(quote["outAmount"])
        served = int(Decimal(true_out) * QUOTE_VARIANTS[variant])
        self.corrupted.append(SpoiledQuote(route, variant, true_out, served))
        return {**quote, "outAmount": str(served)}

    def lag(self, node: str) -> int:
        fault = self.take(("lag",), node)
        return fault.slots if fault is not None else 0

    def tx_faults(self, node: str) -> TxFaults:
        """What happens to the transaction being sent through ``node``."""
        out = TxFaults()
        kinds: list[str] = []
        for kind in TX_KINDS:
            fault = self.take((kind,), node)
            if fault is None:
                continue
            kinds.append(kind)
            if kind == "drop":
                out.dropped = True
            elif kind == "expire":
                out.never_lands = True
            elif kind == "slippage":
                out.slippage_bps = fault.bps
            else:
                out.delay_slots = fault.slots
        out.kinds = tuple(kinds)
        return out

    def state(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.faults if not f.spent()]
