"""A replay whose entries the profile refuses for their bracket says so in its summary, with
the profile that takes them or, when none does, the override that would (a Freqtrade port's
10 % stop and 1 % ROI: every built-in profile refuses it)."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.events import IntentRejected
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.risk.profiles import get_profile
from rampart.wiring.replay_refusals import BracketRefusals, _takes

D = Decimal


def _refused(stop: str, take: str, code: str = "stop_too_wide") -> IntentRejected:
    intent = Intent("a", "X/USDT", Side.BUY, IntentAction.OPEN, D(100), D(stop), D(take))
    return IntentRejected(0, intent, code, "refused")


def test_no_refusal_for_the_bracket_says_nothing() -> None:
    seen = BracketRefusals()
    seen(_refused("90", "101", code="risk_per_trade"))  # refused, but not for its bracket
    assert seen.sentence("moderate", None) == ""


def test_the_profile_that_takes_the_entries_is_named() -> None:
    seen = BracketRefusals()
    for stop in ("94", "93"):  # 6 % and 7 % stops at 2 R: only aggressive (1-8 %) takes them
        seen(_refused(stop, str(100 + 2 * (100 - int(stop)))))
    said = seen.sentence("moderate", None)
    assert said.startswith("2 entries refused by the moderate profile for their bracket: ")
    assert "stops 6 % to 7 % below the entry, reward:risk down to 2.00" in said
    assert said.endswith("The aggressive profile takes them: replay with --profile aggressive.")


def test_when_no_profile_takes_them_the_override_that_would_is_given() -> None:
    seen = BracketRefusals()
    seen(_refused("90", "101.2024", code="min_reward_risk"))  # Freqtrade's 10 % stop, 1 % ROI
    said = seen.sentence("moderate", None)
    assert "No profile takes them: override one in the settings, profiles: {moderate: " in said
    override = {"max_stop": "0.1", "min_rr": "0.1202"}
    assert "{moderate: {max_stop: 0.1, min_rr: 0.1202}}" in said
    # The override it names does take the refused entry (its figures rounded the safe way).
    profile = get_profile("moderate", {"moderate": override})
    assert _takes(profile, D("0.1"), D("0.1"), D("1.2024") / D(10))
