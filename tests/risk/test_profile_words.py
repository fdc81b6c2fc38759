"""What an investor reads about a profile's kill amount, and the amounts config may not set."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from rampart.domain.errors import ConfigError
from rampart.risk.codes import fmt_ratio
from rampart.risk.profiles import describe, get_profile

D = Decimal
KILL_SENTENCE = (
    " A position losing more than 50 (in the account's currency) halts the account and closes "
    "its positions until an operator reviews it."
)


def test_the_kill_amount_is_described_only_where_it_is_on() -> None:
    conservative = describe(get_profile("conservative"))
    assert conservative.endswith("is closed and the account paused." + KILL_SENTENCE)
    moderate = describe(get_profile("moderate"))
    assert moderate.endswith("is closed and the account paused.")
    half = describe(get_profile("moderate", {"moderate": {"kill_on_position_loss": "12.50"}}))
    assert half.endswith(
        " A position losing more than 12.5 (in the account's currency) halts "
        "the account and closes its positions until an operator reviews it."
    )


@pytest.mark.parametrize("amount", ["-1", "Infinity", "NaN"])
def test_a_kill_amount_below_zero_or_not_a_number_is_refused(amount: str) -> None:
    with pytest.raises(ConfigError) as refused:
        dataclasses.replace(get_profile("moderate"), kill_on_position_loss=D(amount))
    assert str(refused.value) == (
        "Setting 'kill_on_position_loss' of the moderate risk profile must be an amount of at "
        f"least 0 (0 turns it off); got {amount}."
    )


def test_a_kill_amount_given_with_spaces_is_read() -> None:
    profile = get_profile("moderate", {"moderate": {"kill_on_position_loss": " 75 "}})
    assert profile.kill_on_position_loss == D("75")


def test_a_ratio_past_eight_places_is_shown_in_full() -> None:
    assert fmt_ratio(D("1.2000000014"), avoid=D("1.2")) == "1.2000000014"


def test_overrides_that_are_not_settings_are_refused_in_words() -> None:
    with pytest.raises(ConfigError) as not_a_mapping:
        get_profile("moderate", {"moderate": ["risk_per_trade", "0.01"]})  # type: ignore[dict-item]
    assert str(not_a_mapping.value) == (
        "Overrides of the moderate risk profile must be a mapping of setting to value."
    )
    with pytest.raises(ConfigError) as unknown:
        get_profile("moderate", {"moderate": {"risk": "1 %"}})
    assert str(unknown.value) == (
        "Setting 'risk' of the moderate risk profile is unknown: use one of risk_per_trade, "
        "max_position, min_stop, max_stop, daily_loss, max_drawdown, position_loss_limit, "
        "min_rr, max_open, consecutive_losses, cooldown_ms, max_orders_per_minute, "
        "max_data_age_ms, kill_on_position_loss."
    )
