"""What every table module of :mod:`rampart.store.models` builds on: the shared ``metadata``
(with its constraint naming), the column helper and the common widths. A module of its own so
the table modules the package imports need not import the package back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid), never a BIGINT one.
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ID = 128
NAME = 64
CODE = 32


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so SQLite batch migrations can find them later."""

metadata = sa.MetaData(naming_convention=NAMING)


def Col(name: str, type_: Any, *args: Any, nullable: bool = False, **kw: Any) -> sa.Column[Any]:
    """A column that is NOT NULL unless it says ``nullable=True``.

    The tables are Core tables, not ORM classes: nothing here maps rows to objects, and a
    command that reads one table should not pay for mapping 34 (importing the ORM and
    configuring its mappers was a fifth of ``rampart report list``'s instructions). Timestamps
    are ``sa.BigInteger``, amounts ``Money``.
    """
    return sa.Column(name, type_, *args, nullable=nullable, **kw)
