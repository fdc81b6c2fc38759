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
- the venue holds **more**: an earlier guessed sale (an ``adj-`` fill, above) of coins the
  venue still holds was a phantom and is reversed first, bought back at the price it was booked
  at; what is left was bought by hand and is held apart, reported and never merged into the
  position the risk engine sized.

Dust the books carry (less than a lot, left by a position that closed: ``Ledger.dust``) is
Rampart's own and counts as held; when the venue holds less than it, the dust went first (swept
into BNB by hand, say), and the books drop it.

Only then is a residual of cash set to the venue's figure (a deposit or withdrawal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from rampart.domain.errors import RampartError
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, Side, client_order_id
from rampart.domain.positions import Adjustment, Position
from rampart.trading.account import AccountRuntime
from rampart.trading.reconcile import books
from rampart.trading.reconcile.context import FILL_MARGIN_MS, RunContext

T = TypeVar("T")
SNAPSHOT_TRIES = 3
"""Balance reads per account and run before it is left for the next run (still trading)."""
IMPLIED_BAND = Decimal("0.1")
"""How far from the last price the cash a vanished quantity brought in may put its price
before it is taken for something else (a deposit) and the last price is used instead."""


async def settled_balances(run: RunContext, acct: AccountRuntime) -> dict[str, Balance] | None:
    """The venue's balances for ``acct`` once every fill before them is booked; None when
    orders are unconfirmed or fills keep arriving (the account is compared next run)."""
    return await settled_read(run, acct, lambda: run.venue.fetch_balances(acct.account_id))


