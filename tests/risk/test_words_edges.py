"""Durations, ratios and breaker sentences compared whole, at the edges of each unit.

Found by mutation testing (docs/mutation.md): the breaker and rejection tests look for a
fragment ("1 hour", "9,560 USDT"), so the plural, the rounding and the rest of the sentence
could change unnoticed; these sentences are what an investor reads when trading stops.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.accounts import TradingState
from rampart.risk.breakers import DAY_MS, Breakers, BreakerState
from rampart.risk.codes import fmt_duration, fmt_ratio
from rampart.risk.profiles import get_profile

D = Decimal
DAY0 = 19_000 * DAY_MS
HOUR = 3_600_000


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (-5, "0 seconds"),
        (0, "0 seconds"),
        (1, "1 second"),  # anything left is at least a second, never "0 seconds"
        (1_400, "1 second"),
        (2_000, "2 seconds"),
        (119_400, "119 seconds"),
        (120_000, "2 minutes"),
        (3_540_000, "59 minutes"),
        (3_600_000, "1 hour"),
        (5_400_000, "1.5 hours"),
        (5_580_000, "1.6 hours"),  # 1.55 h: one decimal, not two
        (7_200_000, "2 hours"),
        (86_400_000, "24 hours"),
    ],
)
def test_fmt_duration(ms: int, text: str) -> None:
    assert fmt_duration(ms) == text


@pytest.mark.parametrize(
    ("value", "avoid", "text"),
    [
        ("2.5", None, "2.5"),
        ("1.234", None, "1.23"),
        ("1.19999", "1.2", "1.19999"),  # never shown as the limit it misses
        ("1.1999", "1.2", "1.1999"),
        ("1.19", "1.2", "1.19"),
        ("1.2", "1.2", "1.2"),  # equal to the limit: shown as it is
        ("1.25", "1.2", "1.25"),
        ("0.123456789", "0.123456789", "0.12"),
    ],
)
def test_fmt_ratio(value: str, avoid: str | None, text: str) -> None:
    assert fmt_ratio(D(value), None if avoid is None else D(avoid)) == text


def _breakers() -> tuple[Breakers, BreakerState]:
    breakers = Breakers(get_profile("moderate"), currency="USDT")
    return breakers, breakers.new_state(D("10000"), DAY0)


def test_a_resume_says_which_stop_and_resets_the_counters() -> None:
    breakers, bs = _breakers()
    breakers.on_equity(bs, D("9000"), DAY0 + HOUR)  # 10 % down: max drawdown
    bs.consecutive_losses, bs.cooldown_until_ms = 2, DAY0 + 2 * HOUR
    [trip] = breakers.resume(bs, DAY0 + HOUR)
    assert trip.message == (
        "Trading was resumed after the max drawdown stop; loss limits now count from 9,000 USDT."
    )
    assert (bs.consecutive_losses, bs.cooldown_until_ms) == (0, 0)


def test_a_resume_without_a_named_breaker_says_a_breaker() -> None:
    breakers, bs = _breakers()
    bs.state, bs.halted_by = TradingState.HALTED, ""
    [trip] = breakers.resume(bs, DAY0)
    assert trip.message.startswith("Trading was resumed after the a breaker stop;")


def test_a_new_day_lifts_a_daily_loss_halt_in_words() -> None:
    breakers, bs = _breakers()
    breakers.on_equity(bs, D("9500"), DAY0 + HOUR)
    [trip] = breakers.on_equity(bs, D("9500"), DAY0 + DAY_MS)
    assert trip.breaker == "daily_loss"
    assert trip.message == (
        "A new UTC day began: the daily loss limit starts again from 9,500 USDT and trading "
        "resumes."
    )


def test_a_new_day_keeps_a_cooldown_that_still_runs_and_says_until_when() -> None:
    breakers, bs = _breakers()
    breakers.on_equity(bs, D("9500"), DAY0 + HOUR)
    bs.cooldown_until_ms = DAY0 + DAY_MS + 90 * 60_000
    [trip] = breakers.on_equity(bs, D("9500"), DAY0 + DAY_MS)
    assert bs.state is TradingState.REDUCING
    assert trip.message == (
        "A new UTC day began: the daily loss limit starts again from 9,500 USDT, but the "
        "cooldown still runs. Losing-streak cooldown: 3 losing trades in a row, limit 3; "
        "resumes by itself at 2022-01-09 01:30 UTC, after a wait of 1.5 hours."
    )
    # Exactly at the end of the cooldown the day's lift resumes trading outright.
    breakers2, bs2 = _breakers()
    breakers2.on_equity(bs2, D("9500"), DAY0 + HOUR)
    bs2.cooldown_until_ms = DAY0 + DAY_MS
    [lift] = breakers2.on_equity(bs2, D("9500"), DAY0 + DAY_MS)
    assert lift.message.endswith("and trading resumes.")
