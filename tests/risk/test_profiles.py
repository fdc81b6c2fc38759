"""Risk profiles: the design's table, overrides and their validation, the investor summary."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.errors import ConfigError
from rampart.risk.profiles import DEFAULT_PROFILES, RiskProfile, describe, get_profile

D = Decimal

# The design's table (§5), transcribed in percent as printed there.
TABLE = {
    #               risk   max pos  open  stop     R:R    daily  drawdown
    "conservative": ("0.5", "10", 2, ("1", "3"), "1.5", "2", "5"),
    "moderate": ("1", "20", 4, ("1", "5"), "1.2", "4", "10"),
    "aggressive": ("2", "35", 6, ("1", "8"), "1.0", "6", "20"),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_default_profiles_equal_the_design_table(name: str) -> None:
    risk, position, max_open, (lo, hi), rr, daily, drawdown = TABLE[name]
    p = get_profile(name)
    assert p is DEFAULT_PROFILES[name] and p.name == name
    assert p.risk_per_trade * 100 == D(risk)
    assert p.max_position * 100 == D(position)
    assert p.max_open == max_open
    assert (p.min_stop * 100, p.max_stop * 100) == (D(lo), D(hi))
    assert p.min_rr == D(rr)
    assert p.daily_loss * 100 == D(daily)
    assert p.max_drawdown * 100 == D(drawdown)
    assert p.consecutive_losses == 3 and p.cooldown_ms == 3_600_000
    assert p.position_loss_limit == 2 * p.risk_per_trade
    assert p.max_orders_per_minute == 20 and p.max_data_age_ms == 180_000
    assert all(isinstance(getattr(p, f), Decimal) for f in ("risk_per_trade", "min_rr"))


def test_only_the_three_profiles_exist() -> None:
    assert list(DEFAULT_PROFILES) == ["conservative", "moderate", "aggressive"]


def test_unknown_profile_names_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        get_profile("yolo")
    assert err.value.message == (
        "Unknown risk profile 'yolo': choose conservative, moderate or aggressive."
    )


def test_overrides_apply_to_their_profile_only_and_convert_to_decimal() -> None:
    overrides = {"moderate": {"risk_per_trade": 0.008, "max_open": "6", "min_rr": "1.5"}}
    p = get_profile("moderate", overrides)
    assert p.risk_per_trade == D("0.008")  # a float goes through its shortest repr
    assert p.max_open == 6 and p.min_rr == D("1.5")
    assert p.position_loss_limit == D("0.016")  # follows the new risk per trade
    assert p.max_stop == DEFAULT_PROFILES["moderate"].max_stop
    assert get_profile("aggressive", overrides) == DEFAULT_PROFILES["aggressive"]
    assert DEFAULT_PROFILES["moderate"].risk_per_trade == D("0.01")  # built-ins untouched


def test_percent_strings_and_an_explicit_position_loss_limit() -> None:
    p = get_profile(
        "conservative", {"conservative": {"daily_loss": "1.5 %", "position_loss_limit": 0.03}}
    )
    assert p.daily_loss == D("0.015") and p.position_loss_limit == D("0.03")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"risk_per_trade": 0}, "risk_per_trade"),
        ({"risk_per_trade": 1}, "risk_per_trade"),
        ({"max_position": -0.2}, "max_position"),
        ({"daily_loss": "lots"}, "daily_loss"),
        ({"max_drawdown": float("nan")}, "max_drawdown"),
        ({"min_stop": 0.06}, "min_stop"),  # above moderate's 5 % max_stop
        ({"min_rr": 0}, "min_rr"),
        ({"max_open": 0}, "max_open"),
        ({"max_open": 2.5}, "max_open"),
        ({"consecutive_losses": True}, "consecutive_losses"),
        ({"cooldown_ms": [1]}, "cooldown_ms"),
        ({"max_orders_per_minute": -1}, "max_orders_per_minute"),
        ({"position_loss_limit": 0.005}, "position_loss_limit"),  # below risk per trade
        ({"risk_per_trad": 0.01}, "risk_per_trad"),
        ({"name": "other"}, "name"),
    ],
)
def test_bad_overrides_name_the_key(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        get_profile("moderate", {"moderate": changes})
    assert f"'{key}'" in err.value.message and "moderate" in err.value.message
    assert err.value.message.endswith(".") and "\n" not in err.value.message


def test_an_override_for_a_profile_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(ConfigError) as err:
        get_profile("moderate", {"moderat": {"max_open": 3}})
    assert "'moderat'" in err.value.message


def test_a_bad_override_of_another_profile_fails_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        get_profile("moderate", {"aggressive": {"max_open": 0}})
    assert "aggressive" in err.value.message


def test_constructing_an_invalid_profile_directly_is_refused() -> None:
    with pytest.raises(ConfigError, match="'min_stop'"):
        RiskProfile("x", D("0.01"), D("0.2"), 4, D("0.05"), D("0.01"), D("1"), D("0.04"), D("0.1"))


@pytest.mark.parametrize("name", list(TABLE))
def test_describe_states_the_numbers_in_plain_words(name: str) -> None:
    p = get_profile(name)
    text = describe(p)
    risk, position, max_open, (lo, hi), rr, daily, drawdown = TABLE[name]
    for fragment in (
        f"{risk} % of your account",
        f"at most {position} %",
        f"at most {max_open} positions",
        f"between {lo} % and {hi} %",
        f"loses {daily} % in one day",
        f"falls {drawdown} % below",
        "at least as far" if D(rr) == 1 else f"at least {rr} times as far",
        "3 losing trades",
        "1 hour",
    ):
        assert fragment in text, fragment
    assert "_" not in text and text.endswith(".")


def test_describe_follows_an_override() -> None:
    p = get_profile("moderate", {"moderate": {"cooldown_ms": 7_200_000, "min_rr": 2}})
    text = describe(p)
    assert "wait 2 hours" in text and "at least 2 times as far" in text