async def settled_read(
    run: RunContext, acct: AccountRuntime, read: Callable[[], Awaitable[T]]
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
        failed: RampartError | None = None
        async with run.reading():  # what the refresh reports is delivered before the check
            snapshot = await read()
            # Anything that filled up to the read above is reported now; if something did,
            # the read may or may not include it, so it is not a snapshot of these books.
            try:
                await run.venue.refresh(acct.account_id)
            except RampartError as exc:
                failed = exc
        if failed is not None:
            run.differ(acct.account_id, f"its orders could not be checked: {failed.message}")
            return None
        # Not only fills: an order that ended in between may still be in the read's open
        # orders, and the verdict would list it as open on the venue but not in the books.
        arrived = any(r.account_id == acct.account_id for r in executor.pending())
        run.classify_queue()
        await executor.drain()
        if not arrived:
            return snapshot
    run.differ(
        acct.account_id,
        "its orders kept filling while its balances were read; they are compared next time.",
    )
    return None


async def explain_positions(
    run: RunContext, acct: AccountRuntime, balances: Mapping[str, Balance]
) -> None:
    for symbol, base, venue_qty in _coins_differing(run, acct, balances):
        cash = books.held(balances, acct.spec.quote)
        await _explain(run, acct, symbol, base, venue_qty, cash)


def coins_agree(run: RunContext, acct: AccountRuntime, balances: Mapping[str, Balance]) -> bool:
    """Whether ``balances`` hold, for every market, the coins the books hold."""
    return not _coins_differing(run, acct, balances)


def _coins_differing(
    run: RunContext, acct: AccountRuntime, balances: Mapping[str, Balance]
) -> list[tuple[str, str, Decimal]]:
    """(symbol, base asset, the venue's quantity) of every market where the venue holds other
    than the position, the coins held apart and the dust together."""
    out: list[tuple[str, str, Decimal]] = []
    for symbol in acct.spec.symbols:
        base = run.engine.venue.instrument(symbol).base
        venue_qty = books.held(balances, base)
        pos = acct.ledger.positions.get(symbol)
        expected = (
            (pos.qty if pos else ZERO)
            + acct.held_apart.get(symbol, ZERO)
            + acct.ledger.dust.get(symbol, ZERO)
        )
        if abs(venue_qty - expected) > run.tolerance:
            out.append((symbol, base, venue_qty))
    return out


async def _explain(
    run: RunContext, acct: AccountRuntime, symbol: str, base: str, venue_qty: Decimal, cash: Decimal
) -> None:
    """Walk the exchange's trades that Rampart did not place, oldest first: a buy adds to the
    coins held apart; a sell takes from them first, then from Rampart's position (booked as an
    external exit). What the trades do not explain is set from the balance."""
    pos = acct.ledger.positions.get(symbol)
    local = pos.qty if pos else ZERO
    apart_before = acct.held_apart.get(symbol, ZERO)
    apart = apart_before
    since = (pos.opened_at if pos else run.now - run.lookback_ms) - FILL_MARGIN_MS
    try:
        async with run.reading():
            trades = await run.venue.fetch_fills(acct.account_id, symbol, max(since, 0))
    except RampartError as exc:
        run.differ(acct.account_id, f"its {symbol} trades could not be read: {exc.message}")
        trades = []
    sold = ZERO
    for fill in sorted(trades, key=_in_order):
        if books.parse_client_id(acct.account_id, fill.client_id) is not None:
            continue  # Rampart's own: booked through its order
        if acct.fill_seen(fill.fill_id):
            continue
        acct.note_fill(fill.fill_id)  # looked at once, whatever it turns out to explain
        if fill.side is Side.BUY:
            # What the account got: Binance takes a buy's commission from the coins.
            apart += fill.qty - (fill.fee_qty if fill.fee_asset == base else ZERO)
            continue
        from_apart = min(fill.qty, apart)
        apart -= from_apart
        from_position = min(fill.qty - from_apart, local - sold)
        if pos is None or from_position <= ZERO:
            continue
        sold += from_position
        part = fill if from_position == fill.qty else _part(fill, from_position)
        await _book_external(run, acct, pos, part)
        run.repair(
            acct.account_id,
            "external_fill_booked",
            f"{part.qty} {symbol} sold at {part.price} (fee {part.fee}) outside Rampart, by "
            f"trade {fill.fill_id} on the venue; booked as an external exit.",
            fill.client_id or None,
            symbol,
        )
    dust = acct.ledger.dust.get(symbol, ZERO)
    missing = (local - sold) + apart + dust - venue_qty
    if missing > ZERO and dust > ZERO:
        gone = min(missing, dust)
        missing -= gone
        _drop_dust(run, acct, symbol, base, gone, dust - gone)
    if missing < -run.tolerance and acct.adjustments.get(symbol):
        # More coins than the books hold, and the books sold some by a guess: the guess was a
        # phantom (the coins never left), so it is reversed before anything is held apart.
        missing += await _reverse_adjustments(run, acct, symbol, -missing)
        pos = acct.ledger.positions.get(symbol)
    # What is still missing comes from the coins held apart first; coins the venue holds
    # beyond the books (missing below 0, and apart is never below 0) are all added to them.
    from_apart = min(missing, apart)
    apart -= from_apart
    missing -= from_apart
    if pos is not None and missing > run.tolerance:
        price = _price_of(run, acct, symbol, missing, cash)
        await _adjust(run, acct, pos, missing, price)
    _hold_apart(run, acct, symbol, base, apart_before, apart)
    await run.engine.executor.drain()


async def _book_external(run: RunContext, acct: AccountRuntime, pos: Position, fill: Fill) -> None:
    # A sale takes its exit reason from its role (external); the ledger reads no entry id or
    # bracket for a sale, the position keeps its own.
    await run.engine.executor.book_fill(
        acct, fill, OrderRole.EXTERNAL, pos.strategy, pos.entry_client_id
    )


def _price_of(
    run: RunContext, acct: AccountRuntime, symbol: str, qty: Decimal, venue_cash: Decimal
) -> Decimal:
    """The price ``qty`` most likely went at: what the cash that came in for it says (net of
    fees) when that is within :data:`IMPLIED_BAND` of the last price, else the last price."""
    pos = acct.ledger.positions[symbol]
    mark = run.engine.marks.get(symbol) or pos.avg_price
    implied = (venue_cash - acct.ledger.cash) / qty
    # A mark of 0 (never: the average price is above 0) would only let a price of 0 through.
    if abs(implied - mark) <= mark * IMPLIED_BAND:
        return implied
    return mark


def _book_keeping_fill(
    run: RunContext,
    acct: AccountRuntime,
    symbol: str,
    fill_id: str,
    side: Side,
    qty: Decimal,
    price: Decimal,
) -> Fill:
    """A fill no venue trade stands for (a guessed sale, or its reversal), without a fee, at
    ``run.now``; ``fill_id`` is a pattern whose ``{}`` takes the account's tag and symbol."""
    tag = client_order_id(acct.account_id, 0, OrderRole.ENTRY).split("-")[1]
    return Fill(
        fill_id=fill_id.format(f"{tag}-{symbol.replace('/', '')}"),
        client_id="",
        account_id=acct.account_id,
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        fee=ZERO,
        liquidity=Liquidity.TAKER,
        ts=run.now,
    )


async def _adjust(
    run: RunContext, acct: AccountRuntime, pos: Position, qty: Decimal, price: Decimal
) -> None:
    """The last resort: ``qty`` left the venue and no trade says how. Booked as sold at the
    stated price, said so, and remembered, so the real fill is booked against it if it comes."""
    symbol = pos.symbol
    fill = _book_keeping_fill(run, acct, symbol, f"adj-{{}}-{run.now}", Side.SELL, qty, price)
    acct.add_adjustment(Adjustment(symbol, qty, price, run.now))
    await _book_external(run, acct, pos, fill)
    run.repair(
        acct.account_id,
        "position_adjusted",
        f"{qty} {symbol} left the venue and no trade explains it; booked as sold outside "
        f"Rampart at {price} (the cash it brought in, or else the last price), no fee. A fill "
        "that explains it later is booked against it.",
        None,
        symbol,
    )


async def _reverse_adjustments(
    run: RunContext, acct: AccountRuntime, symbol: str, extra: Decimal
) -> Decimal:
    """Undo earlier ``adj-`` sales of ``symbol``, oldest first, up to ``extra`` coins the venue
    holds beyond the books: each is booked back as a buy at the price it was sold at (cash and
    coins as before the guess), as a position of its own, keyed by the reversing fill's id (the
    position the guess closed has its trade already; a second trade under its entry id would
    stand for the first). Returns the quantity reversed."""
    done = ZERO
    for adj in list(acct.adjustments.get(symbol, [])):
        qty = min(adj.qty, extra - done)
        if qty <= run.tolerance:
            break
        taken = acct.take_adjustment(symbol, qty)
        if taken is None:
            break
        fill_id = f"rev-{{}}-{taken.ts}-{run.now}"
        fill = _book_keeping_fill(run, acct, symbol, fill_id, Side.BUY, qty, taken.price)
        entry_id = fill.fill_id
        if entry_id not in acct.brackets:
            bracket = books.default_bracket(run.engine, acct, symbol, taken.price)
            acct.brackets[entry_id] = bracket
        pos = acct.ledger.positions.get(symbol)
        strategy = pos.strategy if pos is not None else acct.spec.agent
        await run.engine.executor.book_fill(acct, fill, OrderRole.ENTRY, strategy, entry_id)
        done += qty
        run.repair(
            acct.account_id,
            "phantom_fill_reversed",
            f"{qty} {symbol} booked as sold outside Rampart at {taken.price} (no trade explained "
            f"it) is still on the venue: the guessed sale is reversed by fill {fill.fill_id}.",
            None,
            symbol,
        )
    return done


def _drop_dust(
    run: RunContext, acct: AccountRuntime, symbol: str, base: str, gone: Decimal, left: Decimal
) -> None:
    if left > ZERO:
        acct.ledger.dust[symbol] = left
    else:
        del acct.ledger.dust[symbol]
    run.repair(
        acct.account_id,
        "dust_gone",
        f"{gone} {base} of dust (less than a lot, written off when its position closed) is no "
        "longer on the venue.",
        None,
        symbol,
    )


def _hold_apart(
    run: RunContext, acct: AccountRuntime, symbol: str, base: str, before: Decimal, now: Decimal
) -> None:
    if now <= run.tolerance:
        if acct.held_apart.pop(symbol, None) is not None:
            run.repair(
                acct.account_id,
                "holdings_apart_gone",
                f"The {before} {base} held apart are no longer on the venue.",
                None,
                symbol,
            )
        return
    acct.held_apart[symbol] = now
    if now > before:
        run.repair(
            acct.account_id,
            "holdings_apart",
            f"The venue holds {now} {base} that Rampart did not buy (bought outside it); "
            "they are held apart: never sold, protected or counted by Rampart.",
            None,
            symbol,
        )


def _in_order(fill: Fill) -> tuple[int, int, str]:
    """Time, then the exchange's trade id (a number on most exchanges), so two trades in the
    same millisecond keep the order they happened in."""
    trade_id = fill.fill_id.rpartition(":")[2]
    return (fill.ts, int(trade_id), "") if trade_id.isdigit() else (fill.ts, 0, trade_id)


def _part(fill: Fill, qty: Decimal) -> Fill:
    """The first ``qty`` of a trade, with its share of the fee (same trade id)."""
    cost = None if fill.cost is None else fill.cost * qty / fill.qty
    fee, fee_qty = fill.fee * qty / fill.qty, fill.fee_qty * qty / fill.qty
    return replace(fill, qty=qty, fee=fee, cost=cost, fee_qty=fee_qty)
