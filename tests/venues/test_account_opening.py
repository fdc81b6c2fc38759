"""Opening an account on the matching core: what it refuses, in words (survivors of
``MatchingCore.open_account``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.errors import VenueError
from rampart.venues.matching import MatchingCore

from .helpers import INSTRUMENTS

D = Decimal


@pytest.mark.parametrize(
    ("account_id", "balances", "code", "message"),
    [
        ("", {}, "bad_account", "An account id must be a non-empty string."),
        (7, {}, "bad_account", "An account id must be a non-empty string."),
        ("a", {"USDT": D(1)}, "account_exists", "Account 'a' is already open."),
        ("b", [("USDT", D(1))], "bad_balance", "Balances must map asset names to amounts."),
        (
            "b",
            {5: D(1)},
            "bad_balance",
            "Funding 5 with Decimal('1') is not a non-negative Decimal amount.",
        ),
        (
            "b",
            {"": D(1)},
            "bad_balance",
            "Funding '' with Decimal('1') is not a non-negative Decimal amount.",
        ),
        (
            "b",
            {"USDT": D(-1)},
            "bad_balance",
            "Funding 'USDT' with Decimal('-1') is not a non-negative Decimal amount.",
        ),
    ],
)
def test_an_account_the_core_cannot_open_is_refused_in_words(
    account_id: Any, balances: Any, code: str, message: str
) -> None:
    core = MatchingCore(INSTRUMENTS)
    core.open_account("a", {"USDT": D(10)})
    with pytest.raises(VenueError) as err:
        core.open_account(account_id, balances)
    assert (err.value.code, err.value.message) == (code, message)
    assert list(core.accounts) == ["a"]
