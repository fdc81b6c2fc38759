"""Edges of the profile checks and the words they produce, found by mutation testing
(docs/mutation.md): each test here failed to notice a change that the others let through.

Every bound of a profile setting is checked on the value just inside and the value just
outside it, and sentences an investor or operator reads are compared whole, since a test for
a fragment lets the rest of the sentence say anything.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.errors import ConfigError
from rampart.domain.stages import Stage
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import RiskProfile, describe, get_profile
from rampart.risk.rules import check_stage

from .helpers import buy, make_ctx

D = Decimal
MODERATE = get_profile("moderate")


def _with(**changes: Any) -> RiskProfile:
    """The moderate profile with ``changes``, validated as construction always is."""
    return dataclasses.replace(MODERATE, **changes)


# -- each bound, just inside and just outside -------------------------------------------------


def test_a_fraction_must_be_above_zero() -> None:
    with pytest.raises(ConfigError, match="'daily_loss'"):
        _with(daily_loss=D("0"))
    assert _with(daily_loss=D("0.0001")).daily_loss == D("0.0001")


@pytest.mark.parametrize("bad", [0.01, 1, "0.01"])
def test_a_fraction_that_is_not_a_decimal_is_a_config_error(bad: object) -> None:
    # Not an AttributeError from a float or int: config errors are sentences.
    with pytest.raises(ConfigError, match="'max_drawdown' of the moderate risk profile"):
        _with(max_drawdown=bad)


@pytest.mark.parametrize("bad", [2, 1.5, "1.5"])
def test_min_rr_that_is_not_a_decimal_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="'min_rr' of the moderate risk profile"):
        _with(min_rr=bad)


def test_a_count_of_one_is_allowed_and_true_is_not_a_count() -> None:
    assert _with(max_open=1).max_open == 1
    with pytest.raises(ConfigError, match="'max_open'"):
        _with(max_open=0)
    with pytest.raises(ConfigError, match="'max_open'"):
        _with(max_open=True)


def test_min_stop_must_be_strictly_below_max_stop() -> None:
    with pytest.raises(ConfigError) as err:
        _with(min_stop=D("0.05"), max_stop=D("0.05"))
    assert err.value.message == (
        "Setting 'min_stop' of the moderate risk profile (5 %) must be below 'max_stop' (5 %)."
    )
    assert _with(min_stop=D("0.0499")).min_stop == D("0.0499")


def test_the_position_loss_limit_must_be_strictly_above_the_risk_per_trade() -> None:
    with pytest.raises(ConfigError) as err:
        _with(position_loss_limit=D("0.01"))
    assert err.value.message == (
        "Setting 'position_loss_limit' of the moderate risk profile (1 %) must be above "
        "'risk_per_trade' (1 %), or every stop would trip the kill switch."
    )
    assert _with(position_loss_limit=D("0.0101")).position_loss_limit == D("0.0101")


# -- overrides as config spells them ---------------------------------------------------------


def test_percent_strings_keep_their_decimals() -> None:
    p = get_profile("moderate", {"moderate": {"risk_per_trade": "2.5%", "max_stop": " 7.5 % "}})
    assert (p.risk_per_trade, p.max_stop) == (D("0.025"), D("0.075"))


@pytest.mark.parametrize(
    ("key", "raw", "says"),
    [
        ("max_open", "two", "Setting 'max_open' of the moderate risk profile must be a whole "
         "number; got 'two'."),
        ("max_open", 2.5, "Setting 'max_open' of the moderate risk profile must be a whole "
         "number; got 2.5."),
        ("min_rr", "much", "Setting 'min_rr' of the moderate risk profile must be a number; "
         "got 'much'."),
    ],
)  # fmt: skip
def test_an_override_that_is_not_a_number_says_which_kind_is_wanted(
    key: str, raw: object, says: str
) -> None:
    with pytest.raises(ConfigError) as err:
        get_profile("moderate", {"moderate": {key: raw}})
    assert err.value.message == says


# -- sentences compared whole ----------------------------------------------------------------


def test_describe_reads_as_one_whole_paragraph() -> None:
    assert describe(MODERATE) == (
        "The moderate profile risks at most 1 % of your account on any one trade: the "
        "distance from the entry to the stop-loss, times the size bought, never exceeds that. "
        "A single position is worth at most 20 % of the account, and at most 4 positions are "
        "open at once. Every position carries a stop-loss between 1 % and 5 % below the entry "
        "and a take-profit at least 1.2 times as far above the entry as the stop-loss is below "
        "it. If the account loses 4 % in one day, trading stops until the next day (UTC); if it "
        "falls 10 % below its highest value, trading stops until an operator reviews it. After "
        "3 losing trades in a row, new positions wait 1 hour, and a single position losing "
        "more than 2 % of the account is closed and the account paused."
    )


@pytest.mark.parametrize(
    ("symbols", "listing"),
    [
        (frozenset(), "nothing"),
        (frozenset({"ETH/USDT"}), "ETH/USDT"),
        (frozenset({"SOL/USDT", "ETH/USDT"}), "ETH/USDT and SOL/USDT"),
        (frozenset({"SOL/USDT", "ADA/USDT", "ETH/USDT"}), "ADA/USDT, ETH/USDT and SOL/USDT"),
        (
            frozenset({"SOL/USDT", "ADA/USDT", "ETH/USDT", "XRP/USDT"}),
            "ADA/USDT, ETH/USDT, SOL/USDT and XRP/USDT",
        ),
    ],
)
def test_a_stage_names_its_symbols_as_a_sentence_does(
    symbols: frozenset[str], listing: str
) -> None:
    stage = Stage(name="pilot", symbols=symbols)
    rejection = check_stage(buy(), make_ctx(stage=stage))
    assert rejection == (
        RejectCode.STAGE_SYMBOL,
        f"The 'pilot' rollout stage trades only {listing}, not BTC/USDT.",
    )
