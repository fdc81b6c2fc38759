"""How ``check-lookahead`` cuts an agent's declared files at a candle
(``rampart.research.cut_inputs``): by a time column in any of its spellings, by row when the
table has one row per candle, and what it cannot cut is said, never passed in silence."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rampart.domain.candles import Candle
from rampart.research.audit import Access
from rampart.research.cut_inputs import CutInputs, builder
from rampart.research.future_shift import Moved
from rampart.research.lookahead import Change, LookaheadReport
from rampart.research.signals import Decision

STEP = 300_000
T0 = 1_700_000_100_000


def _candles(n: int) -> list[Candle]:
    return [Candle("A/B", T0 + i * STEP, 1.0, 1.0, 1.0, 1.0, 1.0, STEP) for i in range(n)]


AGENT = """
from pathlib import Path


class Reader:
    name = "reader"
    warmup = 0
    files = {files!r}

    def __init__(self) -> None:
        self.here = Path(__file__).parent

    def update(self, candle):
        pass

    def decide(self, view):
        return []
"""


def _inputs(tmp_path: Path, files: Sequence[str], candles: list[Candle]) -> CutInputs:
    import importlib.util

    (tmp_path / "reader.py").write_text(AGENT.format(files=tuple(files)), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("reader_for_cut_test", tmp_path / "reader.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return CutInputs(module.Reader, builder("reader", {}), candles, tmp_path / "cuts")


def _rows_at(inputs: CutInputs, index: int, read: object) -> list[object]:
    """What the agent built from the copy cut at candle ``index`` finds in its file."""
    [table] = inputs.cuttable
    with inputs.factory(table, index) as factory:
        agent = factory(())
        found = read(agent.here / table.item.relative)  # type: ignore[operator]
        assert agent.here != inputs.tables[0].item.path.parent  # loaded from the copy
    assert not (inputs.tables[0].item.path.parent / "cuts").exists() or not any(
        (inputs.tables[0].item.path.parent / "cuts").iterdir()
    )  # the copy is gone once the block ends
    return list(found)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("column", "spell"),
    [
        ("date", lambda ms: pd.Timestamp(ms, unit="ms", tz="UTC")),
        ("timestamp", lambda ms: ms),
        ("ts", lambda ms: ms // 1000),
        ("Open_Time", lambda ms: ms * 1000),
    ],
    ids=["datetimes", "milliseconds", "seconds", "microseconds"],
)
def test_a_csv_is_cut_by_its_time_column_keeping_rows_up_to_the_candle(
    tmp_path: Path, column: str, spell: Callable[[int], object]
) -> None:
    # Rows every 5 minutes from 10 minutes before the first candle: candle 3 is row 5.
    frame = pd.DataFrame(
        {column: [spell(T0 + (i - 2) * STEP) for i in range(10)], "x": np.arange(10) + 0.1}
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    inputs = _inputs(tmp_path, ["data.csv"], _candles(8))
    assert [i.describe() for i in inputs.inputs] == [f"data.csv cut by its '{column}' column"]
    rows = _rows_at(inputs, 3, lambda p: pd.read_csv(p)["x"])
    assert rows == pytest.approx([i + 0.1 for i in range(6)])
    # The file's own text, byte for byte, up to the row kept.
    with inputs.factory(inputs.cuttable[0], 0) as factory:
        copy = factory(()).here / "data.csv"  # type: ignore[attr-defined]
        whole = (tmp_path / "data.csv").read_text().splitlines(keepends=True)
        assert copy.read_text() == "".join(whole[:4])


def test_feather_parquet_and_numpy_files_are_cut_too(tmp_path: Path) -> None:
    candles = _candles(6)
    stamps = pd.to_datetime([c.ts for c in candles], unit="ms", utc=True)
    frame = pd.DataFrame({"date": stamps, "x": np.arange(6.0)})
    frame.to_feather(tmp_path / "a.feather")
    frame.to_parquet(tmp_path / "b.parquet")
    np.save(tmp_path / "c.npy", np.arange(6.0) * 2)
    inputs = _inputs(tmp_path, ["a.feather", "b.parquet", "c.npy"], candles)
    assert [i.describe() for i in inputs.inputs] == [
        "a.feather cut by its 'date' column",
        "b.parquet cut by its 'date' column",
        "c.npy cut by row (one row per candle)",
    ]
    feather, parquet, numpy = inputs.cuttable
    originals = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for table, read in (
        (feather, lambda p: pd.read_feather(p)["x"]),
        (parquet, lambda p: pd.read_parquet(p)["x"]),
        (numpy, lambda p: np.load(p) / 2),
    ):
        with inputs.factory(table, 2) as factory:
            here = factory(()).here  # type: ignore[attr-defined]
            assert list(read(here / table.item.relative)) == [0.0, 1.0, 2.0]
            # The other tables are whole in the copy: only one is cut at a time.
            others = [t for t in inputs.cuttable if t is not table]
            assert all(
                (here / t.item.relative).read_bytes() == t.item.path.read_bytes() for t in others
            )
    # Cutting never writes through to the agent's own files.
    assert {p: p.read_bytes() for p in originals} == originals


def test_what_cannot_be_cut_is_said(tmp_path: Path) -> None:
    (tmp_path / "params.json").write_text(json.dumps({"bias": 1}))
    pd.DataFrame({"x": np.arange(4.0)}).to_csv(tmp_path / "short.csv", index=False)
    pd.DataFrame({"x": np.arange(5.0)}).to_csv(tmp_path / "rows.csv", index=False)
    inputs = _inputs(tmp_path, ["params.json", "short.csv", "rows.csv"], _candles(5))
    assert [i.describe() for i in inputs.inputs] == [
        "params.json was not cut (a .json file is no table Rampart can cut): its rows may carry "
        "the future",
        "rows.csv cut by row (one row per candle)",
        "short.csv was not cut (no time column (date, datetime, time, timestamp, ts, open_time) "
        "and 4 rows for 5 candles): its rows may carry the future",
    ]
    assert [t.item.name for t in inputs.cuttable] == ["rows.csv"]


QUIET = Decision(1, 10, (), ())


def _report(**fields: object) -> LookaheadReport:
    base: dict[str, object] = {"agent": "mine", "candles": 1_200, "signals": 4, "quiet_checked": 6}
    return LookaheadReport(**(base | fields))  # type: ignore[arg-type]


def test_the_verdict_names_the_file_that_carried_the_future() -> None:
    changes = (Change(QUIET, QUIET, "bars.csv"),) * 2 + (Change(QUIET, QUIET),)
    report = _report(changes=changes, inputs=("bars.csv cut by its 'date' column",))
    assert not report.ok
    assert report.sentence() == (
        "Lookahead: 1 of 4 signal candle(s) and 6 quiet one(s) changed when the rows after them "
        "were removed (bars.csv 2; the candles 1); the agent reads the future and its backtests "
        "cannot be trusted."
    )
    assert "with bars.csv cut at that candle it proposed nothing" in changes[0].describe()


def test_the_moved_market_alone_is_never_lookahead_it_depends_on_candle_times() -> None:
    moved = (Moved(QUIET, QUIET, 3),) * 2
    unnamed = _report(moved=moved)
    assert unnamed.ok and unnamed.sentence().startswith("No lookahead:")
    timed = _report(
        moved=moved,
        compared=1_200,
        lookups=("bars.csv's 'date' column",),
        inputs=("bars.csv cut by its 'date' column",),
    )
    assert timed.ok
    assert timed.sentence() == (
        "No lookahead: 4 signal candle(s) and 6 quiet one(s) re-computed on data cut at each "
        "(and with each declared file cut: bars.csv cut by its 'date' column) gave the same "
        "decision; 2 candle(s) decided differently with every price doubled and the times "
        "moved: its decisions depend on candle times (it looks up bars.csv's 'date' column by "
        "time), which is not lookahead."
    )
    # A read outside its view is a finding whatever its lookups explain.
    assert not _report(
        moved=moved, lookups=("bars.csv",), accesses=(Access("clock", "t", "a", 1),)
    ).ok
