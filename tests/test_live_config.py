"""Live means live: ``testnet`` and ``live`` trade only on an exchange's candles and venue,
with a master key and PostgreSQL (or SQLite accepted in so many words), and paper mode never
sends real orders. Every combination of mode, feed, venue, store and master key is refused
with its exact sentence or accepted; ``rampart run`` says it without a traceback and before
it touches the store; and a venue that can be reconciled is reconciled whatever the feed.
"""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.loops.candle import LoopState
from rampart.loops.exchange import FollowLoop, ReconcileLoop, stop_venue
from rampart.market.settings import SIMULATED_FEEDS
from rampart.modes import master_key_set
from rampart.security.secrets import generate_key
from rampart.trading.ports import Updates
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.trading.reconcile.schedule import ReconnectWatch, reconciled_by
from rampart.wiring.service import Service
from rampart.wiring.venue_kinds import VENUE_KINDS, check_trading_mode, make_venue
from rampart_testkit.simulator import start_simulator

PG = "postgresql+psycopg://rampart@127.0.0.1:1/rampart"
"""Never connected to: the rules read the URL only."""

MODES = ("paper", "testnet", "live")
FEEDS = ("synthetic", "replay", "ccxt")
VENUES: dict[str, dict[str, Any]] = {
    "paper": {"kind": "paper"},
    "ccxt-real": {"kind": "ccxt"},
    "ccxt-sandbox": {"kind": "ccxt", "sandbox": True},
    "ccxt-simulator": {"kind": "ccxt", "api_url": "http://127.0.0.1:9"},
}
STORES: dict[str, dict[str, Any]] = {
    "sqlite": {"url": "sqlite:///var/x.db"},
    "sqlite-allowed": {"url": "sqlite:///var/x.db", "allow_sqlite_on_exchange": True},
    "postgresql": {"url": PG},
}

VENUE_KIND = "Mode {mode} sends orders to an exchange: set 'venue.kind' to ccxt."
FEED_KIND = (
    "Mode {mode} must trade on the exchange's own candles, not {feed} ones: set 'feed.kind' "
    "to ccxt."
)
LIVE_ON_TESTNET = (
    "Mode live would trade on binance's testnet because 'venue.sandbox' is true: set 'mode' to "
    "testnet, or 'venue.sandbox' to false."
)
NO_MASTER_KEY = (
    "Mode {mode} needs a master key to keep exchange keys encrypted: set RAMPART_MASTER_KEY "
    "(make one with `rampart secrets generate`) or 'vault.url'."
)
SQLITE = (
    "Mode {mode} keeps the record of exchange orders in PostgreSQL: set 'store.url' to a "
    "postgresql+psycopg:// URL, or 'store.allow_sqlite_on_exchange' to true to accept SQLite."
)
PAPER_REAL = (
    "Mode paper would send real orders to binance: set 'venue.sandbox' to true for its "
    "testnet, or 'mode' to live."
)


def expected(mode: str, feed: str, venue: str, store: str, key: bool) -> str | None:
    """The specification, written out: the first refusal an operator meets, or None."""
    if mode == "paper":
        return PAPER_REAL if venue == "ccxt-real" else None
    if venue == "paper":
        return VENUE_KIND.format(mode=mode)
    if feed != "ccxt":
        return FEED_KIND.format(mode=mode, feed=feed)
    if mode == "live" and venue == "ccxt-sandbox":
        return LIVE_ON_TESTNET
    if not key:
        return NO_MASTER_KEY.format(mode=mode)
    if store == "sqlite":
        return SQLITE.format(mode=mode)
    return None


def settings_for(mode: str, feed: str, venue: str, store: str, key: bool) -> Any:
    # A replay feed names its file (the settings are refused without one when they are read);
    # the mode rules read only its kind.
    return load_settings(
        mode=mode,
        feed={"kind": feed, "path": __file__} if feed == "replay" else {"kind": feed},
        venue=VENUES[venue],
        store=STORES[store],
        master_key=generate_key() if key else None,
    )


