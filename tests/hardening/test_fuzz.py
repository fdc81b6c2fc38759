"""Fuzzing with Hypothesis: the candle loaders, the /vibe parser and config loading either
succeed or raise a RampartError with a sentence; nothing else escapes (no crash, no traceback).

Example counts are modest so the suite stays fast; failures Hypothesis finds are shrunk and
replayed from its database on the next run.
"""

from __future__ import annotations

import gzip
import io
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.config import load_settings
from rampart.domain.errors import ConfigError, RampartError
from rampart.market.loaders import load_candles
from rampart.risk.profiles import get_profile
from rampart.telegram.vibe import Proposal, parse

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAMES = ["BTC_USDT-1m.csv", "ETH_BTC-5m.json", "data.feather", "x.csv.gz", "candles.txt"]


def _assert_sentence(err: RampartError) -> None:
    assert isinstance(err.message, str) and err.message.strip()
    assert "Traceback" not in err.message
    assert len(err.message) < 2000


def _load(path: Path) -> None:
    try:
        result = load_candles(path)
    except RampartError as err:
        _assert_sentence(err)
        return
    series = result.series
    assert len(series) > 0


@FUZZ
@given(data=st.binary(max_size=2000), name=st.sampled_from(NAMES))
def test_random_bytes_never_crash_the_loader(tmp_path: Path, data: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    _load(path)


MAGIC = st.sampled_from([b"ARROW1", b"FEA1", b"PAR1", b"\x1f\x8b", b"[", b"{", b"date,"])


@FUZZ
@given(head=MAGIC, rest=st.binary(max_size=1500))
def test_bytes_that_start_like_a_known_format_never_crash(
    tmp_path: Path, head: bytes, rest: bytes
) -> None:
    path = tmp_path / "BTC_USDT-1m.bin"
    path.write_bytes(head + rest)
    _load(path)


CELL = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
    st.sampled_from(["2024-01-01T00:00:00Z", "1700000000000", "NaN", "1e400", "-0", ""]),
)
ROW = st.lists(CELL, min_size=0, max_size=8)
ROWS = st.lists(ROW, min_size=0, max_size=40)


def _plausible_rows(n: int, start: int, step: int, jitter: list[float]) -> list[list[Any]]:
    rows = []
    price = 100.0
    for i in range(n):
        price = max(0.01, price * (1 + jitter[i % len(jitter)]))
        rows.append([start + i * step, price, price * 1.01, price * 0.99, price, 1.0])
    return rows


@FUZZ
@given(rows=ROWS, header=st.booleans())
def test_random_csv_rows_never_crash(tmp_path: Path, rows: list[list[Any]], header: bool) -> None:
    lines = ["date,open,high,low,close,volume"] if header else []
    lines += [",".join("" if c is None else str(c) for c in row) for row in rows]
    path = tmp_path / "BTC_USDT-1m.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    _load(path)


@FUZZ
@given(rows=ROWS, as_objects=st.booleans(), gz=st.booleans())
def test_random_json_rows_never_crash(
    tmp_path: Path, rows: list[list[Any]], as_objects: bool, gz: bool
) -> None:
    cols = ["date", "open", "high", "low", "close", "volume", "x", "y"]
    value: Any = [dict(zip(cols, r, strict=False)) for r in rows] if as_objects else rows
    data = _json(value).encode()
    path = tmp_path / ("BTC_USDT-1m.json.gz" if gz else "BTC_USDT-1m.json")
    path.write_bytes(gzip.compress(data) if gz else data)
    _load(path)


def _json(value: Any) -> str:
    import json

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v

    return json.dumps(clean(value))


@FUZZ
@given(
    n=st.integers(min_value=0, max_value=60),
    start=st.integers(min_value=-(10**13), max_value=10**13),
    step=st.sampled_from([0, 1, 1000, 60_000, 300_000, -60_000, 59_999]),
    jitter=st.lists(st.floats(min_value=-0.9, max_value=0.9), min_size=1, max_size=5),
    drop=st.sets(st.sampled_from(["open", "high", "low", "close", "volume"]), max_size=2),
)
def test_feather_files_with_odd_rows_never_crash(
    tmp_path: Path, n: int, start: int, step: int, jitter: list[float], drop: set[str]
) -> None:
    frame = pd.DataFrame(
        _plausible_rows(n, start, step, jitter),
        columns=["date", "open", "high", "low", "close", "volume"],
    ).drop(columns=sorted(drop))
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_feather(buffer)
    path = tmp_path / "BTC_USDT-1m.feather"
    path.write_bytes(buffer.getvalue())
    _load(path)


