"""Revenue and fees by week: the operator's fees from investors per the terms (a
prorated subscription, a share of profit above the high-water mark), bags.fm partner fees from
the wallet readings, the fees the accounts paid, infrastructure and LLM cost, the net in
dollars; on SQLite and PostgreSQL, and as CSV."""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.config import load_settings
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import RampartError
from rampart.domain.events import FillBooked, TradeClosed
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Side
from rampart.reports.revenue import (
    PARTNER_FEES,
    WEEK_MS,
    performance_fees,
    revenue,
    week_start,
)
from rampart.reports.revenue_text import CSV_COLUMNS, csv_text, markdown
from rampart.store import models as m
from rampart.store import ops_records
from rampart.store.db import open_database
from rampart.store.market_closes import market_closes
from rampart.store.models.llm import llm_calls
from rampart.store.writer import StoreWriter
from tests.store.factories import round_trip

DAY = 86_400_000
W0 = week_start(1_700_000_000_000)
W1, W2 = W0 + WEEK_MS, W0 + 2 * WEEK_MS
NOW = W2 + 3 * DAY + DAY // 2
PER_DAY = "30.4375"
"""A month's fee that is exactly 1.00 a day (30.4375 × 12 / 365.25)."""


def _fill(account: str, ts: int, fee: str) -> FillBooked:
    fill = Fill(f"{account}:f:{ts}", f"{account}-c-{ts}", account, "BTC/USDT", Side.BUY,
                Decimal("0.01"), Decimal("100"), Decimal(fee), Liquidity.TAKER, ts)  # fmt: skip
    return FillBooked(ts, fill, "entry", "trend")


def _seed(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    for account, created in (("inv-1", W1 + 2 * DAY), ("own-1", W0)):
        spec = AccountSpec(account, "trend", "moderate", Decimal(1000), ("BTC/USDT",))
        writer.upsert_account(spec, "active", False, created)
    _, trade = round_trip("inv-1")
    for n, (ts, pnl) in enumerate(((W0 + DAY, "100"), (W1 + 3 * DAY, "-60"), (W2 + DAY, "80"))):
        closed = dataclasses.replace(trade, closed_at=ts, pnl=Decimal(pnl), entry_client_id=f"e{n}")
        writer(TradeClosed(ts, closed))
    # The operator's own account trades too: its PnL is nobody's fee, its fees are paid.
    own = dataclasses.replace(trade, account_id="own-1", closed_at=W2 + DAY, pnl=Decimal(500))
    writer(TradeClosed(W2 + DAY, own))
    writer(_fill("inv-1", W2 + DAY, "1.5"))
    writer(_fill("own-1", W2 + DAY, "2"))
    writer(_fill("inv-1", W0 + DAY, "9"))  # before the weeks shown
    writer.flush()
    with db.begin() as conn:
        conn.execute(m.investors.insert(), {"telegram_id": 7, "account_id": "inv-1",
                     "accepted_disclaimer": True, "profile": "moderate", "capital": "1000",
                     "mode": "live", "created_at": W1})  # fmt: skip
        conn.execute(llm_calls.insert(), {"ts": W1 + DAY, "agent": "llm", "model": "m",
                     "prompt_tokens": 1, "completion_tokens": 1, "cost_usd": "0.40",
                     "cached": False, "outcome": "ok", "latency_ms": 5})  # fmt: skip
        conn.execute(market_closes.insert(), {"symbol": "SOL/USDC", "ts": W2 + 2 * DAY,
                                              "close": 150.0})  # fmt: skip
    for ts, earned in ((W1 + DAY, "1.0"), (W2 + DAY, "1.5"), (W2 + 3 * DAY, "2.5")):
        detail = {"wallet": "Partner1111", "earned_sol": earned}
        ops_records.record_event(db, PARTNER_FEES, ts, "cli", detail)


def _settings() -> object:
    return load_settings(
        ops={
            "infra_cost_usd_per_month": {"db": PER_DAY},
            "investor_fees": {"subscription_per_month": PER_DAY, "performance_share": "0.2"},
        }
    )


def test_two_weeks_of_revenue_and_fees_from_the_store(db_url: str) -> None:
    db = open_database(db_url)
    try:
        _seed(db)
        found = revenue(db, _settings(), 2, NOW)
    finally:
        db.dispose()
    first, second = found.weeks
    assert [first.week, second.week] == [W1, W2]
    inv = {i.week: i for i in found.investors}
    assert set(inv) == {W1, W2} and {i.account_id for i in found.investors} == {"inv-1"}
    # Week 1: a loss, five days of subscription (the account began on its Wednesday).
    a = inv[W1]
    assert (a.realized_pnl, a.subscription, a.performance_fee) == (Decimal(-60), Decimal("5.00"),
                                                                    Decimal("0.00"))  # fmt: skip
    assert a.net == Decimal("-65.00") and a.high_water == Decimal(100)
    # Week 2: 80 brings the cumulative PnL from 40 to 120: only the 20 above the mark of 100
    # earns the 20 % share; 3.5 days of subscription so far.
    b = inv[W2]
    assert (b.realized_pnl, b.exchange_fees) == (Decimal(80), Decimal("1.5"))
    assert (b.subscription, b.performance_fee, b.operator_fee) == (
        Decimal("3.50"), Decimal("4.00"), Decimal("7.50"))  # fmt: skip
    assert b.net == Decimal("72.50") and b.high_water == Decimal(120)
    assert first.operator_fees == {"USDT": Decimal("5.00")} and first.llm_usd == Decimal("0.40")
    assert first.infra_usd == Decimal("7.00") and first.partner_fees_sol == Decimal(0)
    assert first.net_usd == Decimal("-2.40") and first.sol_usd is None
    assert second.operator_fees == {"USDT": Decimal("7.50")}
    assert second.exchange_fees == {"USDT": Decimal("3.5")}
    assert second.partner_fees_sol == Decimal("1.5") and second.sol_usd == Decimal("150.00")
    assert second.infra_usd == Decimal("3.50") and second.llm_usd == 0
    assert second.net_usd == Decimal("7.50") + Decimal("225") - Decimal("3.50")
    rows = list(csv.reader(io.StringIO(csv_text(found))))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 1 + 2 + 2
    assert rows[2][:3] == ["2023-11-27", "operator", "USD"] and rows[2][12] == "229.00"
    assert rows[4][1] == "inv-1" and rows[4][3] == "7.50" and rows[4][12] == "72.50"
    text = "\n".join(markdown(found))
    assert "## Revenue and fees" in text and "inv-1" not in text
    assert "1 account(s), realised PnL 80.00 USDT, operator fees 7.50 USDT" in text


def test_a_partner_fee_with_no_sol_price_is_left_out_of_the_net_and_said(tmp_path: object) -> None:
    db = open_database(f"sqlite:///{tmp_path}/r.db")
    try:
        _seed(db)
        with db.begin() as conn:
            conn.execute(market_closes.delete())
        week = revenue(db, _settings(), 1, NOW).weeks[0]
    finally:
        db.dispose()
    assert week.net_usd == Decimal("7.50") - Decimal("3.50")
    assert week.left_out == ("partner fees of 1.5 SOL (no SOL price recorded)",)


@pytest.mark.parametrize("weeks", [0, 53, True])
def test_a_bad_number_of_weeks_is_refused_in_a_sentence(weeks: object) -> None:
    with pytest.raises(RampartError, match="whole number from 1 to 52"):
        revenue(None, None, weeks, NOW)  # type: ignore[arg-type]


money = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(money, max_size=30), st.decimals(min_value=0, max_value=1, places=2))
def test_no_profit_is_charged_twice_and_losses_are_won_back_first(
    pnls: list[Decimal], share: Decimal
) -> None:
    """Whatever the weeks bring, the fees add up to the share of the highest cumulative PnL
    reached (to the cent a week), none is negative, and a week below the mark pays nothing."""
    charged = performance_fees(pnls, share)
    cumulative, peak = Decimal(0), Decimal(0)
    for pnl, (fee, high) in zip(pnls, charged, strict=True):
        before = peak
        cumulative += pnl
        peak = max(peak, cumulative)
        assert fee >= 0 and high == peak
        if cumulative <= before:
            assert fee == 0
    total = sum((fee for fee, _ in charged), Decimal(0))
    assert abs(total - share * peak) <= Decimal("0.005") * len(pnls)


