"""The alert engine's counter history stays small over its longest window (the memory-growth
rule's hour) however often it evaluates, every window still starts within 1/60 of its length of
the moment asked, and every record shares one copy of each series' key."""

from __future__ import annotations

from rampart.observability.alerts.history import SPACING_SHARE, History

HOUR_MS = 3_600_000
STEP_MS = 500  # the service soak evaluates every 0.5 s


def _samples(count: float) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        "calls_total": [({"venue": "binance", "le": str(b)}, count * b) for b in (0.1, 1.0, 5.0)],
    }


def _fill(history: History, until_ms: int) -> None:
    for now in range(0, until_ms + 1, STEP_MS):
        history.record(now, _samples(now / 1000), ["calls_total"])


def test_two_hours_at_half_a_second_keep_a_few_hundred_records_not_seven_thousand() -> None:
    history = History(HOUR_MS + 60_000)
    _fill(history, 2 * HOUR_MS)
    assert len(history._times) < 500


def test_a_window_of_any_length_starts_within_a_sixtieth_of_it() -> None:
    history = History(HOUR_MS + 60_000)
    now = 2 * HOUR_MS
    _fill(history, now)
    key = ("calls_total", (("le", "1.0"), ("venue", "binance")))
    for window_ms in (5_000, 60_000, 300_000, 900_000, HOUR_MS):
        increase = history.at(now)[key] - history.at(now - window_ms)[key]
        seconds = window_ms / 1000
        assert seconds <= increase <= seconds * (1 + 1 / SPACING_SHARE) + STEP_MS / 1000


def test_every_record_refers_to_one_copy_of_each_series_key() -> None:
    history = History(HOUR_MS)
    history.record(0, _samples(1), ["calls_total"])
    history.record(500, _samples(2), ["calls_total"])
    first, second = (list(raw) for raw in history._raw)
    assert first == second
    assert all(a is b for a, b in zip(first, second, strict=True))
