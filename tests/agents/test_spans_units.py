"""The span a declared input states in its sidecar (``rampart.agents.spans``): read in ISO dates
(with or without a zone, ``Z`` too) or milliseconds, said in UTC whatever the machine's zone, and
a sidecar that cannot be read said in words naming the file and the key."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.agents.spans import InputSpan, day, stated_span
from rampart.domain.errors import ConfigError

JAN31 = 1_706_659_200_000  # 2024-01-31 00:00 UTC


@pytest.fixture
def far_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone five and a half hours from UTC: nothing may read it."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _span(tmp_path: Path, found: object) -> InputSpan:
    (tmp_path / "bars.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "bars.csv.span.json").write_text(json.dumps(found), encoding="utf-8")
    return stated_span(tmp_path / "bars.csv")


def test_a_span_is_said_in_utc_whatever_the_local_zone(far_zone: None) -> None:
    assert day(JAN31 + 13 * 3_600_000 + 45 * 60_000) == "2024-01-31 13:45 UTC"
    assert day(1_900_000_000_000) == "2030-03-17 17:46 UTC"
    span = InputSpan("bars.csv", JAN31 - 30 * 86_400_000, JAN31)
    assert (
        span.describe() == "bars.csv was made from 2024-01-01 00:00 UTC up to 2024-01-31 00:00 UTC"
    )
    assert span.as_dict() == {"file": "bars.csv", "from": JAN31 - 30 * 86_400_000, "to": JAN31}
    assert (
        InputSpan("bars.csv", None, JAN31).describe()
        == "bars.csv was made up to 2024-01-31 00:00 UTC"
    )


@pytest.mark.parametrize(
    ("stated", "ms"),
    [
        ("2024-01-31", JAN31),
        ("2024-01-31T00:00:00Z", JAN31),
        ("2024-01-31T02:00:00+02:00", JAN31),
        ("2024-01-31T05:30:00+05:30", JAN31),
        (JAN31, JAN31),
        (float(JAN31), JAN31),
    ],
)
def test_iso_dates_in_any_zone_and_milliseconds_state_the_same_instant(
    tmp_path: Path, far_zone: None, stated: object, ms: int
) -> None:
    span = _span(tmp_path, {"from": stated, "to": stated})
    assert (span.start_ms, span.end_ms) == (ms, ms)


def test_a_sidecar_without_to_or_with_a_bad_value_is_said_naming_the_file_and_key(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as without:
        _span(tmp_path, {"from": "2024-01-01"})
    assert str(without.value) == (
        f'{tmp_path / "bars.csv.span.json"} must hold {{"from": ..., "to": ...}}: the span '
        "bars.csv was computed or trained on ('to' at least)."
    )
    sidecar = tmp_path / "bars.csv.span.json"
    with pytest.raises(ConfigError) as bad_from:
        _span(tmp_path, {"from": "last winter", "to": "2024-01-31"})
    assert str(bad_from.value) == (
        f"{sidecar}: 'from' must be an ISO date (2024-01-31) or milliseconds since 1970; "
        "got 'last winter'."
    )
    with pytest.raises(ConfigError) as bad_to:
        _span(tmp_path, {"to": True})
    assert str(bad_to.value) == (
        f"{sidecar}: 'to' must be an ISO date (2024-01-31) or milliseconds since 1970; got True."
    )
    with pytest.raises(ConfigError, match="'from' is after 'to'"):
        _span(tmp_path, {"from": "2024-02-01", "to": "2024-01-31"})
    assert _span(tmp_path, {"from": None, "to": "2024-01-31"}).start_ms is None
