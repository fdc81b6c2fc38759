"""Column types. ``Money`` keeps a Decimal exactly on every backend.

SQLite has no decimal type, so money is text there; PostgreSQL gets an unconstrained
``NUMERIC``. A fixed ``NUMERIC(38, 18)`` was considered and rejected: the engine divides at 28
significant digits, so a BTC-quoted price such as ``0.00003127…`` carries more than 18
decimal places and would be silently rounded, and a restart would then disagree with an
uninterrupted run. Unconstrained ``NUMERIC`` keeps every digit and the scale it was given.

Both backends return the same Decimal (same digits and exponent), the *canonical* form of the
value written: see :func:`canonical`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from rampart.domain.money import dec


def canonical(value: Decimal) -> Decimal:
    """The form a stored Decimal reads back as, on SQLite and PostgreSQL alike.

    Digits and negative exponents are kept (``0.10000`` stays ``0.10000``); a positive
    exponent becomes plain digits (``1E+2`` → ``100``) and negative zero becomes zero, because
    that is what PostgreSQL's NUMERIC does.
    """
    if value.is_zero() and value.is_signed():
        value = value.copy_abs()
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        return Decimal(format(value, "f"))
    return value


def to_decimal(value: Any) -> Decimal:
    """Coerce what callers may hand a Money column; NaN and infinities are refused."""
    try:
        result = dec(value) if isinstance(value, (Decimal, int, float, str)) else None
    except InvalidOperation:
        result = None
    if result is None or isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount of money")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite amount of money")
    return result


class Money(TypeDecorator[Decimal]):
    """An exact Decimal: plain text on SQLite, unconstrained NUMERIC on PostgreSQL.

    On SQLite the column is text, so SQL comparisons and ORDER BY on it are lexical: compare
    money in Python after reading, never in a WHERE clause.
    """

    impl = sa.String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(asdecimal=True))
        return dialect.type_descriptor(sa.String(64))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = canonical(to_decimal(value))
        if dialect.name == "postgresql":
            return amount
        return format(amount, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        # Offline migrations (``alembic upgrade --sql``) render literals through here.
        if value is None:
            return "NULL"
        text = format(canonical(to_decimal(value)), "f")
        return text if dialect.name == "postgresql" else f"'{text}'"

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def money_text(value: Any) -> str | None:
    """What :meth:`Money.process_bind_param` gives SQLite, with a quick path for a finite
    Decimal: its plain ``f`` text is already the canonical form's (a positive exponent is
    written as plain digits either way), except for negative zero's sign."""
    if type(value) is Decimal and value.is_finite():
        # str() is the same text whenever it writes no exponent (most amounts), and about
        # twice as fast as format(): this runs for every amount of every row written.
        text = str(value)
        if "E" in text:
            text = format(value, "f")
        if text[0] == "-" and value.is_zero():
            return text[1:]
        return text
    if value is None:
        return None
    return format(canonical(to_decimal(value)), "f")


def money_text_inline(value: str, text: str, fallback: str) -> str:
    """:func:`money_text` as one Python expression for a converter compiled per statement
    (``rampart.store.fast_insert``): its quick path written out, so that a finite Decimal
    with no exponent and not negative zero costs no call; anything else is handed to
    ``fallback`` (:func:`money_text` itself). ``value`` is the expression giving the amount,
    assigned once; ``text`` a local name free for its text."""
    v = f"_v_{text}"
    return (
        f"({text} if type({v} := {value}) is _Decimal and {v}.is_finite() "
        f"and 'E' not in ({text} := str({v})) "
        f"and not ({text}[0] == '-' and {v}.is_zero()) else {fallback}({v}))"
    )


def _money_numeric(value: Any) -> Decimal | None:
    """What :meth:`Money.process_bind_param` gives PostgreSQL."""
    return None if value is None else canonical(to_decimal(value))


def money_binder(dialect: Dialect) -> Any:
    """The DB-API value of a non-None Money for ``dialect``, as the column type would bind it
    (None stays None), for writers that hand rows to the driver themselves."""
    return _money_numeric if dialect.name == "postgresql" else money_text
