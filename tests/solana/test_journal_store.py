"""The swap journal in the database, on SQLite and PostgreSQL: it behaves as the in-memory
journal does, each record is committed before ``record`` returns, exact Decimals survive, and
the day's swap figures add up from the rows."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from rampart.store.db import open_database
from rampart.store.models.solana import solana_swaps
from rampart.store.solana_swaps import (
    StoreSwapJournal,
    daily_totals,
    realised_slippage_bps,
    swap_totals,
)
from rampart.venues.solana.journal import MemoryJournal, SwapJournal, SwapRecord

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
SOL = "So11111111111111111111111111111111111111112"
DAY = 86_400_000
T = TypeVar("T")
T0 = 1_717_200_000_000 - 1_717_200_000_000 % DAY  # a UTC midnight


def rec(client_id: str, attempt: int = 1, **changes: object) -> SwapRecord:
    base = SwapRecord(
        client_id=client_id,
        attempt=attempt,
        account_id="alice",
        symbol="SOL/USDC",
        side="buy",
        route="bags",
        signature=f"sig-{client_id}-{attempt}",
        last_valid_height=1_000 + attempt,
        in_mint=USDC,
        out_mint=SOL,
        quoted_in=Decimal("150.123456"),
        quoted_out=Decimal("1.000000000"),
        status="sent",
        ts=T0 + attempt,
        wallet="Wa11et1111111111111111111111111111111111111",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_it_is_a_swap_journal(db: sa.Engine) -> None:
    assert isinstance(StoreSwapJournal(db), SwapJournal)


def test_the_store_behaves_as_the_memory_journal(db: sa.Engine) -> None:
    records = [
        rec("c1"),
        rec("c1", 2, ts=T0 + 50),
        rec("c2", ts=T0 + 10, side="sell", in_mint=SOL, out_mint=USDC),
        rec("c3", ts=T0 - 5, status="expired"),
        # c1's first attempt expires, its second fills: the same key is replaced, not added.
        rec("c1", status="expired"),
        rec(
            "c1",
            2,
            ts=T0 + 50,
            status="filled",
            filled_in=Decimal("150.30"),
            filled_out=Decimal("1"),
            platform_fee=Decimal("0.01"),
            platform_fee_mint=SOL,
            best_route="jupiter",
            route_cost=Decimal("0.45"),
            fee_lamports=15_000,
        ),
    ]
    store, memory = StoreSwapJournal(db), MemoryJournal()

    async def scenario(journal: SwapJournal) -> list[list[SwapRecord]]:
        for r in records:
            await journal.record(r)
        return [
            await journal.pending(),
            await journal.for_client("c1"),
            await journal.for_client("nobody"),
            await journal.since(T0),
            await journal.since(T0 + 11),
        ]

    got, want = run(scenario(store)), run(scenario(memory))
    assert got == want
    pending, c1, nobody, since, later = got
    assert [r.client_id for r in pending] == ["c2"]
    assert [(r.attempt, r.status) for r in c1] == [(1, "expired"), (2, "filled")]
    assert nobody == []
    assert [(r.client_id, r.attempt) for r in since] == [("c1", 1), ("c2", 1), ("c1", 2)]
    assert [(r.client_id, r.attempt) for r in later] == [("c1", 2)]
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(solana_swaps)).scalar() == 4


def test_amounts_come_back_exactly(db: sa.Engine) -> None:
    journal = StoreSwapJournal(db)
    tiny = Decimal("0.000000001")  # one lamport of wrapped SOL
    huge = Decimal("123456789012345.123456789")
    run(journal.record(rec("c1", quoted_in=huge, quoted_out=tiny, fee_lamports=2**40)))
    (back,) = run(journal.for_client("c1"))
    assert back.quoted_in == huge and str(back.quoted_out) == "1E-9"
    assert back.fee_lamports == 2**40 and isinstance(back.attempt, int)
    assert back == rec("c1", quoted_in=huge, quoted_out=tiny, fee_lamports=2**40)


def test_a_record_is_committed_before_record_returns(db_url: str) -> None:
    # What a crash after sendTransaction leaves: another connection (a restarted process)
    # finds the signature with nothing else done after record().
    writer = open_database(db_url)
    try:
        run(StoreSwapJournal(writer).record(rec("c9", signature="5igSent")))
        reader = sa.create_engine(db_url)
        try:
            with reader.connect() as conn:
                rows = conn.execute(sa.select(solana_swaps.c.signature, solana_swaps.c.status))
                assert rows.all() == [("5igSent", "sent")]
        finally:
            reader.dispose()
    finally:
        writer.dispose()
    reopened = open_database(db_url)
    try:
        assert [r.signature for r in run(StoreSwapJournal(reopened).pending())] == ["5igSent"]
    finally:
        reopened.dispose()


def test_an_unknown_status_is_refused(db: sa.Engine) -> None:
    with pytest.raises(ValueError, match="unknown swap status"):
        run(StoreSwapJournal(db).record(rec("c1", status="lost")))
    assert run(StoreSwapJournal(db).since(0)) == []


def test_a_database_failure_is_one_plain_sentence() -> None:
    from rampart.domain.errors import StoreError

    engine = sa.create_engine("sqlite://")  # no tables: every write fails
    with pytest.raises(StoreError, match=r"^Saving a Solana swap failed"):
        run(StoreSwapJournal(engine).record(rec("c1")))
    with pytest.raises(StoreError, match=r"^Reading Solana swaps failed"):
        run(StoreSwapJournal(engine).pending())


def filled(client_id: str, route: str, side: str, ts: int, **changes: object) -> SwapRecord:
    """A fill of 1 SOL at a quoted 150 USDC; bags' fee is 1 % of the SOL leg, in SOL."""
    buy = side == "buy"
    quote_leg = Decimal(changes.pop("quote_leg", "150"))  # type: ignore[arg-type]
    fee = Decimal("0.01") if route == "bags" else Decimal(0)
    fields: dict[str, object] = {
        "route": route,
        "side": side,
        "ts": ts,
        "status": "filled",
        "in_mint": USDC if buy else SOL,
        "out_mint": SOL if buy else USDC,
        "quoted_in": Decimal("150") if buy else Decimal("1"),
        "quoted_out": Decimal("1") if buy else Decimal("150"),
        "filled_in": quote_leg if buy else Decimal("1"),
        "filled_out": Decimal("1") if buy else quote_leg,
        "platform_fee": fee,
        "platform_fee_mint": SOL if fee else "",
        "best_route": route,
        "fee_lamports": 15_000,
    }
    fields.update(changes)
    return rec(client_id, **fields)


