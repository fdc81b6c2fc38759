"""Settings → venue: paper by default, ccxt with per-account keys, the simulator by URL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.clock import SimClock
from rampart.config import load_settings, masked_dump
from rampart.domain.errors import ConfigError, VenueError
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.paper import PaperVenue
from rampart.wiring.session import TradingSession
from rampart.wiring.venue_kinds import load_instruments, make_venue
from rampart.wiring.venues import public_client
from rampart_testkit.simulator import start_simulator

ACCOUNT = {"id": "a1", "agent": "trend", "symbols": ["BTC/USDT"], "capital": "1000"}


def _ccxt_settings(url: str, key: str, secret: str, **venue):
    return load_settings(
        venue={
            "kind": "ccxt",
            "api_url": url,
            "rate_limit_ms": 1,
            "request_timeout_s": 2,
            "credentials": {"a1": {"api_key": key, "secret": secret}},
            **venue,
        },
        feed={"symbols": ["BTC/USDT"]},
        accounts=[ACCOUNT],
    )


def test_paper_is_the_default_and_live_needs_an_exchange() -> None:
    settings = load_settings()
    assert isinstance(make_venue(settings, {}, SimClock(0)), PaperVenue)
    with pytest.raises(ConfigError, match=r"set 'venue\.kind' to ccxt"):
        make_venue(load_settings(mode="live"), {}, SimClock(0))


def test_every_account_needs_its_key_and_secrets_are_masked() -> None:
    settings = load_settings(
        venue={
            "kind": "ccxt",
            "sandbox": True,  # paper mode may not send orders to the real exchange
            "credentials": {"a1": {"api_key": "k-123", "secret": "s-456"}},
        },
        accounts=[ACCOUNT, {**ACCOUNT, "id": "a2"}],
    )
    with pytest.raises(ConfigError, match=r"'a2' has no API key .* 'venue.credentials.a2'"):
        make_venue(settings, {}, SimClock(0))
    shown = masked_dump(settings)
    assert shown["venue"]["credentials"]["a1"] == {"api_key": "********", "secret": "********"}
    assert "k-123" not in str(shown) and "s-456" not in str(shown)


def test_testnet_mode_uses_the_exchange_sandbox() -> None:
    settings = load_settings(mode="testnet", venue={"kind": "ccxt"})
    client = public_client(settings)
    try:
        assert "testnet" in client.urls["api"]["public"]
    finally:
        asyncio.run(client.close())


def test_a_trading_session_runs_on_the_simulator_from_settings(tmp_path: Path) -> None:
    async def go() -> None:
        async with start_simulator(symbols=["BTC/USDT"]) as sim:
            await sim.advance(3)
            key, secret = sim.create_account({"USDT": "1000"}, account_id="a1")
            settings = _ccxt_settings(sim.url, key, secret)
            instruments = await load_instruments(settings, ["BTC/USDT"])
            assert instruments["BTC/USDT"].min_notional == Decimal("5")
            clock = SimClock(sim.exchange.now_ms)
            session = TradingSession(
                settings,
                clock,
                instruments,
                db_url=f"sqlite:///{tmp_path / 'r.db'}",
                checkpoint_name="run",
                accounts=list(settings.accounts),
                checkpoint_every=10,
            )
            venue = session.venue
            assert isinstance(venue, CcxtVenue) and venue.name == "binance"
            try:
                await session.open()
                for _ in range(20):
                    await sim.advance(1)
                    clock.set(sim.exchange.now_ms)
                    for candle in sim.exchange.tape_last():
                        await session.process(candle)
                snap = session.engine.snapshot()
                assert snap["venue"]["kind"] == "ccxt"
                session.close()
            finally:
                await venue.aclose()

    asyncio.run(go())


def test_a_bad_key_fails_the_start_in_one_sentence(tmp_path: Path) -> None:
    async def go() -> None:
        async with start_simulator(symbols=["BTC/USDT"]) as sim:
            key, _ = sim.create_account({"USDT": "1000"}, account_id="a1")
            settings = _ccxt_settings(sim.url, key, "wrong-secret")
            instruments = await load_instruments(settings, ["BTC/USDT"])
            venue = make_venue(settings, instruments, SimClock(sim.exchange.now_ms))
            assert isinstance(venue, CcxtVenue)
            try:
                with pytest.raises(VenueError) as info:
                    await venue.open_account("a1", {"USDT": Decimal("1000")})
                assert info.value.code == "auth"
                assert "check the key, the secret and their permissions" in info.value.message
            finally:
                await venue.aclose()

    asyncio.run(go())
