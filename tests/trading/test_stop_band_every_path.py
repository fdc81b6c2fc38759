"""What the profile promises, the stop keeps, on every way into a position: each built-in rule
agent, the LLM agent (its model asking for a stop anywhere from 0.2 % to 30 % under the close),
and an investor's own trade through ``/vibe`` (tight, wide, outlandish stops asked for in
words; ``/demo`` proposes through the same parser). Each position opened carries a stop between
the profile's ``min_stop`` and ``max_stop`` under the price it was bought at, or the entry is
refused in a sentence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.agents.registry import describe_agents, make_agent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import IntentRejected, PositionChanged
from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart.domain.positions import Position
from rampart.llm.standin import LlmStandIn
from rampart.market.synthetic import SyntheticFeed
from rampart.risk.profiles import RiskProfile, get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue
from tests.llm.helpers import decider
from tests.telegram.conftest import ALICE, TgService

SYMBOL = "BTC/USDT"
TICK = DEFAULT_INSTRUMENTS[SYMBOL].tick_size


def _in_band(entry: Decimal, stop: Decimal, profile: RiskProfile) -> bool:
    """The stop's distance under ``entry`` within the profile's band (a tick either way: the
    stop sits on the exchange's price step)."""
    slack = TICK / entry
    distance = (entry - stop) / entry
    return profile.min_stop - slack <= distance <= profile.max_stop + slack


async def _trading(
    agent: str, profile: str, n: int, llm: object | None = None
) -> tuple[list[Position], list[IntentRejected]]:
    """``agent`` trading ``n`` synthetic minutes of BTC on ``profile``: each position as its
    first entry left it, and the entries the risk engine refused."""
    clock = SimClock(0)
    bus = EventBus()
    opened: list[Position] = []
    refused: list[IntentRejected] = []

    def seen_open(event: object) -> None:
        position = event.position if isinstance(event, PositionChanged) else None
        if position is not None and position.qty > 0 and position.entries == 1:
            opened.append(position)

    bus.subscribe(seen_open)
    bus.subscribe(lambda e: refused.append(e) if isinstance(e, IntentRejected) else None)

    if True:
        venue = PaperVenue({SYMBOL: DEFAULT_INSTRUMENTS[SYMBOL]}, clock=clock)
        engine = Engine(
            venue=venue,
            clock=clock,
            bus=bus,
            make_agent=lambda name, params: make_agent(name, params, llm=llm),  # type: ignore[arg-type]
            profile_for=get_profile,
            taker_fee=Decimal("0.001"),
        )
        await engine.add_account(AccountSpec("alice", agent, profile, Decimal(10_000), (SYMBOL,)))
        feed = SyntheticFeed([SYMBOL], seed=7, timeframe="1m")
        for i, candle in enumerate(feed.iter_candles()):
            if i >= n:
                break
            clock.set(max(candle.close_ts, clock.now_ms()))
            await engine.on_candle(candle)
    return opened, refused


RULE_AGENTS = [name for name, _ in describe_agents()]


@pytest.mark.parametrize("agent", RULE_AGENTS)
@pytest.mark.parametrize("profile", ["conservative", "moderate"])
def test_every_rule_agents_stop_is_in_the_profiles_band_from_its_fill(
    agent: str, profile: str
) -> None:
    opened, _ = asyncio.run(_trading(agent, profile, 2_000))
    band = get_profile(profile)
    assert opened, f"{agent} on {profile} traded nothing: the check saw no stop"
    outside = [
        (p.avg_price, p.initial_stop)
        for p in opened
        if not _in_band(p.avg_price, p.initial_stop, band)
    ]
    assert outside == [], outside


def _stop_at(fraction: str) -> object:
    """A model that asks for a long with its stop ``fraction`` under the last close."""

    def reply(messages: Sequence[dict[str, str]]) -> str:
        summary = json.loads(messages[-1]["content"])
        if not isinstance(summary, dict) or summary.get("holding") or "symbol" not in summary:
            return json.dumps({"action": "hold", "confidence": 0.4, "rationale": "holding"})
        close = Decimal(str(summary["last_close"]))
        stop = close * (1 - Decimal(fraction))
        return json.dumps(
            {
                "action": "enter",
                "symbol": summary["symbol"],
                "side": "buy",
                "stop_loss": str(stop.quantize(Decimal("0.01"))),
                "take_profit": str((close + 3 * (close - stop)).quantize(Decimal("0.01"))),
                "confidence": 0.7,
                "rationale": f"stop {fraction} under",
            }
        )

    return reply


@pytest.mark.parametrize("fraction", ["0.002", "0.02", "0.3"])
def test_the_llm_agents_stop_is_in_the_band_or_refused_in_a_sentence(fraction: str) -> None:
    async def with_model() -> tuple[list[Position], list[IntentRejected]]:
        async with LlmStandIn(reply=_stop_at(fraction)) as standin:  # type: ignore[arg-type]
            d = decider(standin.url, SimClock(0))
            try:
                return await _trading("llm", "moderate", 240, d)
            finally:
                await d.client.aclose()

    opened, refused = asyncio.run(with_model())
    band = get_profile("moderate")
    assert all(_in_band(p.avg_price, p.initial_stop, band) for p in opened), opened
    for r in refused:
        assert r.message.endswith(".") and "Traceback" not in r.message
    if fraction == "0.02":
        assert any(p.strategy == "llm" for p in opened), "a stop inside the band is traded"


SENTENCES = (
    "long ETH, tight stop, 2% target",
    "long ETH, wide stop, 6% target",
    "long ETH, stop 0.1%, 2% target",
    "long ETH, stop 25%, 60% target",
    "long BTC",
)


@pytest.mark.parametrize("profile", ["conservative", "aggressive"])
def test_an_investors_own_trade_keeps_its_stop_in_the_band_or_is_refused(
    tmp_path: Path, profile: str
) -> None:
    """``/vibe`` in words, confirmed ("long BTC" is ``/demo``'s first trade too: the same
    parser): the position bought carries a stop inside the profile's band from its fill, or
    the proposal is refused in words."""
    band = get_profile(profile)

    async def scenario() -> list[tuple[str, str, Position | None]]:
        seen: list[tuple[str, str, Position | None]] = []
        async with TgService(tmp_path) as svc:
            await svc.register([ALICE], profile=profile)
            account = f"tg-{ALICE}"
            for sentence in SENTENCES:
                said = "\n".join(await svc.send(ALICE, f"/vibe {sentence}"))
                placed = ""
                before = len(svc.events)
                if "Proposed trade" in said:
                    placed = "\n".join(await svc.press(ALICE, "Confirm"))
                await svc.trade(4)  # the order fills at the next candle
                opened = [
                    e.position
                    for e in svc.events[before:]
                    if isinstance(e, PositionChanged)
                    and e.account_id == account
                    and e.position is not None
                    and e.position.qty > 0
                ]
                seen.append((said, placed, opened[0] if opened else None))
                await svc.send(ALICE, "/close all")
                await svc.press(ALICE, "Confirm")
                await svc.trade(4)
        return seen

    seen = asyncio.run(scenario())
    bought = 0
    for said, placed, position in seen:
        if position is None or position.qty <= 0:
            # Refused, in words: by the proposal or at Confirm.
            words = placed or said
            assert words and "went wrong" not in words and words.rstrip().endswith((".", ")")), (
                words
            )
            continue
        bought += 1
        assert _in_band(position.avg_price, position.initial_stop, band), (said, position)
    assert bought >= 2, seen
