"""Many-row INSERTs without SQLAlchemy's per-row parameter processing.

``conn.execute(stmt, rows)`` builds, for every row, a parameter dict through the compiled
statement and each column type's bind processor: most of the store writer's CPU time. Here the
statement is compiled once per column set (per dialect, since each writer has one engine) and
each row becomes the DB-API parameters directly: the bind processors SQLAlchemy itself compiled
for the statement, except Money, which goes through :func:`rampart.store.types.money_binder`
(the same value, cheaper). The rows then go to the driver's executemany through
``conn.exec_driver_sql``, inside the caller's transaction, with SQLAlchemy's error wrapping.

On SQLite the rows go :data:`ROWS_PER_STATEMENT` at a time as one multi-row ``VALUES`` list
(the rest one by one): SQLite inserts them in the order given, exactly as one statement per
row would (the same rowids, an upsert's conflicts met in the same order), but sets each
statement up once rather than once per row: a third fewer instructions for the order
transitions and the audit log.

A table with Python-side column defaults or onupdates the row does not supply is written the
ordinary way (none of the writer's tables has any today), so nothing SQLAlchemy would have
filled in is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from rampart.domain.errors import present
from rampart.store.types import Money, money_binder, money_text, money_text_inline

Processor = Callable[[Any], Any] | None

STAGED_ROWS = 500
"""Rows from which an ``ON CONFLICT DO NOTHING`` insert on PostgreSQL goes through COPY into a
staging table (:func:`_staged_sql`) instead of executemany: below it the extra statements cost
more than they save."""

ROWS_PER_STATEMENT = 32
"""Rows per multi-row INSERT on SQLite (measured: 32 gives nearly all of the gain; longer
statements cost more to prepare, 32 x 20 columns stays far below SQLite's 32,766 variables)."""

_ONE_ROW = re.compile(r"^(INSERT INTO .+? VALUES )(\((?:\?, )*\?\))((?: ON CONFLICT .*)?)$", re.S)
"""A compiled single-row INSERT (or upsert) in SQLite's ``?`` style: its one VALUES group."""


def _multi_row(sql: str, columns: int) -> str | None:
    """``sql`` with :data:`ROWS_PER_STATEMENT` VALUES groups, or None when it is not a plain
    one-row INSERT of ``columns`` ``?`` parameters (then rows go one statement each)."""
    found = _ONE_ROW.match(sql)
    if found is None or found[2].count("?") != columns or sql.count("?") != columns:
        return None
    head, group, tail = found.groups()
    return head + ", ".join([group] * ROWS_PER_STATEMENT) + tail


class _Plan:
    __slots__ = (
        "_convert",
        "_convert_values",
        "copy",
        "keys",
        "multi",
        "plain",
        "positional",
        "processors",
        "sql",
        "staged",
    )

    def __init__(self, stmt: Any, table: sa.Table, dialect: sa.Dialect, keys: tuple[str, ...]):
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        self.sql = str(compiled)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        sa_processors = compiled._bind_processors
        processors: list[Processor] = []
        for name in names:
            column = table.c.get(name)
            if column is not None and isinstance(column.type, Money):
                processors.append(money_binder(dialect))
            else:
                processors.append(sa_processors.get(name))
        if set(names) != set(keys):
            raise ValueError(f"cannot plan a fast insert into {table.name} for {keys}")
        self.keys = tuple(names)
        self.processors = tuple(processors)
        self.copy = _copy_sql(self.sql, table, dialect, names)
        """On PostgreSQL, a plain INSERT's rows go through ``COPY … FROM STDIN`` instead."""
        self.staged = _staged_sql(self.sql, table, dialect, names)
        """On PostgreSQL, an INSERT … ON CONFLICT DO NOTHING's: COPY into a staging table, then
        one INSERT … SELECT with the same conflict clause (for :data:`STAGED_ROWS` or more)."""
        self.positional = bool(compiled.positional) or self.copy is not None
        """Rows are tuples in ``keys`` order (COPY takes them so, whatever the paramstyle)."""
        self.plain = all(p is None for p in processors)
        """No column needs converting: rows given in ``keys`` order go as they are."""
        # Each converter is compiled when first used (compiling Python text costs more than
        # converting a replay's rows of a table, and most statements need only one of them).
        self._convert: Callable[[dict[str, Any]], Any] | None = None
        self._convert_values: Callable[[tuple[Any, ...]], Any] | None = None
        self.multi = (
            _multi_row(self.sql, len(names))
            if self.positional and dialect.name == "sqlite" and dialect.paramstyle == "qmark"
            else None
        )
        """The same statement for ROWS_PER_STATEMENT rows at once, where it applies."""

    @property
    def convert(self) -> Callable[[dict[str, Any]], Any]:
        """``row dict -> DB-API parameters``."""
        if self._convert is None:
            self._convert = _converter(self.keys, self.processors, self.positional)
        return self._convert

    @property
    def convert_values(self) -> Callable[[tuple[Any, ...]], Any] | None:
        """``values in keys order -> DB-API parameters`` (None: not a positional statement)."""
        if self._convert_values is None and self.positional:
            self._convert_values = _values_converter(self.processors)
        return self._convert_values

    def run(self, conn: sa.Connection, params: list[Any]) -> None:
        """Send DB-API rows (in this plan's parameter order) to the driver."""
        if self.copy is not None:
            _copy_rows(conn, self.copy, params)
            return
        if self.staged is not None and len(params) >= STAGED_ROWS:
            prepare, copy, insert = self.staged
            for sql in prepare:
                conn.exec_driver_sql(sql)
            pick = itemgetter(*self.keys)  # the rows are named parameters (pyformat)
            _copy_rows(conn, copy, [p if isinstance(p, tuple) else pick(p) for p in params])
            conn.exec_driver_sql(insert)
            return
        multi = self.multi
        n = len(params)
        if multi is None or n < ROWS_PER_STATEMENT:
            conn.exec_driver_sql(self.sql, params)
            return
        step = ROWS_PER_STATEMENT
        full = n - n % step
        flat = chain.from_iterable
        conn.exec_driver_sql(
            multi, [tuple(flat(params[i : i + step])) for i in range(0, full, step)]
        )
        if full < n:
            conn.exec_driver_sql(self.sql, params[full:])


def _copy_sql(sql: str, table: sa.Table, dialect: sa.Dialect, names: list[str]) -> str | None:
    """``COPY table (columns) FROM STDIN`` for a plain INSERT on PostgreSQL (an upsert's
    conflict handling has no COPY form), else None."""
    if dialect.name != "postgresql" or not sql.startswith("INSERT INTO ") or " ON CONFLICT " in sql:
        return None
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(table.c[name].name) for name in names)
    return f"COPY {dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN"


