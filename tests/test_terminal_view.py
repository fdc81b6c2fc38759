"""The live terminal view of ``rampart run`` at 80×24: no id and no amount is cut.
It used to print "9,877.…", "mean_r…", "ETH/US…" and "stop-l…" at 80 columns; now the columns
that hold ids and money are as wide as their widest cell, optional columns give way, and only
words (a rejection's reason) are shortened."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rampart.domain import money_format as mf
from rampart.loops.terminal_view import lines, render
from tests.api.conftest import LiveApi


def test_ids_and_money_are_whole_at_80_by_24(tmp_path: Path) -> None:
    api = LiveApi(tmp_path)
    try:
        api.start(warm=600)
        # A long operator engine id and an account worth millions, beside the demo accounts.
        started = api.call(api.ctx.operator.start_engine("BTC/USDT", "paper", "1000000", "ops"))
        big = started.account_id
        assert len(big) >= 16

        def hold() -> None:
            api.engine.accounts["alice"].ledger.cash = Decimal("1234567.891")

        api.call(hold)
        api.trade(40)

        def view() -> tuple[list[str], list[str], list[str]]:
            engine = api.engine
            shown = list(lines(render(engine, "Rampart · paper"), 80, 24))
            ids = list(engine.accounts)
            amounts = []
            for acct in engine.accounts.values():
                q = acct.ledger.quote
                equity = acct.ledger.equity(engine.marks)
                amounts.append(mf.money(equity, q))
                amounts.append(mf.pnl(equity - acct.ledger.capital, q))
                for pos in acct.ledger.positions.values():
                    tick = engine.venue.instrument(pos.symbol).tick_size
                    for level in (pos.avg_price, pos.stop_loss, pos.take_profit):
                        amounts.append(mf.price(level, "", tick))
            return shown, ids, amounts

        shown, ids, amounts = api.call(view)
    finally:
        api.stop()
    text = "\n".join(shown)
    assert len(shown) <= 24, text
    assert max(len(line) for line in shown) <= 80, text
    for name in ids:
        assert any(line.split()[:1] == [name] for line in shown), (name, text)
    for amount in amounts:
        assert amount in text, (amount, text)
    words = [w for line in shown for w in line.split()]
    cut = [w for w in words if w.endswith("…") and any(ch.isdigit() for ch in w)]
    assert cut == [], text