COMBINATIONS = list(itertools.product(MODES, FEEDS, VENUES, STORES, (True, False)))


@pytest.mark.parametrize(("mode", "feed", "venue", "store", "key"), COMBINATIONS)
def test_every_combination_is_refused_or_accepted_exactly(
    mode: str, feed: str, venue: str, store: str, key: bool
) -> None:
    settings = settings_for(mode, feed, venue, store, key)
    refusal = expected(mode, feed, venue, store, key)
    if refusal is None:
        check_trading_mode(settings)
        return
    with pytest.raises(ConfigError) as caught:
        check_trading_mode(settings)
    assert caught.value.message == refusal


def test_the_matrix_accepts_only_what_it_should() -> None:
    # The exchange modes start on one shape only: both on the exchange, a key, PostgreSQL or
    # SQLite said so; paper starts anywhere but on the real exchange.
    accepted = [c for c in COMBINATIONS if expected(*c) is None]
    exchange = {(m, f, v, s) for m, f, v, s, k in accepted if m != "paper"}
    assert exchange == {
        (m, "ccxt", v, s)
        for m in ("testnet", "live")
        for v in ("ccxt-real", "ccxt-sandbox", "ccxt-simulator")
        for s in ("sqlite-allowed", "postgresql")
        if not (m == "live" and v == "ccxt-sandbox")
    }
    assert all(k for m, *_, k in accepted if m != "paper")
    assert not [c for c in accepted if c[0] == "paper" and c[2] == "ccxt-real"]


def test_a_master_key_is_set_by_value_or_by_vault_never_by_blanks() -> None:
    assert not master_key_set(load_settings(master_key="   "))
    assert master_key_set(load_settings(vault={"url": "http://127.0.0.1:8200"}))
    assert master_key_set(load_settings(master_key=generate_key()))
    live = {"mode": "live", "feed": {"kind": "ccxt"}, "venue": {"kind": "ccxt"}}
    with pytest.raises(ConfigError, match="needs a master key"):
        check_trading_mode(load_settings(**live, master_key=" ", store={"url": PG}))
    check_trading_mode(load_settings(**live, vault={"url": "http://v:8200"}, store={"url": PG}))


def test_no_venue_is_built_for_settings_run_would_refuse() -> None:
    # The finding: live, a ccxt venue, the default synthetic feed and SQLite.
    settings = load_settings(mode="live", venue={"kind": "ccxt"})
    with pytest.raises(ConfigError) as caught:
        make_venue(settings, {}, SimClock(0))
    assert caught.value.message == FEED_KIND.format(mode="live", feed="synthetic")


def test_service_refuses_before_touching_the_store_or_the_exchange(tmp_path: Path) -> None:
    db = tmp_path / "var" / "rampart.db"
    settings = load_settings(
        mode="live",
        venue={"kind": "ccxt", "api_url": "http://127.0.0.1:9"},  # nothing listens there
        store={"url": f"sqlite:///{db}"},
        master_key=generate_key(),
        api={"enabled": False},
        accounts=[],
    )
    service = Service(settings, Console(file=(tmp_path / "screen.txt").open("w")), view=False)

    with pytest.raises(ConfigError) as caught:
        asyncio.run(service.open())
    assert caught.value.message == FEED_KIND.format(mode="live", feed="synthetic")
    assert not db.parent.exists(), "the refusal came after the store was made"


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        (
            {"RAMPART_MODE": "live", "RAMPART_VENUE__KIND": "ccxt"},
            FEED_KIND.format(mode="live", feed="synthetic"),
        ),
        ({"RAMPART_MODE": "testnet"}, VENUE_KIND.format(mode="testnet")),
        (
            {
                "RAMPART_MODE": "live",
                "RAMPART_VENUE__KIND": "ccxt",
                "RAMPART_FEED__KIND": "ccxt",
                "RAMPART_MASTER_KEY": generate_key(),
            },
            SQLITE.format(mode="live"),
        ),
    ],
)
def test_rampart_run_says_the_refusal_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], sentence: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "--max-candles", "1", "--no-view"], env=env)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert said == f"Error: {sentence}"
    assert "Traceback" not in result.output
    assert not (tmp_path / "var" / "rampart.db").exists()


