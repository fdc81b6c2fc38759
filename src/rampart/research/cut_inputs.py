"""An agent's declared inputs cut at a candle, for the lookahead check.

Cutting the candles handed to an agent catches a peek at them; an agent that computes its
signal from a file it declares (``files``) — a column shifted back a row, a z-score over the
whole file, a model fitted on every row — decides the same on cut candles, because its file is
still whole. So for each candle the check judges, the agent is also built with **each declared
table cut at that candle**: a copy of its code and files in a folder of the check's own, where
that one file holds only the rows up to the candle, and the agent loaded from the copy (its
``Path(__file__)`` is the copy's). An honest agent reading rows up to the candle decides the
same; one whose signal at the candle came from later rows decides differently, and the file is
named.

A table is cut by its time column (``date``, ``datetime``, ``time``, ``timestamp``, ``ts`` or
``open_time``: datetimes, or numbers in seconds or milliseconds since 1970), keeping the rows
stamped at or before the candle's open (a row stamped with a candle's open time is that
candle); without one, by position, when it has one row per candle handed (rows up to the
candle's). Tables are CSV, TSV, Feather and Parquet files, and NumPy ``.npy`` arrays (by
position). What cannot be cut (another format, a table without a time column whose rows are
not the candles) is said, never silently passed: its rows may carry the future.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rampart.agents.base import Agent
from rampart.agents.fingerprint import agent_files, module_file
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError

TIME_COLUMNS = ("date", "datetime", "time", "timestamp", "ts", "open_time")
TABLES = (".csv", ".tsv", ".feather", ".parquet", ".npy")
_MS_ABOVE = 10**11
"""Numbers above this are milliseconds since 1970 (10**11 s is the year 5138)."""
_US_ABOVE = 10**14
_count = itertools.count()

Build = Callable[[type], Agent]
"""Builds an agent of the class it is handed (the copy's), with the checked parameters."""


@dataclass(frozen=True, slots=True)
class Input:
    """A declared file, and how it is cut."""

    path: Path
    relative: Path
    """Where it sits under the copy's root."""
    column: str | None
    """Its time column; None when it is cut by position or not at all."""
    by_position: bool
    why: str
    """Why it cannot be cut (empty when it can)."""

    @property
    def cut(self) -> bool:
        return not self.why

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> str:
        if self.why:
            return f"{self.name} was not cut ({self.why}): its rows may carry the future"
        if self.column is not None:
            return f"{self.name} cut by its '{self.column}' column"
        return f"{self.name} cut by row (one row per candle)"


def _ms(values: Any) -> np.ndarray | None:
    """Milliseconds since 1970 of a time column, or None when it holds no times."""
    import pandas as pd

    series = pd.Series(values)
    try:
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            numbers = series.astype("float64").to_numpy()
            top = np.nanmax(np.abs(numbers)) if len(numbers) else 0.0
            scale = 1e-3 if top > _US_ABOVE else 1.0 if top > _MS_ABOVE else 1e3
            return numbers * scale
        stamps = pd.to_datetime(series, utc=True)
    except (ValueError, TypeError, OverflowError):
        return None
    epoch = pd.Timestamp(0, tz="UTC")
    return ((stamps - epoch) / pd.Timedelta(milliseconds=1)).to_numpy(dtype="float64")


def _frame(path: Path) -> Any:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if suffix == ".feather":
        return pd.read_feather(path)
    return pd.read_parquet(path)


def _time_column(frame: Any) -> tuple[str, np.ndarray] | None:
    for column in frame.columns:
        if str(column).lower() in TIME_COLUMNS:
            stamps = _ms(frame[column])
            if stamps is not None:
                return str(column), stamps
    index = frame.index
    if str(index.name or "").lower() in TIME_COLUMNS or str(index.dtype).startswith("datetime"):
        stamps = _ms(index)
        if stamps is not None:
            return str(index.name or "index"), stamps
    return None


class Table:
    """One declared table, read once, written cut as often as asked."""

    def __init__(self, item: Input, stamps: np.ndarray | None, rows: int) -> None:
        self.item = item
        self.stamps = stamps
        self.rows = rows
        self._text: list[str] | None = None

    def keep(self, candles: Sequence[Candle], index: int) -> np.ndarray:
        """Which rows are known at candle ``index``."""
        if self.stamps is not None:
            return self.stamps <= candles[index].ts
        return np.arange(self.rows) <= index

    def write(self, to: Path, keep: np.ndarray) -> None:
        source = self.item.path
        suffix = source.suffix.lower()
        if suffix == ".npy":
            np.save(to, np.load(source, allow_pickle=False)[keep])
            return
        if suffix in (".csv", ".tsv"):
            lines = self._lines()
            prefix = int(keep.sum())
            if len(lines) == self.rows + 1 and bool(keep[:prefix].all()):
                # The file's own text, header and first rows: every value as it was written.
                to.write_text("".join(lines[: prefix + 1]), encoding="utf-8")
                return
            frame = _frame(source)
            frame[keep].to_csv(to, index=False, sep="\t" if suffix == ".tsv" else ",")
            return
        import pyarrow as pa

        if suffix == ".feather":
            from pyarrow import feather

            feather.write_feather(feather.read_table(source).filter(pa.array(keep)), to)
            return
        from pyarrow import parquet

        parquet.write_table(parquet.read_table(source).filter(pa.array(keep)), to)

    def _lines(self) -> list[str]:
        if self._text is None:
            self._text = [
                line
                for line in self.item.path.read_text(encoding="utf-8").splitlines(keepends=True)
                if line.strip()
            ]
        return self._text


def _table(path: Path, relative: Path, candles: int) -> Table:
    suffix = path.suffix.lower()

    def refused(why: str) -> Table:
        return Table(Input(path, relative, None, False, why), None, 0)

    if suffix not in TABLES:
        return refused(f"a {suffix or 'file without a suffix'} file is no table Rampart can cut")
    try:
        if suffix == ".npy":
            rows = len(np.load(path, allow_pickle=False))
            found = None
        else:
            frame = _frame(path)
            rows, found = len(frame), _time_column(frame)
    except Exception as exc:  # the agent's file, in any state: said, never a traceback
        return refused(f"it could not be read as a table: {type(exc).__name__}")
    if found is not None:
        return Table(Input(path, relative, found[0], False, ""), found[1], rows)
    if rows == candles:
        return Table(Input(path, relative, None, True, ""), None, rows)
    return refused(
        f"no time column ({', '.join(TIME_COLUMNS)}) and {rows:,} rows for {candles:,} candles"
    )


class CutInputs:
    """The declared inputs of the agent class ``cls`` and agents built with each cut."""

    def __init__(
        self,
        cls: type,
        build: Build,
        candles: Sequence[Candle],
        where: Path,
        adopt: Callable[[str], None] | None = None,
    ) -> None:
        """``build``: an agent of a class (the copy's) with the check's parameters. ``where``:
        the folder copies are written in. ``adopt``: told of each copy's folder (the sandbox
        counts its files as the agent's own code and files)."""
        base = next(c for c in cls.__mro__ if "_completed" not in c.__qualname__)
        files = agent_files(base)
        self._home = module_file(base)
        self._package = files.package
        self._attr = base.__name__
        self._build = build
        self._candles = candles
        self._where = where
        self._adopt = adopt
        declared = [p for p in files.declared if p.is_file()]
        self._root = self._common_root(declared)
        self.tables = tuple(_table(p, p.relative_to(self._root), len(candles)) for p in declared)

    def _common_root(self, declared: list[Path]) -> Path:
        own = self._package.parent if self._package else (self._home or Path.cwd()).parent
        folders = [str(own), *(str(p.parent) for p in declared)]
        return Path(os.path.commonpath(folders))

    @property
    def inputs(self) -> tuple[Input, ...]:
        return tuple(t.item for t in self.tables)

    @property
    def cuttable(self) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.item.cut and self._home is not None)

    @contextlib.contextmanager
    def factory(self, table: Table, index: int) -> Iterator[Callable[[Sequence[Candle]], Agent]]:
        """A factory of agents loaded from a copy in which ``table`` holds only the rows
        known at candle ``index``; the copy is gone when the block ends."""
        n = next(_count)
        folder = self._where / f"cut-{n}"
        alias = f"rampart_cut_{n}"
        try:
            self._copy(folder, table.item.path)
            target = folder / table.item.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            table.write(target, table.keep(self._candles, index))
            if self._adopt is not None:
                self._adopt(str(folder))
            cls = self._load(folder, alias)
            yield lambda _visible: self._build(cls)
        finally:
            for name in [m for m in sys.modules if m == alias or m.startswith(alias + ".")]:
                del sys.modules[name]
            shutil.rmtree(folder, ignore_errors=True)

    def _file(self) -> Path:
        if self._home is None:
            raise ConfigError(f"{self._attr}: the file defining it is not known, so it is not cut")
        return self._home

    def _copy(self, folder: Path, cut: Path) -> None:
        """The agent's code copied (its ``__file__`` is the copy's) and its other files linked
        (weights need no copy per candle); ``cut`` is left for the cut table."""
        home = self._file()
        sources = [p for p in self._package.rglob("*") if p.is_file()] if self._package else [home]
        for source in {*sources, *(t.item.path for t in self.tables)}:
            if source == cut:
                continue
            target = folder / source.relative_to(self._root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".py":
                shutil.copyfile(source, target)
                continue
            try:
                target.symlink_to(source)
            except OSError:
                shutil.copyfile(source, target)

    def _load(self, folder: Path, alias: str) -> type:
        if self._package is None:
            module = _exec(alias, folder / self._file().relative_to(self._root))
        else:
            top = folder / self._package.relative_to(self._root)
            _exec(alias, top / "__init__.py", [str(top)])
            # The module's place in its package, from its file (a file spec loads it by path).
            parts = self._file().relative_to(self._package).with_suffix("").parts
            rest = ".".join(p for p in parts if p != "__init__")
            module = importlib.import_module(f"{alias}.{rest}" if rest else alias)
        from rampart.agents.plugins import _completed

        found: type = getattr(module, self._attr)
        return _completed(found)


def _exec(name: str, path: Path, search: list[str] | None = None) -> Any:
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=search)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def builder(spec: str, params: Mapping[str, Any]) -> Build:
    """Builds an agent of a class with ``params`` checked against its space (as the engine
    builds a custom agent)."""

    def build(cls: type) -> Agent:
        space = getattr(cls, "space", None)
        checked = space.check(spec, dict(params)) if space is not None else {}
        agent: Agent = cls(**checked)
        return agent

    return build