def test_the_weekly_report_carries_its_week_and_three_before(tmp_path: object) -> None:
    from datetime import UTC, datetime

    from rampart.reports.build import make_report
    from rampart.reports.store import get_report

    db = open_database(f"sqlite:///{tmp_path}/w.db")
    try:
        _seed(db)
        day = datetime.fromtimestamp((W1 + DAY) / 1000, UTC).date()
        made = make_report(db, _settings(), "weekly", day, now_ms=NOW)
        stored = get_report(db, made.id)
    finally:
        db.dispose()
    assert stored is not None
    assert [w["week"] for w in stored.figures["revenue"]["weeks"]][-1] == "2023-11-20"
    assert "## Revenue and fees" in made.markdown and "inv-1" not in made.markdown
    # The report's week, not the one after: the investor lost 60 in it.
    assert "realised PnL -60.00 USDT, operator fees 5.00 USDT" in made.markdown
    assert made.markdown.count("| 2023-") >= 4


def test_rampart_review_revenue_prints_the_weeks_and_writes_the_csv(tmp_path: object) -> None:
    from pathlib import Path

    import yaml
    from typer.testing import CliRunner

    from rampart.cli.main import app

    folder = Path(str(tmp_path))
    db = open_database(f"sqlite:///{folder / 'r.db'}")
    try:
        _seed(db)
    finally:
        db.dispose()
    config = folder / "rampart.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "store": {"url": f"sqlite:///{folder / 'r.db'}"},
                "ops": {"investor_fees": {"subscription_per_month": PER_DAY}},
            }
        )
    )
    out = folder / "revenue.csv"
    args = ["review", "revenue", "--weeks", "2", "--csv", str(out), "--config", str(config)]
    done = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "Revenue and fees by week" in done.output and f"Wrote 4 rows to {out}" in done.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    # Now (the wall clock: the store records no service clock) is long after the seeded weeks:
    # inv-1 pays its subscription every day of both weeks, nothing else happened.
    assert [r[1] for r in rows[1:]] == ["operator", "operator", "inv-1", "inv-1"]
    assert rows[3][4] == "7.00" or rows[4][4] == "7.00"
    refused = CliRunner().invoke(app, [*args[:4], "--csv", str(folder), "--config", str(config)])
    assert refused.exit_code != 0 and "Could not write" in refused.output
    assert "Traceback" not in refused.output