# -- /vibe ----------------------------------------------------------------------------------

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
WORDS = st.sampled_from(
    [
        "long",
        "short",
        "buy",
        "btc",
        "eth",
        "sol",
        "tight",
        "wide",
        "stop",
        "sl",
        "target",
        "tp",
        "take-profit",
        "at",
        "of",
        "%",
        "2%",
        "0.5%",
        "99999%",
        "0%",
        "1e9%",
        ",",
        "loose",
        "stop-loss",
        "profit",
        "dump",
        "ΒΤϹ",
        "\x00",
        "-1%",
    ]
)
VIBE_TEXT = st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=12).map(" ".join))
MARK = st.one_of(
    st.decimals(min_value=Decimal("-1"), max_value=Decimal("1e9"), allow_nan=False, places=8),
    st.just(Decimal(0)),
)


@FUZZ
@given(
    text=VIBE_TEXT,
    marks=st.dictionaries(st.sampled_from(SYMBOLS), MARK, max_size=3),
    profile=st.sampled_from(["conservative", "moderate", "aggressive"]),
    tick=st.sampled_from([Decimal("0.01"), Decimal("0.00000001"), Decimal(1), Decimal(100)]),
)
def test_the_vibe_parser_answers_a_proposal_or_a_sentence(
    text: str, marks: dict[str, Decimal], profile: str, tick: Decimal
) -> None:
    risk = get_profile(profile)
    try:
        proposal = parse(text, SYMBOLS, marks, risk, {s: tick for s in SYMBOLS})
    except RampartError as err:
        _assert_sentence(err)
        return
    assert isinstance(proposal, Proposal)
    assert proposal.side == "buy"
    assert risk.min_stop <= proposal.stop_pct <= risk.max_stop
    if proposal.entry >= 1000 * tick:  # a venue price has a few significant digits at least
        assert proposal.stop_loss < proposal.entry < proposal.take_profit


def test_a_price_of_a_few_ticks_gives_a_stop_below_the_entry_or_a_sentence() -> None:
    risk = get_profile("moderate")
    try:
        proposal = parse(
            "long btc", SYMBOLS, {"BTC/USDT": Decimal("0.02")}, risk, {"BTC/USDT": Decimal("0.01")}
        )
    except RampartError as err:
        assert "does not fit below the entry" in err.message
        return
    assert proposal.stop_loss < proposal.entry


# -- config ---------------------------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "mode",
        "api",
        "host",
        "port",
        "store",
        "url",
        "accounts",
        "id",
        "agent",
        "profile",
        "capital",
        "symbols",
        "feed",
        "telegram",
        "operator_ids",
        "max_body_bytes",
        "cors_origins",
        "backup",
        "every_hours",
        "profiles",
        "moderate",
        "risk_per_trade",
        "log_level",
        "unknown_key",
    ]
)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
YAML_VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


@FUZZ
@given(doc=st.dictionaries(KEYS, YAML_VALUE, max_size=5))
def test_random_yaml_settings_load_or_fail_in_a_sentence(tmp_path: Path, doc: dict) -> None:
    path = tmp_path / "rampart.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        load_settings(path)
    except RampartError as err:
        _assert_sentence(err)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_as_a_config_file_fails_in_a_sentence(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rampart.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path)
    except RampartError as err:
        _assert_sentence(err)


@pytest.mark.parametrize("payload", [b"\xff\xfe\x00bad", b"a: [1, 2\n", b"- just\n- a list\n"])
def test_config_files_that_are_not_settings(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "rampart.yaml"
    path.write_bytes(payload)
    with pytest.raises(RampartError) as caught:
        load_settings(path)
    _assert_sentence(caught.value)


@pytest.mark.parametrize(
    "text", ["?", "{?}", "~: 1\n", "1: x\n", "store:\n  null: 1\n", "accounts:\n- {2: x}\n"]
)
def test_a_setting_name_that_is_not_text_is_a_sentence(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rampart.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="setting names are words"):
        load_settings(path)


def test_a_lone_carriage_return_in_the_last_row_is_read_not_a_crash(tmp_path: Path) -> None:
    """Hypothesis found it: a bare \r inside the last line (no newline after it) made the
    truncation check's csv reader raise instead of the loader answering."""
    path = tmp_path / "BTC_USDT-1m.csv"
    path.write_text("1700000000000,1,1,1,1,1\n1700000060000,1,1\r0,1,1,1", encoding="utf-8")
    _load(path)
    path.write_text("date,open,high,low,close,volume\n\r0", encoding="utf-8")
    _load(path)
