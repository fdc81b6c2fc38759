"""The launch plans' numbers in the shipped configuration (plan 004): the $50 position-loss
kill switch protects every account whatever its profile, with or without the staged rollout;
the internal stage's timed ramp takes one symbol first, three at T+8 h, the full $1,000 at
T+20 h, and the stage is watched to T+48 h before it can be left."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.config import load_settings
from rampart.risk.breakers import Breakers
from rampart.risk.profiles import DEFAULT_PROFILES, get_profile

HOUR_MS = 3_600_000


@pytest.mark.parametrize("name", sorted(DEFAULT_PROFILES))
def test_every_profile_kills_a_position_losing_more_than_50_without_the_rollout(
    name: str,
) -> None:
    settings = load_settings(None)
    assert not settings.rollout.enabled  # the rollout is off by default: the kill still holds
    profile = get_profile(name, settings.profiles)
    assert profile.kill_on_position_loss == Decimal(50)
    assert Breakers.position_loss_kills(Decimal("-50.01"), profile)
    assert not Breakers.position_loss_kills(Decimal("-50"), profile)


def test_null_leaves_each_profile_its_own_and_zero_turns_it_off() -> None:
    own = load_settings(None, risk={"kill_on_position_loss": None}).profiles
    assert get_profile("moderate", own).kill_on_position_loss == 0
    assert get_profile("conservative", own).kill_on_position_loss == 50
    off = load_settings(None, risk={"kill_on_position_loss": 0}).profiles
    assert all(get_profile(n, off).kill_on_position_loss == 0 for n in DEFAULT_PROFILES)


def test_the_staged_rollout_keeps_the_50_kill_in_its_first_stages() -> None:
    stages = {s.name: s for s in load_settings(None).rollout.stages}
    assert stages["internal"].kill_on_position_loss == 50
    assert stages["limited"].kill_on_position_loss == 50


def test_the_internal_ramp_is_plan_004s() -> None:
    internal = next(s for s in load_settings(None).rollout.stages if s.name == "internal")
    steps = [(s.after_ms // HOUR_MS, s.symbols, s.capital) for s in internal.ramp_steps()]
    three = frozenset({"BTC/USDT", "ETH/USDT", "SOL/USDT"})
    assert steps == [
        (0, frozenset({"BTC/USDT"}), Decimal(100)),
        (8, three, Decimal(300)),
        (20, None, Decimal(1000)),
    ]
    assert internal.min_duration_h == 48  # watched to T+48 h: 28 hours at the full capital
