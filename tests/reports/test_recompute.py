"""The daily and weekly reports' numbers equal figures recomputed independently, in plain
Python, from the very rows the store was filled with (no report code is called for them)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.config import Settings, load_settings
from rampart.reports.build import make_report
from rampart.reports.store import get_report
from rampart.runtime.business_time import uptime_grace_ms
from rampart.store.db import open_database
from tests.reports.helpers import DAY, MON, WEEK_MONDAY, Rows, fill_store

NOW = MON + 30 * DAY


def _settings() -> Settings:
    # Business time at wall speed (an exchange feed's, or a synthetic one played at 1x): the
    # store's outages last hours, far beyond health's 30 s staleness bound.
    return load_settings(feed={"speed": 1.0})


GRACE = uptime_grace_ms(_settings())


@pytest.fixture
def filled(db_url: str) -> Iterator[tuple[sa.Engine, Rows]]:
    engine = open_database(db_url)
    try:
        yield engine, fill_store(engine)
    finally:
        engine.dispose()


def _in(ts: int, start: int, end: int) -> bool:
    return start <= ts < end


def expected(rows: Rows, start: int, end: int, account: str | None = None) -> dict[str, Any]:
    """Every figure, from the rows, the long way round."""

    def mine(row: dict[str, Any], key: str = "account_id") -> bool:
        return account is None or row[key] == account

    trades = [t for t in rows.trades if _in(t["closed_at"], start, end) and mine(t)]
    pnls = [t["pnl"] for t in trades]
    won = [p for p in pnls if p > 0]
    lost = [p for p in pnls if p <= 0]
    profit, loss = sum(won, Decimal(0)), -sum(lost, Decimal(0))
    rr = [
        (t["take_profit"] - t["entry_price"]) / (t["entry_price"] - t["stop_loss"]) for t in trades
    ]
    by_account: dict[str, Decimal] = defaultdict(Decimal)
    by_strategy: dict[str, list[Decimal]] = defaultdict(list)
    for t in trades:
        by_account[t["account_id"]] += t["pnl"]
        by_strategy[t["strategy"]].append(t["pnl"])
    fills = [f for f in rows.fills if _in(f["ts"], start, end) and mine(f)]
    usd = sum((f["qty"] * f["price"] for f in fills if f["symbol"].endswith("/USDT")), Decimal(0))
    btc = sum((f["qty"] * f["price"] for f in fills if f["symbol"].endswith("/BTC")), Decimal(0))
    orders = Counter(
        o["status"] for o in rows.orders if _in(o["created_at"], start, end) and mine(o)
    )
    submitted = sum(n for s, n in orders.items() if s != "new")
    accepted = submitted - orders["rejected"] - orders["unknown"]
    refusals = Counter(r["code"] for r in rows.rejections if _in(r["ts"], start, end) and mine(r))
    trips = sum(
        1
        for e in rows.events
        if e["kind"] == "breaker" and _in(e["ts"], start, end) and mine(e, "scope")
    )
    incidents = sorted(i["id"] for i in rows.incidents if _in(i["opened_at"], start, end))

    snaps = [s for s in rows.snapshots if mine(s)]
    carried: dict[str, Decimal] = {}
    for s in sorted((s for s in snaps if s["ts"] < start), key=lambda s: s["ts"]):
        carried[s["account_id"]] = s["equity"]
    inside = sorted({s["ts"] for s in snaps if _in(s["ts"], start, end)})
    curve = [float(sum(carried.values()))] if carried else []
    for ts in inside:
        latest: dict[str, Decimal] = {}
        for s in sorted((s for s in snaps if s["ts"] <= ts), key=lambda s: s["ts"]):
            latest[s["account_id"]] = s["equity"]
        curve.append(float(sum(latest.values())))

    def equity_before(boundary: int) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for s in sorted((s for s in snaps if s["ts"] < boundary), key=lambda s: s["ts"]):
            out[s["account_id"]] = s["equity"]
        return out

    # Performance: an index of one unit held in the accounts, moved at each snapshot time by
    # what the accounts already there gained over what they held (these rows move no capital);
    # carol's first snapshot adds her capital to what is held, not to the index.
    index: list[tuple[int, float]] = [(start, 1.0)] if carried else []
    held = dict(carried)
    for ts in inside:
        now = {s["account_id"]: s["equity"] for s in snaps if s["ts"] == ts}
        gained = sum((now[a] - held[a] for a in now if a in held), Decimal(0))
        base = sum(held.values(), Decimal(0))
        held.update(now)
        if not index:
            index.append((ts, 1.0))
        else:
            index.append((ts, index[-1][1] * (1 + float(gained / base))))
    peak, drawdown = 1.0, 0.0
    for _, v in index:
        peak = max(peak, v)
        drawdown = max(drawdown, (peak - v) / peak)

    def index_before(boundary: int) -> float | None:
        if boundary == start:
            return 1.0 if carried else None
        found = [v for ts, v in index if ts < boundary]
        return found[-1] if found else None

    returns = []
    for b in range(start + DAY, end + 1, DAY):
        a, z = index_before(b - DAY), index_before(b)
        if a and z is not None:
            returns.append(z / a - 1)
    sharpe = None
    if len(returns) >= 2 and statistics.stdev(returns) > 0:
        sharpe = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(365)

    # Uptime: paint every millisecond-interval the service was up, merged, inside the window.
    intervals = sorted((max(b, start), min(last + GRACE, end)) for b, last in rows.spans)
    up, reach = 0, start
    for lo, hi in intervals:
        lo = max(lo, reach)
        if hi > lo:
            up += hi - lo
            reach = hi
    llm = sum((c for ts, c in rows.llm if _in(ts, start, end)), Decimal(0))
    return {
        "trades": len(trades),
        "wins": len(won),
        "losses": len(lost),
        "win_rate": len(won) / len(trades) if trades else None,
        "net_pnl": sum(pnls, Decimal(0)),
        "fees": sum((t["fees"] for t in trades), Decimal(0)),
        "profit_factor": float(profit / loss) if loss > 0 else None,
        "avg_reward_risk": float(sum(rr, Decimal(0)) / len(rr)) if rr else None,
        "volume_usd": usd,
        "volume_btc": btc,
        "fills": len(fills),
        "pnl_by_account": dict(by_account),
        "avg_pnl_per_investor": (
            sum(by_account.values(), Decimal(0)) / len(by_account) if by_account else None
        ),
        "strategies": {
            k: (len(v), sum(1 for p in v if p > 0), sum(v)) for k, v in by_strategy.items()
        },
        "orders": dict(orders),
        "order_success": accepted / submitted if submitted else None,
        "refusals": dict(refusals),
        "trips": trips,
        "incidents": incidents,
        "max_drawdown": drawdown if index else None,
        "twr": index_before(end) - 1 if index else None,
        # Equity at the start, or at the first snapshot of an account that began later.
        "start_equity": Decimal(sum(carried.values()))
        if carried
        else sum(equity_before(inside[0] + 1).values(), Decimal(0)),
        "end_equity": sum(equity_before(end).values(), Decimal(0)),
        "returns": returns,
        "sharpe": sharpe,
        "uptime": up / (end - start),
        "llm": llm,
    }


def money_text(value: Decimal) -> str:
    """An amount of the accounts' quote asset, USDT, as the reports write it."""
    text = f"{value.quantize(Decimal('0.01')):,.2f} USDT"
    return "+" + text if value.quantize(Decimal("0.01")) > 0 else text


