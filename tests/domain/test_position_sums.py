"""The ledger's per-candle sums (net PnL, the positions' value, equity), written out for
speed, are the very Decimals of the methods they stand for: the same operations in the same
order, checked where rounding bites (more digits than the context keeps)."""

from __future__ import annotations

import random
from decimal import Decimal

from rampart.domain.positions import Ledger, Position


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(-(10**30), 10**30)).scaleb(rng.randint(-30, 2))


def test_net_pnl_and_positions_value_match_their_long_forms() -> None:
    rng = random.Random(37)
    for _ in range(3000):
        pos = Position("A/B", "t", "e", 0, _amount(rng), _amount(rng), qty=abs(_amount(rng)))
        pos.avg_price, pos.realized_gross = abs(_amount(rng)), _amount(rng)
        pos.entry_fees, pos.exit_fees = abs(_amount(rng)), abs(_amount(rng))
        mark = abs(_amount(rng))
        long = pos.realized_gross + pos.unrealized(mark) - pos.entry_fees - pos.exit_fees
        assert pos.net_pnl(mark) == long and str(pos.net_pnl(mark)) == str(long)
        ledger = Ledger.open("a", "B", Decimal(1))
        other = Position("C/B", "t", "f", 0, Decimal(1), Decimal(2), qty=abs(_amount(rng)))
        ledger.positions = {"A/B": pos, "C/B": other}
        marks = {"A/B": mark}  # C/B has no mark: valued at its average price
        want = sum(
            (p.market_value(marks.get(s, p.avg_price)) for s, p in ledger.positions.items()),
            Decimal(0),
        )
        assert str(ledger.positions_value(marks)) == str(want)
        assert str(ledger.equity(marks)) == str(ledger.cash + want)
