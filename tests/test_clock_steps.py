"""The wall clock through host clock steps: stepped back 10 minutes, an exchange
feed on it kept no candle as "not yet closed" (5 candles in 20 s against 45-100) and nothing
said so. Now time runs on from the monotonic clock, each step past the tolerance is counted
(``rampart_clock_jumps_total``) and ClockJump opens its P1. The host's clocks are replaced for
the test (``rampart.clock.time``); nothing sleeps."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import rampart.clock
from rampart.clock import WallClock
from rampart.domain.candles import Candle
from rampart.market.ccxt_feed import CcxtFeed
from rampart.observability.launch_sampler import clock_jump_hook
from tests.ops.alert_harness import Harness

MINUTE = 60_000
START = 1_700_000_000_000 // MINUTE * MINUTE
SYMBOL = "BTC/USDT"


class HostTime:
    """The host's two clocks: ``true`` moves both; ``step`` moves only the wall clock."""

    def __init__(self, start_ms: int) -> None:
        self.wall = start_ms
        self.mono = 5_000_000

    def true(self, ms: int) -> None:
        self.wall += ms
        self.mono += ms

    def step(self, ms: int) -> None:
        self.wall += ms

    def time_ns(self) -> int:
        return self.wall * 1_000_000

    def monotonic_ns(self) -> int:
        return self.mono * 1_000_000


def _rows(true_now: int) -> list[list[float]]:
    """What the exchange answers: the last three bars, the newest still forming."""
    forming = true_now // MINUTE * MINUTE
    return [
        [ts, 1.0, 2.0, 0.5, 1.5, 10.0] for ts in range(forming - 2 * MINUTE, forming + 1, MINUTE)
    ]


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> HostTime:
    fake = HostTime(START + 1_000)
    monkeypatch.setattr(rampart.clock, "time", fake)
    return fake


def test_a_clock_stepped_back_keeps_candles_flowing_once_each(host: HostTime) -> None:
    h = Harness(None)
    clock = WallClock()
    clock.on_jump = clock_jump_hook(h.metrics)
    feed = CcxtFeed(SimpleNamespace(id="stub"), [SYMBOL], clock=clock, since_ms=START)
    got: list[Candle] = []
    true_now = START + 1_000
    for second in range(1, 20 * 60 + 1, 10):  # 20 minutes, polled every 10 s
        host.true(10_000)
        true_now += 10_000
        if second == 5 * 60 + 1:
            host.step(-10 * MINUTE)  # the host clock goes back 10 minutes
        if second == 15 * 60 + 1:
            host.step(10 * MINUTE)  # and is put right again
        got += feed.accept(SYMBOL, _rows(true_now))
    assert clock.now_ms() >= true_now  # never behind, never backwards
    opens = [c.ts for c in got]
    closed = true_now // MINUTE * MINUTE
    assert opens == list(range(START, closed, MINUTE)), "every closed bar, once, in order"
    assert all(c.close_ts <= true_now for c in got), "no forming bar"
    jumps = h.metrics.registry.get_sample_value
    assert jumps("rampart_clock_jumps_total", {"direction": "back"}) == 1
    assert jumps("rampart_clock_jumps_total", {"direction": "forward"}) == 1
    h.evaluate()
    (notice,) = h.of("ClockJump", "firing")
    assert notice.severity == "P1"


def test_a_step_forward_is_followed_and_counted(host: HostTime) -> None:
    seen: list[int] = []
    clock = WallClock()
    clock.on_jump = seen.append
    before = clock.now_ms()
    host.true(1_000)
    host.step(1_500)  # within the tolerance: NTP-sized, followed silently
    assert clock.now_ms() == before + 2_500 and seen == []
    host.step(3 * MINUTE)
    assert clock.now_ms() == before + 2_500 + 3 * MINUTE
    assert seen == [3 * MINUTE]
