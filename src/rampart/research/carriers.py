"""What carried a finding: the agent's attributes, by name.

Two questions the lookahead check asks of an agent's attributes (on the instance, its own
classes, and its own modules' globals):

- **which attributes hold values that a cut changes** — an agent built with every candle (or
  its declared file whole) and one built with them cut at a candle are compared, attribute by
  attribute, right after they are built: values both hold at the same key or position that
  differ (a z-score of a row that later rows moved) carried the future; failing those, the
  attributes that differ at all (a lookup of the next close, one row longer);
- **which attributes are looked up by candle times** — containers keyed by the candles' open
  or close times (a dict by timestamp, a pandas table indexed by time or with a time column):
  on the moved market, whose times are weeks later, such lookups miss, so the agent decides
  apart there without reading any future.

Only plain values are compared (numbers, strings, lists, tuples, dicts, NumPy arrays, pandas
series and tables); another object (a fitted model) is compared through its own attributes,
one level down.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from rampart.domain.candles import Candle
from rampart.research.carried_state import _own_classes, _plain

SAMPLE = 200
"""Keys of a container sampled when looking for candle times."""
_TIME_COLUMNS = ("date", "datetime", "time", "timestamp", "ts", "open_time", "close_time")


def _named(agent: object, code: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """Every attribute of the agent, its own classes and its own modules, by a readable name."""
    cls = type(agent)
    own = _own_classes(cls, code)
    label = next((c.__name__ for c in own), cls.__name__)
    for name, value in getattr(agent, "__dict__", {}).items():
        if _plain(name, value):
            yield f"{label}.{name}", value
    for klass in own:
        for name, value in vars(klass).items():
            if _plain(name, value):
                yield f"{klass.__name__}.{name}", value
    modules = {klass.__module__: sys.modules.get(klass.__module__) for klass in own}
    for module in modules.values():
        if module is None:
            continue
        stem = Path(str(module.__file__)).stem
        for name, value in list(vars(module).items()):
            if _plain(name, value) and not name.startswith("_"):
                yield f"{stem}.{name}", value


def _equal(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
        if hasattr(a, "equals") and type(a) is type(b):
            return bool(a.equals(b))
        result = a == b
        if isinstance(result, bool):
            return result or (a != a and b != b)  # NaN is NaN
        return bool(np.all(result))
    except Exception:  # values that cannot be compared: not a difference the check can name
        return True


def _shared_differs(full: Any, cut: Any) -> bool | None:
    """Whether values both hold at the same key or position differ (None: not comparable)."""
    if isinstance(full, dict) and isinstance(cut, dict):
        return any(not _equal(full[k], cut[k]) for k in cut if k in full)
    if isinstance(full, list | tuple) and isinstance(cut, list | tuple):
        n = min(len(full), len(cut))
        return any(not _equal(x, y) for x, y in zip(full[:n], cut[:n], strict=True))
    if isinstance(full, np.ndarray) and isinstance(cut, np.ndarray):
        if full.ndim == 0 or cut.ndim == 0:
            return not _equal(full, cut)
        n = min(len(full), len(cut))
        return not _equal(full[:n], cut[:n])
    if hasattr(full, "index") and hasattr(full, "loc") and type(full) is type(cut):
        shared = full.index.intersection(cut.index)
        return not _equal(full.loc[shared], cut.loc[shared])
    if isinstance(full, int | float | str | bytes | bool | complex | type(None)):
        return not _equal(full, cut)
    return None


def _attributes(value: Any) -> dict[str, Any]:
    return {k: v for k, v in getattr(value, "__dict__", {}).items() if _plain(k, v)}


def differing(full: object, cut: object, code: Iterable[str]) -> tuple[str, ...]:
    """The attributes of ``full`` (built with every row) whose values known at the candle differ
    in ``cut`` (built with the rows up to it); failing those, the ones that differ at all."""
    theirs = dict(_named(cut, code))
    shared: list[str] = []
    apart: list[str] = []
    for name, value in _named(full, code):
        if name not in theirs:
            continue
        other = theirs[name]
        pairs = [(name, value, other)]
        if _shared_differs(value, other) is None:  # an object of its own: one level down
            inner, outer = _attributes(value), _attributes(other)
            pairs = [(f"{name}.{k}", v, outer[k]) for k, v in inner.items() if k in outer]
        for label, a, b in pairs:
            if _paths(a, b):
                continue  # a path to the agent's own files: the copy's is elsewhere
            found = _shared_differs(a, b)
            if found:
                shared.append(label)
            elif found is not None and not _equal_size(a, b):
                apart.append(label)
    return tuple(shared or apart)


def _paths(a: Any, b: Any) -> bool:
    return (
        isinstance(a, str | PurePath)
        and isinstance(b, str | PurePath)
        and (os.sep in str(a) or os.sep in str(b))
    )


def _equal_size(a: Any, b: Any) -> bool:
    try:
        return len(a) == len(b)
    except TypeError:
        return True


def _stamps(candles: Sequence[Candle]) -> tuple[set[int], set[int]]:
    """The candles' open and close times, in milliseconds and in seconds."""
    ms = {c.ts for c in candles} | {c.close_ts for c in candles}
    return ms, {t // 1000 for t in ms}


def _as_ms(key: Any) -> int | None:
    if isinstance(key, datetime):
        return int(key.timestamp() * 1000)
    if hasattr(key, "value") and hasattr(key, "tz_localize"):  # a pandas Timestamp
        return int(key.value // 1_000_000)
    if isinstance(key, int | float | np.integer | np.floating) and not isinstance(key, bool):
        return int(key)
    return None


def _keyed(keys: Iterable[Any], ms: set[int], seconds: set[int]) -> bool:
    for n, key in enumerate(keys):
        if n >= SAMPLE:
            break
        stamp = _as_ms(key)
        if stamp is not None and (stamp in ms or stamp in seconds):
            return True
    return False


def _time_keys(value: Any) -> Iterator[Iterable[Any]]:
    if isinstance(value, dict):
        yield value.keys()
    index = getattr(value, "index", None)
    if index is not None and hasattr(value, "loc"):
        yield index
        for column in getattr(value, "columns", ()):
            if str(column).lower() in _TIME_COLUMNS:
                yield value[column]


def time_keyed(agent: object, candles: Sequence[Candle], code: Iterable[str]) -> tuple[str, ...]:
    """The agent's attributes looked up by candle times (keyed or indexed by them)."""
    ms, seconds = _stamps(candles)
    out = []
    for name, value in _named(agent, code):
        if _looked_up(value, ms, seconds):
            out.append(name)
    return tuple(dict.fromkeys(out))


def _looked_up(value: Any, ms: set[int], seconds: set[int]) -> bool:
    try:
        return any(_keyed(keys, ms, seconds) for keys in _time_keys(value))
    except Exception:  # a container of the agent's own, in any state: not named
        return False
