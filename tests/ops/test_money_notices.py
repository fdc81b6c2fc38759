"""Investors and the operator are told when reconciliation finds money that moved outside
Rampart: a position sold by hand, coins bought by hand, an unexplained venue report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from rampart.domain.events import ReconciliationRepaired, ReportUnexplained, TradeClosed
from rampart.domain.positions import ClosedTrade
from rampart.notices.investor_notices import EXCHANGE, InvestorNotice
from rampart.notices.money_notices import MoneyNotices

D = Decimal


class Inbox:
    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.accounts: list[tuple[str, str]] = []
        self.operators: list[str] = []

    async def tell_account(self, account_id: str, html: str) -> bool:
        self.accounts.append((account_id, html))
        return self.up

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        self.operators.append(html)
        return self.up


def _trade(reason: str) -> ClosedTrade:
    return ClosedTrade(
        "tg-101", "BTC/USDT", "trend", "rp-e", 1, 2, D("0.02"), D("42000"), D("41740"),
        D("-5.2"), D("0.4"), D("-5.6"), reason, D("41000"), D("43000"), D("20"),
    )  # fmt: skip


def test_a_hand_close_a_hand_buy_and_an_unexplained_report_are_told() -> None:
    async def go() -> None:
        inbox = Inbox()
        outbox: list[InvestorNotice] = []
        notices = MoneyNotices(lambda: inbox, outbox.append)
        notices(TradeClosed(2, _trade("stop_loss")))  # ordinary trading: nobody is paged
        notices(TradeClosed(2, _trade("external")))
        notices(
            ReconciliationRepaired(
                3, "tg-101", "holdings_apart", None, "BTC/USDT", "The venue holds 0.01 BTC <x>"
            )
        )
        notices(ReportUnexplained(4, "tg-101", "rp-abc-0000000007-s", "BTC/USDT", "a sell"))
        # The investor's messages go to the durable outbox at once (on the bus), as
        # 'exchange' notices keyed by their event; never straight to Telegram.
        assert [n.account_id for n in outbox] == ["tg-101"] * 3
        assert {n.kind for n in outbox} == {EXCHANGE}
        assert len({n.key for n in outbox}) == 3 and [n.ts for n in outbox] == [2, 3, 4]
        told = [n.text for n in outbox]
        assert "sold outside Rampart" in told[0] and "41,740.00" in told[0]
        assert "-5.60" in told[0]
        assert "&lt;x&gt;" in told[1]  # HTML-escaped for Telegram
        assert "stops opening new positions" in told[2]
        assert await notices.flush() == 3
        assert inbox.accounts == []
        assert "rp-abc-0000000007-s" in inbox.operators[2]
        assert all("tg-101" in html for html in inbox.operators)
        # The same event seen again (replayed after a restart) has the same key.
        again: list[InvestorNotice] = []
        MoneyNotices(lambda: inbox, again.append)(TradeClosed(2, _trade("external")))
        assert again[0].key == outbox[0].key

    asyncio.run(go())


def test_notices_wait_until_there_is_someone_to_tell() -> None:
    async def go() -> None:
        box: list[Inbox] = []
        notices = MoneyNotices(lambda: box[0] if box else None)
        notices(TradeClosed(2, _trade("external")))
        assert await notices.flush() == 0 and len(notices.pending()) == 1
        box.append(Inbox())
        assert await notices.flush() == 1 and notices.pending() == []
        assert len(box[0].operators) == 1

    asyncio.run(go())
