"""The ``--calls`` benches count every Python call: each dataclass's
generated ``__init__`` is ``<string>:1(__init__)``, which ``pstats``' table keeps only one of."""

from __future__ import annotations

import cProfile
import pstats
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from _util import call_counts  # noqa: E402  (bench/ is not a package)


@dataclass
class _Fill:
    qty: int


@dataclass
class _Order:
    qty: int


def _build(n: int) -> None:
    for i in range(n):
        _Fill(i)
        _Order(i)
        _Order(i)


def test_every_generated_init_is_counted_where_pstats_keeps_one() -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    _build(10)
    profiler.disable()
    python, builtin = call_counts(profiler)
    # _build once, ten _Fill.__init__, twenty _Order.__init__.
    assert python == 1 + 10 + 20
    assert builtin >= 1  # range, and the profiler's own disable
    by_label = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    kept = sum(v[0] for k, v in by_label.items() if k[0] != "~")
    assert kept < python  # the sum the benches used before: one of the two inits dropped
