"""Which candle files a replay runs: each one given, or every one in a folder, no two under
one name (each file's name becomes its account and output folder)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rampart.domain.errors import ConfigError, DataError
from rampart.market.naming import FILE_SUFFIXES, parse_name, stem_of


def candle_files(paths: Sequence[Path]) -> list[Path]:
    """The files to replay: each path given, or every candle file (sorted) in a directory."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and p.name.lower().endswith(FILE_SUFFIXES)
                and all(parse_name(p))  # names a symbol and a timeframe: candles, not trades
            )
            if not found:
                raise DataError(
                    f"{path} holds no candle file named like BTC_USDT-1m.json (symbol and "
                    "timeframe in the name)."
                )
            files.extend(found)
        else:
            files.append(path)
    check_names(files)
    return files


def check_names(files: Sequence[Path]) -> None:
    """Each file's name becomes its account and output folder, so no two may share one."""
    if not files:
        raise ConfigError("Give at least one candle file with --data.")
    stems: dict[str, Path] = {}
    for path in files:
        stem = stem_of(path)
        if stem in stems:
            raise ConfigError(
                f"{stems[stem]} and {path} would both be replayed as {stem}; give each file once."
            )
        stems[stem] = path
