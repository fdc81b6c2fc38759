"""``/vibe``: a sentence such as "long BTC, tight stop, 2% target" becomes a proposed trade.

With an LLM configured, :func:`propose` asks it first (2 seconds in all) and falls back to the
deterministic parser on any failure; either way the proposal goes through the same confirm
button and risk engine. The parser is deterministic and offline: it finds a
symbol the feed carries, a direction, a stop (tight / wide / "N% stop") and a target ("N%
target", or the profile's minimum reward:risk), prices them from the latest mark, and leaves
sizing to the risk engine (``size_hint`` 1 = the largest size the profile allows).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from rampart.domain.errors import RampartError, present
from rampart.llm.decision import InvalidDecision, LlmDecision
from rampart.llm.prompt import text_prompt
from rampart.risk.profiles import RiskProfile
from rampart.telegram.settings import VIBE_RESPONSE_S

if TYPE_CHECKING:
    from rampart.llm.decider import LlmDecider

LLM_BUDGET_S = VIBE_RESPONSE_S
"""The whole LLM attempt, retries included; past it the parser answers
(``telegram.vibe_response_s`` in a service)."""

HUNDRED = Decimal(100)
_PCT = r"(\d+(?:\.\d+)?)\s*%"
_STOP = re.compile(
    _PCT + r"\s*(?:stop|sl|stop[- ]loss)|(?:stop|sl|stop[- ]loss)\s*(?:at|of)?\s*" + _PCT
)
_TARGET = re.compile(
    _PCT
    + r"\s*(?:target|tp|take[- ]profit|profit)|(?:target|tp|take[- ]profit)\s*(?:at|of)?\s*"
    + _PCT
)
_SHORT = re.compile(r"\b(short|shorting|sell|bearish|dump)\b")
_LEVERAGE = re.compile(r"\b(\d+(?:\.\d+)?)\s*x\b|\bleverage[d]?\b|\bmargin\b|\bperps?\b")


@dataclass(frozen=True, slots=True)
class Proposal:
    symbol: str
    side: str
    entry: Decimal
    stop_loss: Decimal
    take_profit: Decimal
    stop_pct: Decimal
    target_pct: Decimal

    @property
    def reward_risk(self) -> Decimal:
        return (self.take_profit - self.entry) / (self.entry - self.stop_loss)


def _symbol(text: str, symbols: Iterable[str]) -> str | None:
    upper = text.upper()
    for symbol in sorted(symbols):
        base = symbol.split("/")[0]
        if symbol in upper or re.search(rf"\b{re.escape(base)}\b", upper):
            return symbol
    names = {"BITCOIN": "BTC", "ETHER": "ETH", "ETHEREUM": "ETH", "SOLANA": "SOL"}
    for word, base in names.items():
        if word in upper:
            found = [s for s in symbols if s.split("/")[0] == base]
            if found:
                return found[0]
    return None


def _pct(match: re.Match[str] | None) -> Decimal | None:
    if match is None:
        return None
    return Decimal(next(g for g in match.groups() if g is not None)) / HUNDRED


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _on_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick


def parse(
    text: str,
    symbols: Iterable[str],
    marks: Mapping[str, Decimal],
    profile: RiskProfile,
    ticks: Mapping[str, Decimal] | None = None,
) -> Proposal:
    """The proposed trade, or a RampartError saying in one sentence what is missing."""
    said = " ".join((text or "").lower().split())
    carried = sorted(symbols)
    if not said:
        raise RampartError("Describe a trade, for example: /vibe long BTC, tight stop, 2% target")
    symbol = _symbol(said, carried)
    bases = ", ".join(s.split("/")[0] for s in carried)
    # What can never be traded here is said first, plainly, whatever coin was named.
    short, leverage = _SHORT.search(said), _LEVERAGE.search(said)
    if short or leverage:
        asked = " and ".join(
            w
            for w, hit in (
                ("a short", short),
                (
                    f"{leverage.group(1)}x leverage"
                    if leverage and leverage.group(1)
                    else "leverage",
                    leverage,
                ),
            )
            if hit
        )
        coin = "" if symbol else f" (and I trade only {bases})"
        raise RampartError(
            f"I cannot do {asked}: your {profile.name} profile trades spot here, so it only "
            f"buys coins with the cash it has (no shorts, no leverage){coin}. For example: "
            "/vibe long BTC, tight stop."
        )
    if symbol is None:
        raise RampartError(f"Name a coin I trade ({bases}), for example: /vibe long BTC.")
    mark = marks.get(symbol)
    if mark is None or mark <= 0:
        raise RampartError(f"There is no price for {symbol} yet; try again in a minute.")
    stop = _pct(_STOP.search(said))
    if stop is None:
        if "tight" in said:
            stop = profile.min_stop
        elif "wide" in said or "loose" in said:
            stop = profile.max_stop
        else:
            stop = (profile.min_stop + profile.max_stop) / 2
    if not profile.min_stop <= stop <= profile.max_stop:
        raise RampartError(
            f"A {stop * HUNDRED:g}% stop is outside your {profile.name} profile's "
            f"{profile.min_stop * HUNDRED:g}–{profile.max_stop * HUNDRED:g}% range: ask again "
            "with a stop inside it, or say 'tight' or 'wide'."
        )
    target = _pct(_TARGET.search(said))
    if target is None:
        target = stop * max(profile.min_rr, Decimal(2))
    if target <= 0:
        raise RampartError("The target must be above the entry: ask again with a target above 0%.")
    # On the venue's price grid, keeping the stop inside the profile's range (rounded away from
    # the entry unless that would pass the widest stop) and the target at least as far as asked.
    tick = (ticks or {}).get(symbol, Decimal("0.00000001"))
    stop_price = _on_tick(mark * (1 - stop), tick, ROUND_FLOOR)
    if (mark - stop_price) / mark > profile.max_stop:
        stop_price = _on_tick(mark * (1 - stop), tick, ROUND_CEILING)
    if stop_price >= mark or stop_price <= 0:
        # A price only a few ticks high has no room for a stop inside the profile's range.
        raise RampartError(
            f"{symbol} at {mark} moves in steps of {tick}: a {stop * HUNDRED:g}% stop does not "
            "fit below the entry, so no trade can be proposed on it: ask again with a wider "
            "stop or another coin."
        )
    proposal = Proposal(
        symbol=symbol,
        side="buy",
        entry=mark,
        stop_loss=stop_price,
        take_profit=_on_tick(mark * (1 + target), tick, ROUND_CEILING),
        stop_pct=stop,
        target_pct=target,
    )
    if proposal.reward_risk < profile.min_rr:
        # The risk engine would refuse it on Confirm: say so now, with a target that works.
        least = (stop * profile.min_rr * HUNDRED).quantize(Decimal("0.1"), ROUND_CEILING)
        raise RampartError(
            f"A {_num(target * HUNDRED)}% target over a {_num(stop * HUNDRED)}% stop is "
            f"reward:risk {proposal.reward_risk:.2f}; your {profile.name} profile needs at least "
            f"{_num(profile.min_rr)}. Ask for a target of {_num(least)}% or more."
        )
    return proposal


async def propose(
    text: str,
    symbols: Iterable[str],
    marks: Mapping[str, Decimal],
    profile: RiskProfile,
    ticks: Mapping[str, Decimal] | None = None,
    *,
    llm: LlmDecider | None = None,
    timeout_s: float = LLM_BUDGET_S,
) -> Proposal:
    """The LLM's reading of ``text`` when it gives a valid one in time, else :func:`parse`'s."""
    carried = sorted(symbols)
    if llm is not None and text.strip():
        try:
            found = await asyncio.wait_for(
                _from_llm(llm, text, carried, marks, profile, ticks or {}), timeout_s
            )
        except TimeoutError:
            found = None
        if found is not None:
            return found
    return parse(text, carried, marks, profile, ticks)


async def _from_llm(
    llm: LlmDecider,
    text: str,
    symbols: list[str],
    marks: Mapping[str, Decimal],
    profile: RiskProfile,
    ticks: Mapping[str, Decimal],
) -> Proposal | None:
    prices = {s: format(marks[s], "f") for s in symbols if s in marks}
    context = {
        "symbols": prices,
        "stop_limits": [str(profile.min_stop), str(profile.max_stop)],
        "min_reward_risk": str(profile.min_rr),
    }

    def check(decision: LlmDecision) -> None:
        if decision.action != "enter":
            return
        if decision.symbol not in prices or decision.side != "buy":
            raise InvalidDecision("The model proposed a trade Rampart cannot make.")
        decision.check_against(decision.symbol, marks[decision.symbol])

    answer = await llm.ask(text_prompt(text, context), "vibe", check)
    decision = answer.decision
    if decision is None or decision.action != "enter":
        return None
    symbol = present(decision.symbol, "an entry's symbol")  # the decision's validator says so
    mark = marks[symbol]
    tick = ticks.get(symbol, Decimal("0.00000001"))
    stop = _on_tick(present(decision.stop_loss, "an entry's stop-loss"), tick, ROUND_FLOOR)
    target = _on_tick(present(decision.take_profit, "an entry's take-profit"), tick, ROUND_CEILING)
    stop_pct = (mark - stop) / mark
    if not (0 < stop < mark < target and profile.min_stop <= stop_pct <= profile.max_stop):
        return None
    if (target - mark) / (mark - stop) < profile.min_rr:
        return None  # the parser answers, and says why when it cannot do better
    return Proposal(
        symbol=symbol,
        side="buy",
        entry=mark,
        stop_loss=stop,
        take_profit=target,
        stop_pct=stop_pct,
        target_pct=(target - mark) / mark,
    )