def close(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is want
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def check(report: Any, want: dict[str, Any]) -> None:
    f = report.figures
    assert f.trades == want["trades"] and f.wins == want["wins"] and f.losses == want["losses"]
    assert f.win_rate == want["win_rate"]
    assert f.net_pnl == want["net_pnl"]
    assert f.fees == want["fees"]
    assert close(f.profit_factor, want["profit_factor"])
    assert close(f.avg_reward_risk, want["avg_reward_risk"])
    assert f.fills == want["fills"]
    assert f.volume_usd == want["volume_usd"]
    assert f.volume_other.get("BTC", Decimal(0)) == want["volume_btc"]
    if f.account is None:
        assert f.pnl_by_account == want["pnl_by_account"]
        assert f.avg_pnl_per_investor == want["avg_pnl_per_investor"]
    assert {s.strategy: (s.trades, s.wins, s.pnl) for s in f.strategies} == want["strategies"]
    assert f.orders_by_status == want["orders"]
    assert close(f.order_success, want["order_success"])
    assert f.refusals_by_code == want["refusals"]
    assert f.breaker_trips == want["trips"]
    if f.account is None:
        assert sorted(i.id for i in f.incidents) == want["incidents"]
    assert close(f.max_drawdown, want["max_drawdown"])
    assert f.start_equity == want["start_equity"]
    assert f.end_equity == want["end_equity"]
    assert close(f.time_weighted_return, want["twr"])
    assert len(f.daily_returns) == len(want["returns"])
    assert all(close(a, b) for a, b in zip(f.daily_returns, want["returns"], strict=True))
    assert close(f.sharpe, want["sharpe"])
    assert close(f.uptime, want["uptime"])
    assert f.llm_cost_usd == want["llm"]
    assert "nan" not in report.markdown.lower()


def test_daily_report_equals_an_independent_recomputation(
    filled: tuple[sa.Engine, Rows],
) -> None:
    engine, rows = filled
    tuesday = date(2024, 3, 5)
    report = make_report(engine, _settings(), "daily", tuesday, now_ms=NOW)
    want = expected(rows, MON + DAY, MON + 2 * DAY)
    assert want["trades"] > 5 and want["uptime"] < 1  # the day has trades and a downtime
    check(report, want)
    text = report.markdown
    assert (
        f"| trades closed | {want['trades']} ({want['wins']} won, {want['losses']} lost) |" in text
    )
    assert f"| net PnL | {money_text(want['net_pnl'])} |" in text
    assert (
        f"| volume | {want['volume_btc'].quantize(Decimal('1e-8')):,f} BTC · "
        f"{want['volume_usd'].quantize(Decimal('0.01')):,.2f} USDT ({want['fills']} fills) |"
        in text
    )
    avg = want["avg_pnl_per_investor"]
    assert (
        f"| average PnL per investor | {money_text(avg)} over "
        f"{len(want['pnl_by_account'])} investors |" in text
    )
    assert f"| order success | {want['order_success'] * 100:.1f} % |" in text
    assert f"| uptime | {want['uptime'] * 100:.1f} %" in text
    assert f"{want['llm'].quantize(Decimal('0.01')):,.2f} USD (no LLM configured" in text
    best = max(want["strategies"].items(), key=lambda kv: kv[1][2])
    assert f"| {best[0]} | {best[1][0]} |" in text.split("## Top strategies")[1].splitlines()[4]

    stored = get_report(engine, report.id)
    assert stored is not None and stored.kind == "daily" and stored.markdown == text
    assert stored.figures["net_pnl"] == str(want["net_pnl"])
    assert stored.figures["trades"] == want["trades"]
    assert set(stored.charts) == {"equity.png", "pnl_by_strategy.png", "order_outcomes.png"}


def test_weekly_report_equals_an_independent_recomputation(
    filled: tuple[sa.Engine, Rows],
) -> None:
    engine, rows = filled
    settings = _settings()
    settings.llm.enabled = True
    # Any day of the week gives the same Monday-to-Sunday week.
    report = make_report(engine, settings, "weekly", date(2024, 3, 9), now_ms=NOW)
    assert report.period.first_day == WEEK_MONDAY
    want = expected(rows, MON, MON + 7 * DAY)
    assert want["trades"] > 30 and len(want["returns"]) == 7
    check(report, want)
    text = report.markdown
    assert f"| win rate | {want['win_rate'] * 100:.1f} % |" in text
    assert f"| average reward:risk (planned) | {want['avg_reward_risk']:.2f} |" in text
    assert f"| profit factor | {want['profit_factor']:.2f} |" in text
    assert f"| max drawdown | {want['max_drawdown'] * 100:.1f} % |" in text
    assert f"| Sharpe (daily, annualised) | {want['sharpe']:.2f} |" in text
    assert f"| execution error rate | {(1 - want['order_success']) * 100:.1f} % |" in text
    budget = settings.llm.daily_budget_usd * 7
    assert f"of {budget.quantize(Decimal('0.01')):,.2f} USD budget" in text


@pytest.mark.parametrize("account", ["alice", "carol"])
def test_an_investors_weekly_summary_has_only_their_own_figures(
    filled: tuple[sa.Engine, Rows], account: str
) -> None:
    engine, rows = filled
    report = make_report(engine, _settings(), "weekly", WEEK_MONDAY, now_ms=NOW, account=account)
    want = expected(rows, MON, MON + 7 * DAY, account)
    check(report, want)
    assert report.kind == "investor_weekly" and report.scope == account
    assert f"Account {account}" in report.markdown
    others = {"alice", "bob", "carol"} - {account}
    assert not any(name in report.markdown for name in others)
    assert set(report.charts) == {"equity.png", "pnl_by_strategy.png"}
