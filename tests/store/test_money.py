"""Money columns keep Decimals exactly, and both backends read back the same Decimal."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.domain.events import EquitySnapshot
from rampart.store import queries as q
from rampart.store.types import Money, canonical
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, T0

probe_md = sa.MetaData()
probe = sa.Table(
    "money_probe",
    probe_md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("v", Money, nullable=True),
)


@pytest.fixture
def probe_db(db: sa.Engine) -> Iterator[sa.Engine]:
    probe_md.create_all(db)
    yield db
    probe_md.drop_all(db)


def _round_trip(db: sa.Engine, values: list[Decimal | None]) -> list[Decimal | None]:
    with db.begin() as conn:
        conn.execute(probe.delete())
        if values:
            conn.execute(probe.insert(), [{"id": i, "v": v} for i, v in enumerate(values)])
    with db.connect() as conn:
        return list(conn.execute(sa.select(probe.c.v).order_by(probe.c.id)).scalars())


EXACT = [
    Decimal("0.00000001"),
    Decimal("123456789.123456789"),
    Decimal("0.10000"),  # the scale is kept, not just the value
    Decimal(1) / Decimal(3) * Decimal("0.0001"),  # 28 digits, 32 decimal places
    Decimal("-42.5"),
    Decimal("3.127E-8"),
    Decimal("98765432109876543210987654321.5"),
    Decimal(0),
]


def test_decimals_round_trip_exactly(probe_db: sa.Engine) -> None:
    stored = _round_trip(probe_db, [*EXACT, None])
    assert stored[-1] is None
    for written, read in zip(EXACT, stored, strict=False):
        assert isinstance(read, Decimal)
        assert read.as_tuple() == written.as_tuple(), (written, read)
        assert str(read) == str(written)


def test_canonical_forms_are_what_both_backends_return(probe_db: sa.Engine) -> None:
    odd = [Decimal("1E+2"), Decimal("-0"), Decimal("-0.000"), Decimal("1.20E+3")]
    stored = _round_trip(probe_db, odd)
    assert [str(v) for v in stored] == ["100", "0", "0.000", "1200"]
    assert stored == odd  # numerically unchanged
    assert [canonical(v) for v in odd] == stored


def test_ints_floats_and_strings_are_accepted_as_their_decimal(probe_db: sa.Engine) -> None:
    stored = _round_trip(probe_db, [7, 0.1, "2.50"])  # type: ignore[list-item]
    assert [str(v) for v in stored] == ["7", "0.1", "2.50"]


decimals = st.builds(
    lambda sign, digits, exp: Decimal((sign, tuple(digits), exp)),
    st.integers(0, 1),
    st.lists(st.integers(0, 9), min_size=1, max_size=28),
    st.integers(-30, 8),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=st.lists(decimals, min_size=1, max_size=30))
def test_any_decimal_reads_back_as_its_canonical_form(
    probe_db: sa.Engine, values: list[Decimal]
) -> None:
    stored = _round_trip(probe_db, list(values))
    assert [v.as_tuple() for v in stored if v is not None] == [
        canonical(v).as_tuple() for v in values
    ]
    assert stored == values


def test_money_through_the_writer_keeps_every_digit(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    precise = Decimal("10.00000000000000000000000001")  # 26 places: beyond NUMERIC(38, 18)
    writer(EquitySnapshot(T0, ACCOUNT, precise, Decimal("0E-8"), precise, Decimal("-0.5")))
    writer.flush()
    record = q.latest_equity(db, ACCOUNT)
    assert record is not None
    assert str(record.cash) == "10.00000000000000000000000001"
    assert record.positions_value.as_tuple() == Decimal("0E-8").as_tuple()
    assert record.realized_pnl == Decimal("-0.5")
