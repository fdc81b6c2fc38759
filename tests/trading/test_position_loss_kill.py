"""``kill_on_position_loss``: one position's unrealised loss past an amount (50 USDT in the
conservative profile, LeviBot's "Position Loss > $50 → Activate kill switch") halts and
flattens its account, or with scope ``service`` engages the global kill switch; the trip is
what the PositionLossKill P1 counts. Off in the other profiles."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.config import load_settings
from rampart.domain.events import BreakerTripped, Event
from rampart.domain.orders import OrderRole
from rampart.observability.metrics import Metrics
from rampart.risk.breakers import Breakers
from rampart.risk.profiles import get_profile
from rampart.risk.restrictions import KILL_ON_POSITION_LOSS, position_loss_kill
from rampart.trading.engine import Engine

from .helpers import SYMBOL, guard_at, open_long

D = Decimal


def _kills(events: list[Event]) -> list[BreakerTripped]:
    return [
        e for e in events if isinstance(e, BreakerTripped) and e.breaker == KILL_ON_POSITION_LOSS
    ]


def _exits(engine: Engine) -> list[object]:
    acct = engine.accounts["a1"]
    return [o for o in acct.orders.values() if o.role is OrderRole.EXIT]


def test_a_halted_account_is_not_killed_again() -> None:
    """The flattening exit may take a candle to fill on a real venue: the next price update
    must not trip again (one P1, one pause)."""

    async def scenario() -> None:
        engine, events = await open_long("conservative")
        await engine.controls.pause_account("a1", "risk", "already killed")
        lost = await guard_at(engine, "94")
        assert lost > 50 and not _kills(events)

    asyncio.run(scenario())


def test_the_comparison_sits_on_the_amount() -> None:
    conservative = get_profile("conservative")
    assert conservative.kill_on_position_loss == D(50)
    assert not Breakers.position_loss_kills(D("-50"), conservative)  # on the limit: no kill
    assert Breakers.position_loss_kills(D("-50.01"), conservative)
    assert not Breakers.position_loss_kills(D("12"), conservative)  # a gain
    for name in ("moderate", "aggressive"):
        assert get_profile(name).kill_on_position_loss == 0
        assert not Breakers.position_loss_kills(D("-10000"), get_profile(name))


def test_a_conservative_position_losing_past_50_usdt_halts_and_flattens_its_account() -> None:
    async def scenario() -> None:
        engine, events = await open_long("conservative")
        acct = engine.accounts["a1"]
        quiet = await guard_at(engine, "95.2")
        assert quiet < 50
        assert not acct.paused and not _kills(events) and not _exits(engine)
        lost = await guard_at(engine, "94")
        assert lost > 50
        # Well inside the relative per-position limit (1 % of 10,000 = 100 USDT): only the
        # amount can have tripped.
        assert lost < D("0.01") * D(10000)
        (trip,) = _kills(events)
        assert trip.account_id == "a1" and "50 USDT kill limit" in trip.message
        assert trip.ts == engine.clock.now_ms()
        assert acct.paused and engine.controls.paused_by["a1"] == "risk"
        assert acct.pause_reason == trip.message
        why_kill = position_loss_kill(SYMBOL, lost, acct.profile, "USDT", trip.ts)
        assert acct.pause_restriction == why_kill
        assert trip.message == why_kill.measured  # the figures, not the whole sentence
        assert not engine.controls.global_kill
        assert SYMBOL not in acct.ledger.positions  # flattened at market (paper fills at once)
        (why,) = [r for r in engine.controls.restrictions(acct) if r.cause == KILL_ON_POSITION_LOSS]
        assert why.needs_operator and why.threshold == 50
        metrics = Metrics()
        for event in events:
            metrics.on_event(event)
        trips = metrics.registry.get_sample_value(
            "rampart_breaker_trips_total", {"breaker": KILL_ON_POSITION_LOSS}
        )
        assert trips == 1  # what PositionLossKill counts

    asyncio.run(scenario())


def test_scope_service_engages_the_global_kill_switch_instead() -> None:
    async def scenario() -> None:
        engine, events = await open_long("conservative")
        engine.guard.kill_scope = "service"
        await guard_at(engine, "94")
        assert engine.controls.global_kill and engine.controls.global_actor == "risk"
        (trip,) = _kills(events)
        assert engine.controls.global_reason == f"a1: {trip.message}"
        assert not engine.accounts["a1"].paused
        assert SYMBOL not in engine.accounts["a1"].ledger.positions

    asyncio.run(scenario())


def test_the_other_profiles_have_it_off() -> None:
    async def scenario() -> None:
        engine, events = await open_long("moderate")
        lost = await guard_at(engine, "94")
        assert lost > 50 and not _kills(events) and not engine.accounts["a1"].paused

    asyncio.run(scenario())


@pytest.mark.parametrize("scope", ["account", "service"])
def test_the_settings_set_the_amount_for_every_profile_and_the_scope(scope: str) -> None:
    settings = load_settings(
        risk={"kill_on_position_loss": 75, "kill_on_position_loss_scope": scope},
        profiles={"aggressive": {"kill_on_position_loss": 0}},
    )
    overrides = settings.profiles
    assert get_profile("conservative", overrides).kill_on_position_loss == 75
    assert get_profile("moderate", overrides).kill_on_position_loss == 75
    assert get_profile("aggressive", overrides).kill_on_position_loss == 0  # its own wins
    assert settings.risk.kill_on_position_loss_scope == scope
