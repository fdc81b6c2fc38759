"""Decimal helpers. Money and quantities are Decimal; market data prices arrive as floats.

A float price becomes money through :func:`dec`, which uses the float's shortest repr, so a
price read from text as ``0.00003127`` becomes exactly ``Decimal("0.00003127")``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


def dec(value: float | int | str | Decimal) -> Decimal:
    """Convert to Decimal exactly as the value reads (floats through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` not above ``value`` (quantities are rounded down)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_UP) * step


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Nearest multiple of ``step`` (prices are rounded to the tick)."""
    if step <= 0:
        return value
    return (value / step).to_integral_value(rounding=ROUND_HALF_UP) * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return step <= 0 or (value % step) == 0


def pct(value: Decimal | float | str) -> Decimal:
    """A percentage such as ``1.5`` as a fraction (``0.015``)."""
    return dec(value) / HUNDRED
