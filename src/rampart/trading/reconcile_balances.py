"""Reconciliation, balances: the books compared with the venue's balances, and every
difference a fill explains booked as that fill.

A balance snapshot is compared only when it is consistent with the fills the books hold:
after reading the balances the venue is asked again what its orders did; if a fill turned up
meanwhile, the snapshot may already hold it or not, so it is read again (a stop that fills
between the poll and the comparison is booked as the stop fill, never "repaired"). When the
account keeps trading through every try, nothing is compared this run.

With a consistent snapshot, for each market:

- the venue holds **less** than the position: the position was sold outside Rampart. The
  exchange's own trades that Rampart did not place (``fetchMyTrades``) are booked as the exit,
  with their real prices and fees, exit reason ``external``; what no trade explains is booked at
  the last price, said so, and remembered as an :class:`~rampart.domain.positions.Adjustment`
  that a late real fill is booked against;
- the venue holds **more**: coins bought by hand are held apart, reported and never merged into
  the position the risk engine sized.

Only then is a residual of cash set to the venue's figure (a deposit or withdrawal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from rampart.domain.errors import RampartError
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, Side, client_order_id
from rampart.domain.positions import Adjustment
from rampart.trading import reconcile_books as books
from rampart.trading.account import AccountRuntime
from rampart.trading.reconcile_adopt import FILL_MARGIN_MS

if TYPE_CHECKING:
    from rampart.trading.reconcile import _Run

T = TypeVar("T")
SNAPSHOT_TRIES = 3
"""Balance reads per account and run before it is left for the next run (still trading)."""
EXTERNAL = "external"


async def settled_balances(run: _Run, acct: AccountRuntime) -> dict[str, Balance] | None:
    """The venue's balances for ``acct`` once every fill before them is booked; None when
    orders are unconfirmed or fills keep arriving (the account is compared next run)."""
    return await settled_read(run, acct, lambda: run.venue.fetch_balances(acct.account_id))


async def settled_read(
    run: _Run, acct: AccountRuntime, read: Callable[[], Awaitable[T]]
) -> T | None:
    """What ``read`` returns from the venue, taken when the books hold every fill before it."""
    executor = run.engine.executor
    for _ in range(SNAPSHOT_TRIES):
        pending = [o.client_id for o in acct.orders.values() if o.status in books.UNSETTLED]
        if pending:
            run.differ(
                acct.account_id,
                f"{len(pending)} order(s) still unconfirmed ({', '.join(pending[:3])}); "
                "balances are compared once they are settled.",
            )
            return None
        snapshot = await read()
        # Anything that filled up to the read above is reported now; if something did, the
        # read may or may not include it, so it is not a snapshot of these books.
        try:
            await run.venue.refresh(acct.account_id)
        except RampartError as exc:
            run.differ(acct.account_id, f"its orders could not be checked: {exc.message}")
            return None
        arrived = sum(
            1 for r in executor.pending() if r.account_id == acct.account_id and r.fill is not None
        )
        run.classify_queue()
        await executor.drain()
        if arrived == 0:
            return snapshot
    run.differ(
        acct.account_id,
        "its orders kept filling while its balances were read; they are compared next time.",
    )
    return None


async def explain_positions(
    run: _Run, acct: AccountRuntime, balances: Mapping[str, Balance]
) -> None:
    tolerance = run.owner.tolerance
    for symbol in acct.spec.symbols:
        base = run.engine.venue.instrument(symbol).base
        venue_qty = balances.get(base, Balance(base)).total
        pos = acct.ledger.positions.get(symbol)
        local = pos.qty if pos else ZERO
        if venue_qty < local - tolerance:
            await _closed_outside(run, acct, symbol, local - venue_qty)
            pos = acct.ledger.positions.get(symbol)
            local = pos.qty if pos else ZERO
        _hold_apart(run, acct, symbol, base, venue_qty - local)


def _hold_apart(run: _Run, acct: AccountRuntime, symbol: str, base: str, excess: Decimal) -> None:
    before = acct.held_apart.get(symbol, ZERO)
    if excess <= run.owner.tolerance:
        if before:
            del acct.held_apart[symbol]
            run.repair(
                acct.account_id,
                "holdings_apart_gone",
                f"The {before} {base} held apart are no longer on the venue.",
                None,
                symbol,
            )
        return
    acct.held_apart[symbol] = excess
    if excess > before:
        run.repair(
            acct.account_id,
            "holdings_apart",
            f"The venue holds {excess} {base} that Rampart did not buy (bought outside it); "
            "they are held apart: never sold, protected or counted by Rampart.",
            None,
            symbol,
        )


async def _closed_outside(run: _Run, acct: AccountRuntime, symbol: str, missing: Decimal) -> None:
    """Book ``missing`` of the position as sold outside Rampart: the exchange's trades that
    Rampart did not place first, the rest at the last price."""
    pos = acct.ledger.positions[symbol]
    executor = run.engine.executor
    try:
        trades = await run.venue.fetch_fills(
            acct.account_id, symbol, max(pos.opened_at - FILL_MARGIN_MS, 0)
        )
    except RampartError as exc:
        run.differ(acct.account_id, f"its {symbol} trades could not be read: {exc.message}")
        trades = []
    left = missing
    for fill in sorted(trades, key=lambda f: (f.ts, f.fill_id)):
        if books.parse_client_id(acct.account_id, fill.client_id) is not None:
            continue  # Rampart's own: booked through its order
        if acct.fill_seen(fill.fill_id):
            continue
        acct.note_fill(fill.fill_id)  # looked at once, whether it explains the gap or not
        if fill.side is not Side.SELL or left <= ZERO:
            continue
        part = fill if fill.qty <= left else _part(fill, left)
        left -= part.qty
        await executor.book_fill(
            acct, part, OrderRole.EXTERNAL, pos.strategy, pos.entry_client_id, exit_reason=EXTERNAL
        )
        run.repair(
            acct.account_id,
            "external_fill_booked",
            f"{part.qty} {symbol} sold at {part.price} (fee {part.fee}) outside Rampart, by "
            f"trade {fill.fill_id} on the venue; booked as an external exit.",
            fill.client_id or None,
            symbol,
        )
    if left > ZERO:
        price = run.engine.marks.get(symbol) or pos.avg_price
        tag = client_order_id(acct.account_id, 0, OrderRole.ENTRY).split("-")[1]
        fill = Fill(
            fill_id=f"adj-{tag}-{symbol.replace('/', '')}-{run.now}",
            client_id="",
            account_id=acct.account_id,
            symbol=symbol,
            side=Side.SELL,
            qty=left,
            price=price,
            fee=ZERO,
            liquidity=Liquidity.TAKER,
            ts=run.now,
        )
        acct.add_adjustment(Adjustment(symbol, left, price, run.now))
        await executor.book_fill(
            acct, fill, OrderRole.EXTERNAL, pos.strategy, pos.entry_client_id, exit_reason=EXTERNAL
        )
        run.repair(
            acct.account_id,
            "position_adjusted",
            f"{left} {symbol} left the venue and no trade explains it; booked as sold outside "
            f"Rampart at the last price {price}, no fee. A fill that explains it later is "
            "booked against it.",
            None,
            symbol,
        )
    await executor.drain()


def _part(fill: Fill, qty: Decimal) -> Fill:
    """The first ``qty`` of a trade, with its share of the fee (same trade id)."""
    return replace(fill, qty=qty, fee=fill.fee * qty / fill.qty)
