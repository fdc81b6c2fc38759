"""Indicators an agent asks to have drawn (Freqtrade's ``plot_config``).

    plot = ("fast", "slow", ("rsi", "RSI"))

Each entry names an attribute of the agent: a bare name is drawn over the price, a pair
``(attribute, pane)`` in a pane of its own under it (several lines may share a pane). The
attribute holds an indicator of ``rampart.agents.indicators`` (its ``value`` is drawn) or a
number; while it is None (warming up) nothing is drawn. It is read after every ``update``, so
what is drawn is what the agent decided on. The replay's ``chart.png`` and ``indicators.csv``
and the panel's trade chart draw them.

Pure: reads the agent's attributes, nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rampart.domain.errors import ConfigError

PRICE = "price"
"""The pane of the candles themselves."""


@dataclass(frozen=True, slots=True)
class PlotLine:
    attribute: str
    pane: str = PRICE

    @property
    def label(self) -> str:
        """What the chart calls it: the attribute, without a private underscore."""
        return self.attribute.lstrip("_") or self.attribute


def declared_plot(agent: object) -> tuple[PlotLine, ...]:
    """The lines ``agent`` declares in ``plot``, checked: each names one of its attributes."""
    raw = getattr(agent, "plot", ())
    name = getattr(agent, "name", type(agent).__name__)
    entries = raw if isinstance(raw, tuple | list) else (raw,)
    out: list[PlotLine] = []
    for entry in entries:
        if isinstance(entry, str):
            line = PlotLine(entry)
        elif (
            isinstance(entry, tuple | list)
            and len(entry) == 2
            and all(isinstance(part, str) and part for part in entry)
        ):
            line = PlotLine(entry[0], entry[1])
        else:
            raise ConfigError(
                f'Agent {name!r} declares plot entry {entry!r}: name an attribute ("ema"), '
                'or an attribute and a pane (("rsi", "RSI")).'
            )
        if not hasattr(agent, line.attribute):
            raise ConfigError(
                f"Agent {name!r} asks to plot {line.attribute!r}, which it does not have: name "
                "an attribute holding an indicator or a number."
            )
        if line not in out:
            out.append(line)
    return tuple(out)


def reading(agent: object, line: PlotLine) -> float | None:
    """The value ``line`` draws now: the indicator's ``value`` or the number; None while there
    is none (or it is not a finite number)."""
    return readings(agent, (line,))[0]


def readings(agent: object, lines: tuple[PlotLine, ...]) -> tuple[float | None, ...]:
    """Each of ``lines``' :func:`reading`, in order: one call for all of an agent's lines
    (read after every candle where they are drawn)."""
    out: list[float | None] = []
    for line in lines:
        held = getattr(agent, line.attribute, None)
        value = getattr(held, "value", held)
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(None)
            continue
        number = float(value)
        out.append(number if math.isfinite(number) else None)
    return tuple(out)