# -- reconciliation: the venue can be reconciled, so it is --------------------------------


@pytest.mark.parametrize(
    ("venue", "feed", "by"),
    [
        ("ccxt", "ccxt", "exchange loop"),
        ("ccxt", "synthetic", "reconcile loop"),
        ("ccxt", "replay", "reconcile loop"),
        ("paper", "ccxt", None),
        ("paper", "synthetic", None),
        ("paper", "replay", None),
    ],
)
def test_who_reconciles_depends_on_the_venue_not_the_feed(
    venue: str, feed: str, by: str | None
) -> None:
    assert reconciled_by(VENUE_KINDS[venue].own_books, feed not in SIMULATED_FEEDS) == by


def test_the_reconcile_loop_runs_at_start_on_reconnect_and_on_its_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ran: list[str] = []

    async def fake_reconcile(session: Any, lock: Any, reconciler: Any, reason: str) -> None:
        ran.append(reason)

    monkeypatch.setattr("rampart.loops.exchange.reconcile_venue", fake_reconcile)
    ops = SimClock(1_000_000)
    settings = SimpleNamespace(venue=SimpleNamespace(reconcile_concurrency=16))
    session: Any = SimpleNamespace(cursor=3, settings=settings)  # resuming after 3 candles
    state = LoopState()
    watch = ReconnectWatch()
    loop = ReconcileLoop(
        session,
        lock=asyncio.Lock(),
        state=state,
        ops_clock=ops,
        reconnects=watch,
        poll_s=5,
        reconcile_every_s=300,
    )

    async def scenario() -> list[str | None]:
        said = [await loop.step()]  # the engine has not loaded its checkpoint yet
        watch("fetch_balance", 0.1, "timeout")
        watch("fetch_balance", 0.1, None)  # a reconnect before the start run
        state.index = 3
        said.append(await loop.step())
        said.append(await loop.step())  # the reconnect was folded into the start run
        ops.advance(299_000)
        said.append(await loop.step())
        watch("fetch_order", 0.1, "disconnected")
        watch("fetch_order", 0.1, None)
        said.append(await loop.step())
        ops.advance(299_000)
        said.append(await loop.step())
        ops.advance(1_000)
        said.append(await loop.step())
        return said

    said = asyncio.run(scenario())
    assert said == [None, "start", None, None, "reconnect", None, "interval"]
    assert ran == loop.reasons == ["start", "reconnect", "interval"]


