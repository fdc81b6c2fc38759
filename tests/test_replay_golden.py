"""Golden outputs of ``rampart replay``: trades, orders, fills, every stored row and
the final equity of replays of real candle files, recorded before the replay path was made
faster, must come out byte for byte the same.

The golden files live in ``tests/golden/<file>/``: ``trades.csv`` and ``summary.json`` as the
replay writes them, ``equity.csv.gz`` (the curve) and ``db.jsonl.gz`` (every table's rows,
sorted, surrogate ``id`` columns left out, the audit log and order transitions as a count
and a digest so that the order rows are written in does not
matter). Record them again, only for a change that is meant to change results, with
``.venv/bin/python -m tests.test_replay_golden``.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.wiring.replay import run_replay

from .conftest import SHARED_DATA

GOLDEN = Path(__file__).parent / "golden"
# Three formats and shapes: Arrow 5m candles quoted in ETH (an open position at the end), a
# perpetual in USDT, and 1m JSON rows with 538 gaps (the loader's repairs) and 7,000 orders.
FILES = ("XRP_ETH-5m.feather", "XRP_USDT-5m.feather", "ETC_BTC-1m.json")
SKIPPED_TABLES = {"alembic_version"}
# Large and of little use to read when they differ: only their row count and digest are kept.
DIGESTED_TABLES = {"audit_log", "order_transitions"}


def _db_dump(db: Path) -> str:
    """Every table's rows as JSON lines, sorted, without surrogate ``id`` columns."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")
        ]
        out = io.StringIO()
        for table in tables:
            if table in SKIPPED_TABLES:
                continue
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            rows = [
                json.dumps(
                    {n: v for n, v in zip(names, row, strict=True) if n != "id"}, sort_keys=True
                )
                for row in cursor
            ]
            rows.sort()
            if table in DIGESTED_TABLES:
                digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
                out.write(f"{table}\t{len(rows)} rows, sha256 {digest}\n")
                continue
            for line in rows:
                out.write(f"{table}\t{line}\n")
        return out.getvalue()
    finally:
        conn.close()


def replay_outputs(name: str, out_dir: Path) -> dict[str, str]:
    """Replay ``name`` as ``rampart replay --data NAME --no-chart`` does; its outputs as text."""
    from rampart.cli.replay import _parse_capital

    result = asyncio.run(
        run_replay(
            SHARED_DATA / name,
            "trend",
            "moderate",
            _parse_capital("10000"),
            load_settings(),
            out_dir=out_dir,
            chart=False,
        )
    )
    assert result.interrupted is None
    summary = json.dumps(result.summary.as_dict(), indent=2, sort_keys=True) + "\n"
    return {
        "trades.csv": result.trades_csv.read_text(),
        "summary.json": summary,
        "equity.csv.gz": result.equity_csv.read_text(),
        "db.jsonl.gz": _db_dump(out_dir / "replay.db"),
    }


def _first_difference(name: str, expected: str, got: str) -> str:
    want, have = expected.splitlines(), got.splitlines()
    for i, (a, b) in enumerate(zip(want, have, strict=False)):
        if a != b:
            return f"{name} line {i + 1} differs:\n  golden: {a[:400]}\n  now:    {b[:400]}"
    return f"{name}: golden has {len(want)} lines, now {len(have)}"


def _read(path: Path) -> str:
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode()
    return path.read_text()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
    else:
        path.write_text(text)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real candles not found at {SHARED_DATA}")
@pytest.mark.parametrize("name", FILES)
def test_replay_matches_its_golden_outputs(name: str, tmp_path: Path) -> None:
    outputs = replay_outputs(name, tmp_path)
    for file, got in outputs.items():
        expected = _read(GOLDEN / Path(name).stem / file)
        assert got == expected, _first_difference(file, expected, got)


def record() -> None:
    import tempfile

    for name in FILES:
        with tempfile.TemporaryDirectory() as tmp:
            for file, text in replay_outputs(name, Path(tmp)).items():
                _write(GOLDEN / Path(name).stem / file, text)
        print(f"recorded {name}", file=sys.stderr)


if __name__ == "__main__":
    record()
