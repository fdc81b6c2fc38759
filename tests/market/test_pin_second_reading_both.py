"""A second reading that agrees with both the last good price and the
held one rejects the held price, never confirms it (the last good price is asked first). Pins
``market/price_guard.py`` ``PriceGuard.second_reading``."""

from __future__ import annotations

from tests.market.test_price_guard import SYM, bar, warmed


def test_a_reading_agreeing_with_both_prices_rejects_the_held_one() -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]  # the band the guard measured on the calm walk
    held_close = close * state.high * 1.002  # just past the band: held
    assert guard.admit(bar(60, held_close)) == ()
    assert guard.held(SYM) == 1
    reading = close * state.high * 0.9995  # inside the last good price's band...
    assert held_close * state.low <= reading  # ...and inside the held price's as well
    assert guard.second_reading(SYM, reading) == ()
    assert guard.held(SYM) == 0
    assert guard.listed[-1].outcome == "rejected"
    assert guard._symbols[SYM].ref == close  # the last good price is still the reference