def test_realised_slippage_is_the_price_against_the_quote() -> None:
    # A buy paying 150.15 for the quoted 150 is 10 bps worse; a sell receiving 150.30 for the
    # quoted 150 is better (the price in SOL per USDC fell), so negative.
    assert realised_slippage_bps(filled("a", "bags", "buy", T0, quote_leg="150.15")) == (
        pytest.approx(10.0)
    )
    assert realised_slippage_bps(filled("b", "bags", "sell", T0, quote_leg="150.30")) < 0
    assert realised_slippage_bps(rec("c", quoted_out=Decimal(0))) is None


def test_the_days_figures_add_up(db: sa.Engine) -> None:
    journal = StoreSwapJournal(db)
    rows = [
        filled("b1", "bags", "buy", T0 + 1, quote_leg="150.15"),  # +10 bps
        # 0 bps; the operator prefers bags.fm, and it gave up 0.3 USDC against Jupiter here
        filled("b2", "bags", "sell", T0 + 2, best_route="jupiter", route_cost=Decimal("0.3")),
        filled("j1", "jupiter", "buy", T0 + 3, quote_leg="150.30"),  # +20 bps
        rec("j2", route="jupiter", ts=T0 + 4, status="failed", fee_lamports=15_000),
        rec("j2", 2, route="jupiter", ts=T0 + 5, status="refused"),
        filled("j2", "jupiter", "buy", T0 + 6, attempt=3),
        filled("next-day", "bags", "buy", T0 + DAY + 1),
        filled("day-before", "bags", "buy", T0 - 1),
    ]
    for r in rows:
        run(journal.record(r))
    totals = swap_totals(db, T0, T0 + DAY)
    assert totals is not None
    assert totals.swaps == 4
    assert totals.attempts == {
        "bags": {"filled": 2},
        "jupiter": {"failed": 1, "filled": 2, "refused": 1},
    }
    assert totals.filled == {"bags": 2, "jupiter": 2}
    assert totals.route_share == {"bags": 0.5, "jupiter": 0.5}
    assert totals.ratio("bags", "jupiter") == 1.0
    assert totals.volume == {
        "bags": {"USDC": Decimal("300.15")},
        "jupiter": {"USDC": Decimal("300.30")},
    }
    assert totals.platform_fees == {"SOL": Decimal("0.02")}
    assert totals.fee_mints == {"SOL": SOL}
    assert totals.not_best == 1 and totals.route_cost == {"USDC": Decimal("0.3")}
    assert totals.fee_lamports == 5 * 15_000  # the refused attempt paid nothing
    assert totals.network_fees_sol == Decimal("0.000075")
    assert totals.slippage["bags"].fills == 2
    assert totals.slippage["bags"].mean_bps == pytest.approx(5.0)
    assert totals.slippage["bags"].worst_bps == pytest.approx(10.0)
    assert totals.slippage["jupiter"].worst_bps == pytest.approx(20.0)
    data = totals.as_dict()
    assert data["platform_fees"] == {"SOL": "0.02"} and data["filled"] == {"bags": 2, "jupiter": 2}
    assert data["route_cost"] == {"USDC": "0.3"} and "partner_fees" not in data

    assert swap_totals(db, T0 + 2 * DAY, T0 + 3 * DAY) is None
    days = daily_totals(db, T0 - DAY, T0 + 2 * DAY)
    assert [(d.start, d.swaps) for d in days] == [(T0 - DAY, 1), (T0, 4), (T0 + DAY, 1)]
    assert days[1] == totals


def test_without_jupiter_fills_the_ratio_is_unknown(db: sa.Engine) -> None:
    run(StoreSwapJournal(db).record(filled("b1", "bags", "buy", T0)))
    totals = swap_totals(db, T0, T0 + DAY)
    assert totals is not None
    assert totals.ratio("bags", "jupiter") is None and totals.route_share == {"bags": 1.0}
