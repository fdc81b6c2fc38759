"""Cutting an agent's declared tables at a candle, piece by piece
(``rampart.research.cut_inputs``): time columns in every form read as milliseconds (the
seconds/milliseconds/microseconds boundaries, naive and zoned strings, a table's time index),
CSV and TSV text kept as written when the kept rows are a prefix and rewritten when they are not,
what cannot be cut said in words, and an agent in a package loaded from the copy."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rampart.agents.space import ParamSpace, int_param
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.research.cut_inputs import CutInputs, Input, _ms, _table, builder

STEP = 300_000
T0 = 1_700_000_100_000


def _candles(n: int) -> list[Candle]:
    return [Candle("A/B", T0 + i * STEP, 1.0, 1.0, 1.0, 1.0, 1.0, STEP) for i in range(n)]


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_numbers_are_read_as_seconds_milliseconds_or_microseconds_at_the_boundaries() -> None:
    assert list(_ms(pd.Series([10**11]))) == [1e14]  # 10**11 is still seconds
    assert list(_ms(pd.Series([10**11 + 1]))) == [float(10**11 + 1)]
    assert list(_ms(pd.Series([10**14]))) == [1e14]  # 10**14 is still milliseconds
    assert list(_ms(pd.Series([10**14 + 1000]))) == [pytest.approx(1e11 + 1)]
    assert list(_ms(pd.Series([T0 // 1000, T0 // 1000 + 300]))) == [T0, T0 + STEP]
    empty = _ms(pd.Series([], dtype="int64"))
    assert empty is not None and len(empty) == 0
    assert _ms(pd.Series([True, False])) is None  # flags are no times
    assert _ms(pd.Series(["up", "down"])) is None


def test_strings_naive_or_zoned_are_read_as_utc_instants() -> None:
    naive = _ms(pd.Series(["2023-11-14 22:15:00", "2023-11-14 22:20:00"]))
    assert naive is not None and list(naive) == [T0, T0 + STEP]
    zoned = _ms(pd.Series(["2023-11-14T23:15:00+01:00", "2023-11-14T22:20:00Z"]))
    assert zoned is not None and list(zoned) == [T0, T0 + STEP]


def _inputs(tmp_path: Path, files: tuple[str, ...], n: int) -> CutInputs:
    (tmp_path / "reader.py").write_text(
        textwrap.dedent(
            f"""
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
        ),
        encoding="utf-8",
    )
    spec = importlib.util.spec_from_file_location("reader_for_units", tmp_path / "reader.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return CutInputs(module.Reader, builder("reader", {}), _candles(n), tmp_path / "cuts")


def _cut_text(inputs: CutInputs, name: str, index: int) -> str:
    [table] = [t for t in inputs.cuttable if t.item.name == name]
    with inputs.factory(table, index) as factory:
        return (factory(()).here / table.item.relative).read_text(encoding="utf-8")  # type: ignore[attr-defined]


def test_a_tables_time_index_cuts_it(tmp_path: Path) -> None:
    stamps = pd.to_datetime([T0 + i * STEP for i in range(4)], unit="ms", utc=True)
    pd.DataFrame({"x": np.arange(4.0)}, index=stamps).to_parquet(tmp_path / "plain.parquet")
    named = pd.DataFrame(
        {"x": np.arange(4.0)}, index=pd.Index([T0 + i * STEP for i in range(4)], name="TS")
    )
    named.to_parquet(tmp_path / "named.parquet")
    inputs = _inputs(tmp_path, ("plain.parquet", "named.parquet"), 6)
    assert [i.describe() for i in inputs.inputs] == [
        "named.parquet cut by its 'TS' column",
        "plain.parquet cut by its 'index' column",
    ]
    for table in inputs.cuttable:
        assert list(table.keep(_candles(6), 1)) == [True, True, False, False]


def test_a_tsv_is_read_and_cut_by_tabs(tmp_path: Path) -> None:
    rows = "".join(f"{T0 + i * STEP}\t{i}.50\n" for i in range(4))
    (tmp_path / "bars.tsv").write_text("ts\tx\n" + rows, encoding="utf-8")
    inputs = _inputs(tmp_path, ("bars.tsv",), 6)
    assert [i.describe() for i in inputs.inputs] == ["bars.tsv cut by its 'ts' column"]
    assert _cut_text(inputs, "bars.tsv", 1) == "".join(
        ("ts\tx\n" + rows).splitlines(keepends=True)[:3]
    )


def test_kept_rows_as_written_and_rewritten_when_not_a_prefix(tmp_path: Path) -> None:
    # Values in a spelling pandas would not write back (1.50, 2e3): a prefix is the file's text.
    text = "ts,x\n" + "".join(f"{T0 + i * STEP},{v}\n" for i, v in enumerate(("1.50", "2e3", "3")))
    (tmp_path / "bars.csv").write_text(text, encoding="utf-8")
    # Rows out of time order: the kept rows are no prefix, so the table is written anew.
    late_first = "ts,x\n" + f"{T0 + 2 * STEP},7\n{T0},5\n{T0 + STEP},6\n"
    (tmp_path / "shuffled.csv").write_text(late_first, encoding="utf-8")
    (tmp_path / "shuffled.tsv").write_text(late_first.replace(",", "\t"), encoding="utf-8")
    inputs = _inputs(tmp_path, ("bars.csv", "shuffled.csv", "shuffled.tsv"), 5)
    assert _cut_text(inputs, "bars.csv", 1) == "".join(text.splitlines(keepends=True)[:3])
    assert _cut_text(inputs, "shuffled.csv", 0) == f"ts,x\n{T0},5\n"
    assert _cut_text(inputs, "shuffled.tsv", 1) == f"ts\tx\n{T0}\t5\n{T0 + STEP}\t6\n"


def test_a_feather_table_is_written_cut(tmp_path: Path) -> None:
    frame = pd.DataFrame({"ts": [T0 + i * STEP for i in range(4)], "x": np.arange(4.0)})
    frame.to_feather(tmp_path / "bars.feather")
    table = _table(tmp_path / "bars.feather", Path("bars.feather"), 4)
    table.write(tmp_path / "cut.feather", table.keep(_candles(4), 2))
    assert list(pd.read_feather(tmp_path / "cut.feather")["x"]) == [0.0, 1.0, 2.0]


def test_what_cannot_be_cut_says_why_and_is_cut_neither_by_column_nor_row(tmp_path: Path) -> None:
    (tmp_path / "weights").write_bytes(b"\x00\x01")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    pd.DataFrame({"x": [1.0, 2.0]}).to_csv(tmp_path / "rows.csv", index=False)
    pd.DataFrame({"ts": [T0, T0 + STEP], "x": [1.0, 2.0]}).to_csv(
        tmp_path / "timed.csv", index=False
    )
    found = {
        p: _table(tmp_path / p, Path(p), 2).item
        for p in ("weights", "empty.csv", "rows.csv", "timed.csv")
    }
    assert found["weights"] == Input(
        tmp_path / "weights",
        Path("weights"),
        None,
        False,
        "a file without a suffix file is no table Rampart can cut",
    )
    assert found["empty.csv"] == Input(
        tmp_path / "empty.csv",
        Path("empty.csv"),
        None,
        False,
        "it could not be read as a table: EmptyDataError",
    )
    assert found["rows.csv"] == Input(tmp_path / "rows.csv", Path("rows.csv"), None, True, "")
    assert found["timed.csv"] == Input(tmp_path / "timed.csv", Path("timed.csv"), "ts", False, "")


PACKAGE_AGENT = """
from pathlib import Path

from rampart.agents.space import ParamSpace, int_param

from ..helper import SCALE


class Reader:
    name = "reader"
    warmup = 0
    files = ("data/bars.csv", "data/other.csv")
    space = ParamSpace((int_param("n", 1, 1, 5),))

    def __init__(self, n: int = 1) -> None:
        self.n = n * SCALE
        self.data = Path(__file__).parent / "data"

    def update(self, candle):
        pass

    def decide(self, view):
        return []
"""


PACKAGE = "rampart_cut_inputs_test_pkg"


def _package(tmp_path: Path, agent_in_init: bool) -> type:
    # A name no other test imports: a package of the same name left in sys.modules by another
    # test in this worker would be found instead of this one.
    top = tmp_path / PACKAGE
    # The tables sit beside the agent's module, below its package's top.
    data = top / "data" if agent_in_init else top / "agents" / "data"
    data.mkdir(parents=True)
    (top / "agents").mkdir(exist_ok=True)
    (top / "helper.py").write_text("SCALE = 10\n", encoding="utf-8")
    (top / "__init__.py").write_text("", encoding="utf-8")
    body = PACKAGE_AGENT.replace("..helper", ".helper")
    if agent_in_init:
        (top / "__init__.py").write_text(body, encoding="utf-8")
    else:
        (top / "agents" / "__init__.py").write_text("", encoding="utf-8")
        (top / "agents" / "reader.py").write_text(PACKAGE_AGENT, encoding="utf-8")
    for name in ("bars.csv", "other.csv"):
        text = "ts,x\n" + "".join(f"{T0 + i * STEP},{i}\n" for i in range(4))
        (data / name).write_text(text, encoding="utf-8")
    import sys

    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()  # the folder is new: the path finders must look again
    try:
        module = importlib.import_module(PACKAGE if agent_in_init else f"{PACKAGE}.agents.reader")
        return module.Reader  # type: ignore[no-any-return]
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.mark.parametrize("agent_in_init", [False, True], ids=["submodule", "package-init"])
def test_an_agent_in_a_package_is_loaded_from_the_copy_with_its_file_cut(
    tmp_path: Path, agent_in_init: bool
) -> None:
    cls = _package(tmp_path, agent_in_init)
    adopted: list[str] = []
    inputs = CutInputs(
        cls, builder("reader", {"n": 3}), _candles(4), tmp_path / "cuts", adopted.append
    )
    assert [i.describe() for i in inputs.inputs] == [
        "bars.csv cut by its 'ts' column",
        "other.csv cut by its 'ts' column",
    ]
    bars = inputs.cuttable[0]
    with inputs.factory(bars, 1) as factory:
        agent = factory(())
        copy = Path(adopted[-1])
        assert agent.data.is_relative_to(copy)  # type: ignore[attr-defined]
        assert agent.n == 30  # type: ignore[attr-defined]  # its parameters, its helper
        assert list(pd.read_csv(agent.data / "bars.csv")["x"]) == [0, 1]  # type: ignore[attr-defined]
        other = agent.data / "other.csv"  # type: ignore[attr-defined]
        assert other.is_symlink() and len(pd.read_csv(other)) == 4  # linked whole, not copied
        code = next(copy.rglob("helper.py"))
        assert code.is_file() and not code.is_symlink()
    assert not copy.exists()
    assert not any(m.startswith("rampart_cut_") for m in __import__("sys").modules)


def test_the_builder_checks_parameters_against_the_agents_space() -> None:
    class Sized:
        space = ParamSpace((int_param("n", 1, 1, 5),))

        def __init__(self, n: int = 1) -> None:
            self.n = n

    class Bare:
        def __init__(self, n: int = 1) -> None:
            self.n = n

    assert builder("sized", {"n": 4})(Sized).n == 4  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="Agent 'sized' has no parameter 'm'"):
        builder("sized", {"m": 4})(Sized)
    assert builder("bare", {"n": 4})(Bare).n == 1  # type: ignore[attr-defined]  # no space: no parameters