def _staged_sql(
    sql: str, table: sa.Table, dialect: sa.Dialect, names: list[str]
) -> tuple[tuple[str, ...], str, str] | None:
    """For an ``INSERT … ON CONFLICT … DO NOTHING`` on PostgreSQL (which COPY cannot do): the
    statements that make an empty staging table of the session (its rows go at commit), the
    COPY into it and the INSERT … SELECT from it with the statement's conflict clause; else
    None. A fill is written so (by its venue trade id): executemany sends one Bind and Execute
    per row, a fifth of COPY's rate on a replay's hundred thousand fills."""
    at = sql.find(" ON CONFLICT ")
    if dialect.name != "postgresql" or at < 0 or not sql.endswith(" DO NOTHING"):
        return None
    prep = dialect.identifier_preparer
    columns = ", ".join(prep.quote(table.c[name].name) for name in names)
    target = prep.format_table(table)
    stage = prep.quote(f"staged_{table.name}")
    # Every name below is quoted from the table's metadata: no value reaches this SQL.
    empty = f"SELECT {columns} FROM {target} WITH NO DATA"  # noqa: S608
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS {empty}"
    # Emptied first: a second write of the table in the same transaction.
    prepare = (create, f"TRUNCATE {stage}")
    copy = f"COPY {stage} ({columns}) FROM STDIN"
    select = f"SELECT {columns} FROM {stage}"  # noqa: S608
    insert = f"INSERT INTO {target} ({columns}) {select}{sql[at:]}"
    return prepare, copy, insert


def _copy_rows(conn: sa.Connection, sql: str, rows: list[Any]) -> None:
    """Stream ``rows`` through COPY on the connection's own driver connection, inside the
    caller's transaction; the driver's errors become SQLAlchemy's, as executemany's do.
    psycopg's executemany still sends one Bind and Execute per row; COPY sends the rows as
    one stream (a 100k-bar replay on PostgreSQL: most of its store writes' CPU)."""
    raw = present(conn.connection.driver_connection, "the open connection's driver connection")
    error = conn.dialect.loaded_dbapi.Error
    try:
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except error as err:
        raise sa.exc.DBAPIError.instance(sql, None, err, error) from err