def test_the_reconcile_loop_ends_a_clean_stop_with_the_last_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the stop event (SIGTERM), once its start pass has run, the loop's last act is the
    last pass: fills booked and coins covered before the process exits."""
    ran: list[str] = []

    async def fake_reconcile(session: Any, lock: Any, reconciler: Any, reason: str) -> None:
        ran.append(reason)

    async def fake_stop(session: Any, lock: Any, reconciler: Any) -> None:
        assert not lock.locked()  # it takes the service's lock itself
        ran.append("stop")

    monkeypatch.setattr("rampart.loops.exchange.reconcile_venue", fake_reconcile)
    monkeypatch.setattr("rampart.loops.exchange.stop_venue", fake_stop)
    settings = SimpleNamespace(venue=SimpleNamespace(reconcile_concurrency=16))
    session: Any = SimpleNamespace(cursor=0, settings=settings)
    loop = ReconcileLoop(
        session,
        lock=asyncio.Lock(),
        state=LoopState(),
        ops_clock=SimClock(1_000_000),
        reconnects=None,
        poll_s=5,
    )

    async def scenario() -> None:
        stop = asyncio.Event()
        stop.set()
        await loop.run(stop, lambda: None)  # stopped before its start pass: nothing to do
        assert ran == []
        await loop.step()
        await loop.run(stop, lambda: None)

    asyncio.run(scenario())
    assert ran == ["start", "stop"]


def test_a_last_pass_cancelled_at_the_drain_bound_leaves_its_work_in_the_checkpoint() -> None:
    """The candle in hand holds the lock past the drain bound: the last pass never runs, and
    the checkpoint written after says what the next start must do first."""
    engine = SimpleNamespace(capabilities=SimpleNamespace(updates=Updates.POLLED), owed="")
    session: Any = SimpleNamespace(engine=engine)

    async def scenario() -> None:
        lock = asyncio.Lock()
        await lock.acquire()  # a candle in hand
        task = asyncio.create_task(stop_venue(session, lock, Reconciler()))
        await asyncio.sleep(0)
        task.cancel()  # the supervisor's drain bound
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert engine.owed.startswith("Stopping with work left: the last pass did not run")


def test_a_ccxt_venue_on_a_synthetic_feed_is_reconciled_by_the_running_service(
    tmp_path: Path,
) -> None:
    """Paper mode on the simulator with synthetic candles: the service's own reconcile loop
    runs at start and books the exchange's balance, which differs from the configured capital.
    """
    result: dict[str, Any] = {}

    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"]) as sim:
            await sim.advance(3)
            key, secret = sim.create_account({"USDT": "2500"}, account_id="a1")
            settings = load_settings(
                store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
                api={"enabled": False},
                alerts={"enabled": False},
                feed={"kind": "synthetic", "symbols": ["BTC/USDT"], "speed": 1e9},
                venue={
                    "kind": "ccxt",
                    "exchange": "binance",
                    "api_url": sim.url,
                    "request_timeout_s": 5,
                    "credentials": {"a1": {"api_key": key, "secret": secret}},
                },
                accounts=[
                    {
                        "id": "a1",
                        "agent": "trend",
                        "profile": "moderate",
                        "capital": "1000",
                        "symbols": ["BTC/USDT"],
                    }
                ],
            )
            service = Service(
                settings,
                Console(file=(tmp_path / "screen.txt").open("w"), width=160),
                max_candles=20,
                view=False,
                ops_clock=SimClock(1_000_000),
                install_signals=False,
            )
            session = await service.run()
            result["loop"] = service.reconcile_loop
            result["follow"] = service.parts.follow_loop
            result["cash"] = session.engine.accounts["a1"].ledger.cash

    asyncio.run(scenario())
    loop = result["loop"]
    assert isinstance(loop, ReconcileLoop)
    assert isinstance(result["follow"], FollowLoop)  # orders under way followed between candles
    assert loop.reasons[0] == "start"
    assert loop.reconciler.runs >= 1
    assert result["cash"] == Decimal("2500"), "the exchange's balance was never reconciled"


def test_testnet_on_postgresql_with_a_master_key_starts(tmp_path: Path, pg_url: str) -> None:
    """The accepted shape, started for real: the exchange's feed and venue (the simulator),
    a master key and PostgreSQL, no allow flag needed."""
    opened: dict[str, Any] = {}

    async def scenario() -> None:
        async with start_simulator(symbols=["BTC/USDT"]) as sim:
            await sim.advance(3)
            key, secret = sim.create_account({"USDT": "1000"}, account_id="a1")
            settings = load_settings(
                mode="testnet",
                store={"url": pg_url},
                master_key=generate_key(),
                api={"enabled": False},
                alerts={"enabled": False},
                feed={"kind": "ccxt", "symbols": ["BTC/USDT"]},
                venue={
                    "kind": "ccxt",
                    "api_url": sim.url,
                    "credentials": {"a1": {"api_key": key, "secret": secret}},
                },
                accounts=[{"id": "a1", "capital": "1000", "symbols": ["BTC/USDT"]}],
            )
            service = Service(
                settings, Console(file=(tmp_path / "screen.txt").open("w")), view=False
            )
            try:
                await service.open()
                opened["exchange_loop"] = service.exchange_loop is not None
                opened["reconcile_loop"] = service.reconcile_loop
            finally:
                await service.aclose()

    asyncio.run(scenario())
    # The exchange loop reconciles between its candles; no second reconciler beside it.
    assert opened == {"exchange_loop": True, "reconcile_loop": None}
