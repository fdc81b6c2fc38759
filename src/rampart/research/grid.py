"""``rampart optimize --grid``: every setting of a searched space, each traded once per fold.

A sampler draws some settings and may miss the best: on an EMA pair's 8,526 settings, a few
dozen draws land far down the ranking. A grid trades them all, in a fixed order, with the same
folds, the same costs and the same overfitting figures: PBO over every setting's returns and a
deflated Sharpe ratio deflated by the number of settings traded. It covers the spaces that list
their values: whole numbers, choices, and numbers searched on a ``step``. A parameter declared
``above`` another is taken only above it (trend's ``slow`` above ``fast``), as the sampler
draws it. A number without a step has no list of values and is refused in a sentence, as is a
grid too large to trade.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from rampart.agents.space import Param
from rampart.domain.errors import ConfigError

GRID_LIMIT = 100_000
"""The most settings a grid trades per fold."""

Point = dict[str, Any]


def values_of(param: Param) -> list[Any]:
    """Every value of ``param`` a grid trades, in order, in the parameter's own type."""
    if param.kind == "choice":
        return list(param.choices)
    if param.kind == "int":
        return list(range(int(param.low), int(param.high) + 1))
    if param.step is None or param.step <= 0:
        raise ConfigError(
            f"--grid trades listed values, and '{param.name}' ({param.describe()}) has no step: "
            f"fix it (--fix {param.name}=VALUE) or search it without --grid."
        )
    count = math.floor((param.high - param.low) / param.step + 1e-9) + 1
    steps = (round(param.low + i * param.step, 10) for i in range(count))
    if param.kind == "decimal":
        return [Decimal(repr(v)).normalize() for v in steps]
    return list(steps)


def _walk(
    searched: tuple[Param, ...], lists: list[list[Any]], known: Mapping[str, Any]
) -> Iterator[Point]:
    """The settings in order, each ``above`` parameter above the one it names."""
    for combo in itertools.product(*lists):
        point = dict(zip((p.name for p in searched), combo, strict=True))
        both = {**known, **point}
        if all(
            p.above is None or p.above not in both or point[p.name] > both[p.above]
            for p in searched
        ):
            yield point


def grid_points(searched: tuple[Param, ...], fixed: Mapping[str, Any]) -> tuple[Point, ...]:
    """Every setting of ``searched`` (with ``fixed`` held), in a fixed order; refused in one
    sentence when a parameter lists no values, when none is left or past :data:`GRID_LIMIT`."""
    lists = [values_of(p) for p in searched]
    product = math.prod(len(v) for v in lists)
    ordered = any(p.above is not None for p in searched)
    if product > GRID_LIMIT and (not ordered or product > 4 * GRID_LIMIT):
        # Past the limit without walking it: every combination is a setting, or too many are.
        raise _too_many(f"{product:,}" if not ordered else f"up to {product:,}")
    points = tuple(_walk(searched, lists, fixed))
    if len(points) > GRID_LIMIT:
        raise _too_many(f"{len(points):,}")
    if not points:
        raise ConfigError(
            "--grid has no setting to trade: the ranges leave no value above the one it must "
            "exceed; widen them with --range."
        )
    return points


def _too_many(count: str) -> ConfigError:
    return ConfigError(
        f"--grid would trade {count} settings in each fold, more than the {GRID_LIMIT:,} a grid "
        "may: narrow it with --range NAME=LOW:HIGH or --fix NAME=VALUE, or search it without "
        "--grid."
    )


def key(params: Mapping[str, Any], searched: tuple[Param, ...]) -> tuple[str, ...]:
    """A setting as the grid knows it, the same whether it came from the grid or back from a
    stored trial (where a decimal is a float)."""
    return tuple(_same(params.get(p.name), p) for p in searched)


def _same(value: Any, param: Param) -> str:
    if param.kind in ("float", "decimal"):
        return repr(round(float(value), 10))
    return str(value)


class GridCursor:
    """The grid's settings not traded yet, in order: those a study already holds (finished or
    pruned, after a resume) are skipped."""

    def __init__(self, points: tuple[Point, ...], searched: tuple[Param, ...], done: set[Any]):
        self._searched = searched
        self._left = iter([p for p in points if key(p, searched) not in done])

    def next(self) -> Point | None:
        """The next setting to trade, as Optuna takes it (a decimal as a float, which the
        search reads back as the agent's decimal); None when every one is traded."""
        point = next(self._left, None)
        if point is None:
            return None
        return {k: float(v) if isinstance(v, Decimal) else v for k, v in point.items()}