def _processed(scope: dict[str, Any], i: int, get: str, processor: Processor) -> str:
    """The expression converting ``get`` for column ``i``, its processor put in ``scope``
    (SQLite's money text written out in place: every amount of every row, most of them
    taking its quick path, which then costs no call)."""
    if processor is None:
        return get
    scope[f"p{i}"] = processor
    if processor is money_text:
        scope["_Decimal"] = Decimal
        return money_text_inline(get, f"t{i}", f"p{i}")
    return f"p{i}({get})"


def _converter(
    keys: tuple[str, ...], processors: tuple[Processor, ...], positional: bool
) -> Callable[[dict[str, Any]], Any]:
    """``row -> DB-API parameters``, one function per statement built from its columns (no loop
    over the columns per row: this runs for every row the store writes)."""
    if positional and len(keys) > 1 and all(p is None for p in processors):
        # Nothing to convert: the values in order, picked by C code (an order transition,
        # the most frequent row, is one of these). A missing key raises KeyError all the same.
        return itemgetter(*keys)
    scope: dict[str, Any] = {}
    parts = []
    for i, (key, processor) in enumerate(zip(keys, processors, strict=True)):
        get = _processed(scope, i, f"row[{key!r}]", processor)
        parts.append(get if positional else f"{key!r}: {get}")
    body = f"({', '.join(parts)},)" if positional else f"{{{', '.join(parts)}}}"
    source = f"def convert(row):\n    return {body}\n"
    exec(compile(source, "<fast_insert>", "exec"), scope)  # noqa: S102 - the code is built from the table's column names
    return scope["convert"]


def _values_converter(processors: tuple[Processor, ...]) -> Callable[[tuple[Any, ...]], Any]:
    """``values -> DB-API parameters`` for values already in the statement's order: each
    column's processor applied by position, built as :func:`_converter` is."""
    scope: dict[str, Any] = {}
    parts = []
    for i, processor in enumerate(processors):
        parts.append(_processed(scope, i, f"v[{i}]", processor))
    source = f"def convert(v):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, "<fast_insert>", "exec"), scope)  # noqa: S102 - built from the column count
    return scope["convert"]


class FastInsert:
    """One INSERT (or upsert) statement of one table, written many rows at a time."""

    def __init__(self, stmt: Any, table: sa.Table, dialect: sa.Dialect) -> None:
        self.stmt = stmt
        self.table = table
        self.dialect = dialect
        self._plans: dict[tuple[str, ...], _Plan | None] = {}

    def _plan(self, keys: tuple[str, ...]) -> _Plan | None:
        plan = self._plans.get(keys, self)  # self: not planned yet
        if plan is self:
            given = set(keys)
            defaulted = any(
                (c.default is not None or c.onupdate is not None) and c.key not in given
                for c in self.table.columns
            )
            plan = None if defaulted else _Plan(self.stmt, self.table, self.dialect, keys)
            self._plans[keys] = plan
        return plan  # type: ignore[return-value]

    def params(self, rows: Sequence[dict[str, Any]]) -> tuple[_Plan | None, list[Any]]:
        """The plan and DB-API parameters for ``rows`` (None: write them the ordinary way)."""
        plan = self._plan(tuple(rows[0]))
        if plan is None:
            return None, []
        try:
            out = list(map(plan.convert, rows))
        except KeyError as err:
            raise ValueError(
                f"a row for {self.table.name} has no value for {err.args[0]!r}"
            ) from None
        return plan, out

    def execute(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Write ``rows`` (all with the first row's keys) in the caller's transaction."""
        if not rows:
            return
        plan, params = self.params(rows)
        if plan is None:
            conn.execute(self.stmt, list(rows))
            return
        plan.run(conn, params)

    def execute_values(
        self, conn: sa.Connection, keys: tuple[str, ...], values: list[tuple[Any, ...]]
    ) -> None:
        """Write rows given as tuples in ``keys`` order: straight to the driver when the
        statement takes them as they are (its column processors applied by position when it
        has any), else as :meth:`execute` would."""
        if not values:
            return
        plan = self._plan(keys)
        if plan is not None and plan.positional and plan.keys == keys:
            if plan.plain:
                plan.run(conn, values)
                return
            convert = plan.convert_values
            if convert is not None:
                try:
                    params = list(map(convert, values))
                except IndexError:
                    raise ValueError(f"a row for {self.table.name} has too few values") from None
                plan.run(conn, params)
                return
        self.execute(conn, [dict(zip(keys, v, strict=True)) for v in values])
