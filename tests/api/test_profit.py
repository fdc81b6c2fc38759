"""``GET /api/v1/accounts/{id}/profit``: realised PnL today / this week / all time, per business
day and week, win rate, best and worst trade, all current to the last candle; and the trades
list's ids and exit causes. The aggregation's invariants are a hypothesis property test."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.events import TradeClosed
from rampart.domain.positions import ClosedTrade
from rampart.operator.profit import DAY_MS, WEEK_MS, exit_cause, summarize, week_start
from rampart.store import queries
from tests.api.conftest import LiveApi

BASE = "/api/v1/accounts"
CAUSES = {"take-profit", "stop-loss", "agent", "investor", "flatten", "guard", "external"}


def _dec(text: str) -> Decimal:
    return Decimal(text)


def test_profit_equals_the_trades_and_the_portfolio(live: LiveApi) -> None:
    body = live.get(f"{BASE}/alice/profit", who="alice", params={"days": 30}).json()
    trades = live.get(f"{BASE}/alice/trades", who="alice", params={"limit": 1000}).json()
    closed = trades["trades"]
    assert closed, "the warm-up closes trades"
    pnls = [_dec(t["pnl"]) for t in closed]
    assert _dec(body["realized_all"]) == sum(pnls)
    assert body["trades"] == len(closed)
    assert body["wins"] == sum(1 for p in pnls if p > 0)
    assert body["losses"] == body["trades"] - body["wins"]
    assert _dec(body["win_rate"]) == Decimal(body["wins"]) / Decimal(body["trades"])
    assert _dec(body["best"]["pnl"]) == max(pnls) and _dec(body["worst"]["pnl"]) == min(pnls)
    assert _dec(body["fees"]) == sum(_dec(t["fees"]) for t in closed)
    # Business days, from the account's first day: every closed trade is in one listed day.
    assert sum(_dec(d["realized_pnl"]) for d in body["days"]) == sum(pnls)
    assert sum(d["trades"] for d in body["days"]) == len(closed)
    assert all(d["start"] >= body["since"] // DAY_MS * DAY_MS for d in body["days"])
    assert body["days"][0]["start"] == body["as_of"] // DAY_MS * DAY_MS
    portfolio = live.get(f"{BASE}/alice/portfolio", who="alice").json()
    assert body["unrealized_pnl"] == portfolio["unrealized_pnl"]
    assert body["as_of"] == portfolio["as_of"]
    # Every trade has its id (the entry order) and says who or what closed it.
    assert len({t["trade_id"] for t in closed}) == len(closed)
    assert {t["exit_cause"] for t in closed} <= CAUSES


def test_profit_counts_a_trade_the_store_has_not_saved(live: LiveApi) -> None:
    closed: list[TradeClosed] = []
    live.session.bus.subscribe(lambda e: closed.append(e) if isinstance(e, TradeClosed) else None)
    before = live.get(f"{BASE}/alice/profit", who="alice").json()
    for _ in range(3000):
        live.trade(1, checkpoint=False)
        if any(e.trade.account_id == "alice" for e in closed):
            break
    trade = next(e.trade for e in closed if e.trade.account_id == "alice")
    assert all(t.closed_at != trade.closed_at for t in queries.trades(live.session.db, "alice"))
    after = live.get(f"{BASE}/alice/profit", who="alice").json()
    assert after["trades"] == before["trades"] + 1
    assert _dec(after["realized_all"]) == _dec(before["realized_all"]) + trade.pnl
    newest = live.get(f"{BASE}/alice/trades", who="alice", params={"limit": 1}).json()
    assert newest["trades"][0]["trade_id"] == trade.entry_client_id


def test_profit_refuses_bad_arguments_and_other_accounts(live: LiveApi) -> None:
    for params in ({"days": 0}, {"days": "abc"}, {"weeks": 53}, {"days": -3}):
        response = live.get(f"{BASE}/alice/profit", who="alice", params=params)
        assert response.status_code == 422, params
        assert "error" in response.json()
    assert live.get(f"{BASE}/bob/profit", who="alice").status_code == 403
    assert live.get(f"{BASE}/nobody/profit").status_code == 404


# -- the aggregation ---------------------------------------------------------------------------

START = 1_704_067_200_000  # 2024-01-01, a Monday
pnl = st.decimals(min_value=-1000, max_value=1000, places=4, allow_nan=False)


def _trade(closed_at: int, value: Decimal) -> ClosedTrade:
    return ClosedTrade(
        account_id="a",
        symbol="BTC/USDT",
        strategy="trend",
        entry_client_id=f"e{closed_at}",
        opened_at=closed_at,
        closed_at=closed_at,
        qty=Decimal(1),
        entry_price=Decimal(100),
        exit_price=Decimal(100) + value,
        gross_pnl=value,
        fees=Decimal(0),
        pnl=value,
        exit_reason="exit",
        stop_loss=Decimal(90),
        take_profit=Decimal(120),
        risk=Decimal(10),
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40 * DAY_MS - 1), pnl), max_size=40),
    st.integers(0, 40 * DAY_MS - 1),
)
def test_per_day_and_week_sums_equal_all_time(
    raw: list[tuple[int, Decimal]], extra_ms: int
) -> None:
    trades = [_trade(START + at, value) for at, value in raw]
    now = START + max([extra_ms, *(at for at, _ in raw)])
    figures = summarize(trades, now, START, days=60, weeks=10)
    assert sum((d.realized_pnl for d in figures.days), Decimal(0)) == figures.realized_all
    assert sum((w.realized_pnl for w in figures.weeks), Decimal(0)) == figures.realized_all
    assert sum(d.trades for d in figures.days) == len(trades)
    assert figures.realized_all == sum((t.pnl for t in trades), Decimal(0))
    if trades:
        rate = figures.win_rate
        assert rate is not None and Decimal(0) <= rate <= Decimal(1)
        assert figures.wins + figures.losses == len(trades)
        assert figures.best is not None and figures.worst is not None
        assert figures.best.pnl == max(t.pnl for t in trades)
        assert figures.worst.pnl == min(t.pnl for t in trades)
    else:
        assert figures.win_rate is None and figures.best is None
    # Never a day before the account, never after now; newest first.
    starts = [d.start for d in figures.days]
    assert starts == sorted(starts, reverse=True) and starts[-1] == START
    assert starts[0] <= now < starts[0] + DAY_MS
    assert figures.weeks[-1].start == week_start(START) == START
    assert all(w.end - w.start == WEEK_MS for w in figures.weeks)
    today = now // DAY_MS * DAY_MS
    assert figures.realized_today == sum(
        (t.pnl for t in trades if t.closed_at >= today), Decimal(0)
    )


def test_a_new_account_lists_only_its_own_days() -> None:
    created = START + 3 * DAY_MS + 5
    figures = summarize([], created + 10, created, days=7, weeks=4)
    assert [d.start for d in figures.days] == [START + 3 * DAY_MS]
    assert [w.start for w in figures.weeks] == [START]


def test_exit_causes_in_words() -> None:
    assert exit_cause("take_profit", None) == "take-profit"
    assert exit_cause("stop_loss", None) == "stop-loss"
    assert exit_cause("external", None) == "external"
    assert exit_cause("exit", "investor") == "investor"
    assert exit_cause("exit", "kill switch: exchange outage") == "flatten"
    assert exit_cause("exit", "paused: review") == "flatten"
    assert exit_cause("exit", "position monitor") == "guard"
    assert exit_cause("exit", "EMA cross down") == "agent"
    assert exit_cause("exit", None) == "exit"
