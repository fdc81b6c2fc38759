"""What the lookahead sandbox and the process that starts it say to each other, as JSON.

JSON, never pickle: the sandbox runs code nobody has checked yet, and what it answers must not
be able to run code in the process that reads it. Money stays exact (Decimals as text).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rampart.agents.decision_times import DecisionTimes
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.research.audit import Access
from rampart.research.future_shift import Moved
from rampart.research.lookahead import AGAIN, Change, LookaheadReport
from rampart.research.signals import Decision


def candles_out(candles: list[Candle]) -> dict[str, Any]:
    first = candles[0] if candles else None
    return {
        "symbol": first.symbol if first else "",
        "timeframe_ms": first.timeframe_ms if first else 60_000,
        "rows": [[c.ts, c.open, c.high, c.low, c.close, c.volume] for c in candles],
    }


def candles_in(data: dict[str, Any]) -> list[Candle]:
    symbol, tf = str(data["symbol"]), int(data["timeframe_ms"])
    return [
        Candle(symbol, int(t), float(o), float(h), float(lo), float(c), float(v), tf)
        for t, o, h, lo, c, v in data["rows"]
    ]


def instrument_out(i: Instrument) -> dict[str, str]:
    return {
        "symbol": i.symbol,
        "base": i.base,
        "quote": i.quote,
        "tick_size": str(i.tick_size),
        "lot_size": str(i.lot_size),
        "min_qty": str(i.min_qty),
        "min_notional": str(i.min_notional),
    }


def instrument_in(d: dict[str, str]) -> Instrument:
    return Instrument(
        d["symbol"],
        d["base"],
        d["quote"],
        Decimal(d["tick_size"]),
        Decimal(d["lot_size"]),
        Decimal(d["min_qty"]),
        Decimal(d["min_notional"]),
    )


def _intent_out(i: Intent) -> dict[str, Any]:
    return {
        "account_id": i.account_id,
        "symbol": i.symbol,
        "side": i.side.value,
        "action": i.action.value,
        "entry_price": str(i.entry_price),
        "stop_loss": str(i.stop_loss),
        "take_profit": str(i.take_profit),
        "size_hint": str(i.size_hint),
        "confidence": float(i.confidence),
        "rationale": str(i.rationale)[:500],
        "agent": str(i.agent)[:64],
        "ts": int(i.ts),
    }


def _intent_in(d: dict[str, Any]) -> Intent:
    return Intent(
        str(d["account_id"]),
        str(d["symbol"]),
        Side(d["side"]),
        IntentAction(d["action"]),
        Decimal(d["entry_price"]),
        Decimal(d["stop_loss"]),
        Decimal(d["take_profit"]),
        Decimal(d["size_hint"]),
        float(d["confidence"]),
        str(d["rationale"]),
        str(d["agent"]),
        int(d["ts"]),
    )


def _decision_out(d: Decision) -> dict[str, Any]:
    return {
        "index": d.index,
        "ts": d.ts,
        "flat": [_intent_out(i) for i in d.flat],
        "holding": [_intent_out(i) for i in d.holding],
    }


def _decision_in(d: dict[str, Any]) -> Decision:
    return Decision(
        int(d["index"]),
        int(d["ts"]),
        tuple(_intent_in(i) for i in d["flat"]),
        tuple(_intent_in(i) for i in d["holding"]),
    )


def report_out(report: LookaheadReport) -> dict[str, Any]:
    return {
        "agent": report.agent,
        "candles": report.candles,
        "signals": report.signals,
        "quiet_checked": report.quiet_checked,
        "found": report.found,
        "changes": [
            [_decision_out(c.full), _decision_out(c.truncated), c.carrier, list(c.through)]
            for c in report.changes
        ],
        "moved": [
            [_decision_out(m.original), _decision_out(m.moved), m.weeks] for m in report.moved
        ],
        "accesses": [[a.kind, a.target, a.file, a.line, a.count] for a in report.accesses],
        "failure": report.failure,
        "compared": report.compared,
        "times": report.times.counts if report.times else None,
        "slowest_ns": report.times.slowest_ns if report.times else 0,
        "inputs": list(report.inputs),
        "again": [[_decision_out(c.full), _decision_out(c.truncated)] for c in report.again],
        "state": list(report.state),
        "lookups": list(report.lookups),
        "uncut": list(report.uncut),
    }


def report_in(d: dict[str, Any], walls: str) -> LookaheadReport:
    times = None
    if d.get("times") is not None:
        times = DecisionTimes([int(n) for n in d["times"]], 0, int(d.get("slowest_ns", 0)))
        times.decisions = sum(times.counts)
    return LookaheadReport(
        agent=str(d["agent"]),
        candles=int(d["candles"]),
        signals=int(d["signals"]),
        quiet_checked=int(d["quiet_checked"]),
        found=int(d["found"]),
        changes=tuple(
            Change(_decision_in(a), _decision_in(b), str(carrier), tuple(str(x) for x in via))
            for a, b, carrier, via in d["changes"]
        ),
        accesses=tuple(
            Access(str(k), str(t), str(f), int(line), int(n)) for k, t, f, line, n in d["accesses"]
        ),
        moved=tuple(Moved(_decision_in(a), _decision_in(b), int(w)) for a, b, w in d["moved"]),
        failure=d.get("failure"),
        compared=int(d.get("compared") or 0),
        walls=walls,
        times=times,
        inputs=tuple(str(x) for x in d.get("inputs", ())),
        again=tuple(Change(_decision_in(a), _decision_in(b), AGAIN) for a, b in d.get("again", ())),
        state=tuple(str(x) for x in d.get("state", ())),
        lookups=tuple(str(x) for x in d.get("lookups", ())),
        uncut=tuple(str(x) for x in d.get("uncut", ())),
    )
