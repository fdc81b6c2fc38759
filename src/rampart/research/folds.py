"""Walk-forward folds: rolling in-sample windows, each followed by the out-of-sample window the
setting found in it is scored on.

The candles are cut into ``folds + in_blocks`` equal blocks. Fold ``k`` searches blocks
``k .. k + in_blocks - 1`` and scores the best setting on block ``k + in_blocks``, the one
right after: every out-of-sample block is scored exactly once, by a setting chosen without
seeing it, and the out-of-sample blocks laid end to end are the run's result. With the
defaults (4 folds, 3 in-sample blocks) each search sees 3/7 of the candles and the
out-of-sample result covers the last 4/7.

An out-of-sample window warms the agent on the in-sample candles before it (indicators only,
no orders), so its first candles are traded by a warmed agent, as after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from rampart.domain.errors import ConfigError
from rampart.research.trial import Span

MIN_BLOCK = 50
"""Fewer candles per block than this make figures that mean nothing."""


@dataclass(frozen=True, slots=True)
class Fold:
    index: int
    """From 0, oldest first."""
    in_sample: Span
    out_of_sample: Span

    @property
    def label(self) -> str:
        return f"fold {self.index + 1}"


def walk_forward(
    candles: int, folds: int, in_blocks: int = 3, warmup: int = 0, first: int = 0
) -> list[Fold]:
    """The folds over ``candles`` candles. ``warmup`` candles before each in-sample window (when
    there are any) warm the agent before it trades. ``first``: the candles before it are in
    no fold (a declared input was made from them), though they may warm the agent."""
    if folds < 1:
        raise ConfigError(f"--folds must be at least 1; got {folds}.")
    if in_blocks < 1:
        raise ConfigError(f"--in-blocks must be at least 1; got {in_blocks}.")
    blocks = folds + in_blocks
    usable = candles - first
    size = max(0, usable) // blocks
    if size < MIN_BLOCK:
        counted = f"{usable:,} candles after the inputs' span" if first else f"{candles:,} candles"
        raise ConfigError(
            f"{counted} make {blocks} blocks of {size} for {folds} fold(s); each block "
            f"needs at least {MIN_BLOCK} candles: use fewer folds or a longer file."
        )
    # The remainder (fewer than `blocks` candles) is left at the start: the newest candles
    # are always scored.
    offset = candles - size * blocks
    out: list[Fold] = []
    for k in range(folds):
        start = offset + k * size
        cut = start + in_blocks * size
        out.append(
            Fold(
                index=k,
                in_sample=Span(max(0, start - warmup), start, cut),
                out_of_sample=Span(start, cut, cut + size),
            )
        )
    return out
