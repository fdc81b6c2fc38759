"""An anomaly's condition ending is seen (a spike that falls back
under the limit is over, so the next burst is a new anomaly, reported), and a fill inside the
market's band, the mark included when the price has moved past the last candle's range since,
is no fill anomaly. Pins ``risk/anomalies.py`` ``AnomalyDetector._rate`` (``window.over =
False``) and ``fill_deviation`` (the band widened to the mark)."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import Side
from rampart.risk.anomalies import AnomalyDetector, AnomalyKind, AnomalyLimits, Band
from tests.risk.test_anomalies import feed, fill, reject


def test_a_spike_that_ends_is_over_and_the_next_burst_fires_again() -> None:
    d = AnomalyDetector(AnomalyLimits(), lambda _s, _t: None, lambda _a: 20)
    first = feed(d, [reject(i * 100) for i in range(25)])
    calm = feed(d, [reject(120_000)])  # the window has emptied: under the limit again
    second = feed(d, [reject(240_000 + i * 100) for i in range(25)])
    assert [a.kind for a in first] == [AnomalyKind.REJECT_SPIKE]
    assert calm == []
    assert [a.kind for a in second] == [AnomalyKind.REJECT_SPIKE]


def test_a_fill_at_a_mark_past_the_last_candle_is_inside_the_band() -> None:
    # The last candle traded 99-101; the price has since risen to 104 (the mark).
    band = Band(Decimal("99"), Decimal("101"), Decimal("104"))
    d = AnomalyDetector(AnomalyLimits(), lambda _s, _t: band, lambda _a: 20)
    assert feed(d, [fill("104"), fill("103.5"), fill("99.2", Side.SELL)]) == []
    assert [a.kind for a in feed(d, [fill("105")])] == [AnomalyKind.FILL_OFF_MARK]
