"""Resume on an account a breaker halted: the API names the breaker and how
to lift it (``lift_breakers``) instead of a bare 409 "not paused; there is nothing to resume",
and changes nothing; with ``lift_breakers`` it lifts it."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import LiveApi
from tests.api.test_halt_reasons import ADMIN, _account, trip


def test_resume_on_a_halted_account_names_the_breaker_and_lift_breakers(live: LiveApi) -> None:
    trip(live, "bob", Decimal("0.15"), below="peak")
    r = live.post(f"{ADMIN}/accounts/bob/resume", {"reason": "looked at it"})
    assert r.status_code == 409
    said = r.json()["error"]
    assert "nothing to resume" not in said
    assert "Max drawdown breaker" in said and "lift_breakers" in said, said
    assert _account(live, "bob")["status"] == "halted"  # refused: nothing changed
    r = live.post(f"{ADMIN}/accounts/bob/resume", {"reason": "looked at it", "lift_breakers": True})
    assert r.status_code == 200, r.text
    assert _account(live, "bob")["status"] == "active"
