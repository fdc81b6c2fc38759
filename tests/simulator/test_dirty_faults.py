"""Dirty faults: ``bad_candles`` spoils the klines answer only (tickers, trades and fills stay
true), each variant in its own shape; ``flap`` fails requests on and off at its period."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from rampart.domain.errors import ConfigError
from rampart_testkit.simulator import FaultSet, SimulatorHandle
from rampart_testkit.simulator.bad_candles import STALE_BACK, VARIANTS, corrupt
from tests.simulator.helpers import with_sim

KLINES = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5"


async def _get(sim: SimulatorHandle, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(sim.url + path) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text.startswith(("{", "[")) else text


def _prices(row: list[Any]) -> list[Decimal]:
    return [Decimal(str(v)) for v in row[1:5]]


def test_each_bad_candles_variant_spoils_the_klines_answer_only() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await sim.advance(STALE_BACK + 5)
        _, true = await _get(sim, KLINES)
        last = true[-1]
        for variant in VARIANTS:
            sim.faults.add("bad_candles", variant=variant, count=1)
            _, bad = await _get(sim, KLINES)
            (spoiled,) = sim.faults.take_corrupted()
            assert (spoiled.variant, spoiled.symbol) == (variant, "BTC/USDT"), variant
            if variant in ("zero", "negative", "x1000", "x0.001"):
                factor = {"zero": 0, "negative": -1, "x1000": 1000, "x0.001": "0.001"}[variant]
                assert _prices(bad[-1]) == [p * Decimal(factor) for p in _prices(last)]
                assert bad[:-1] == true[:-1] and bad[-1][0] == last[0]
                assert spoiled.close == float(_prices(last)[3] * Decimal(factor))
            elif variant == "stale":
                tail = sim.exchange.tape.history["BTC/USDT"]
                old = tail[-1 - STALE_BACK]
                assert bad[-1][0] == last[0] and float(bad[-1][4]) == old.close
                assert float(bad[-1][5]) == 0.0 and bad[-1][4] != last[4]
            elif variant == "out_of_order":
                assert [r[0] for r in bad] == [r[0] for r in true[:-2]] + [last[0], true[-2][0]]
            elif variant == "duplicate":
                assert bad[:-1] == true and bad[-1][0] == last[0]
                assert _prices(bad[-1]) == [p * Decimal("1.05") for p in _prices(last)]
            else:  # gap: the newest candle is missing, and stays missing while the fault is on
                assert bad == true[:-1] and spoiled.ts == last[0]
                _, again = await _get(sim, KLINES)
                assert last[0] not in [r[0] for r in again]
            sim.faults.clear()
            _, clean = await _get(sim, KLINES)
            assert clean == true  # the tape itself was never touched
        # The exchange's own prices stay true while every variant is on at once.
        for variant in VARIANTS[:4]:
            sim.faults.add("bad_candles", variant=variant)
        close = Decimal(str(last[4]))
        ticker = await ex.fetch_ticker("BTC/USDT")
        assert Decimal(str(ticker["last"])) == close
        _, price = await _get(sim, "/api/v3/ticker/price?symbol=BTCUSDT")
        assert Decimal(price["price"]) == close
        # A market order fills at the true price (the simulator's own slippage aside).
        order = await ex.create_order("BTC/USDT", "market", "buy", 0.001)
        assert abs(Decimal(str(order["average"])) / close - 1) < Decimal("0.001")
        (trade,) = await ex.fetch_my_trades("BTC/USDT")
        assert Decimal(str(trade["price"])) == Decimal(str(order["average"]))
        _, bad = await _get(sim, KLINES)
        assert bad[-1] != last and len(sim.faults.take_corrupted()) == 4

    with_sim(body)


def test_a_random_variant_is_drawn_from_the_seed_and_bad_parameters_are_refused() -> None:
    def variants(seed: int) -> list[str]:
        faults = FaultSet(seed=seed)
        faults.add("bad_candles", probability=0.5)  # variant random by default
        rows = [
            [60_000 * i, "1", "2", "0.5", "1.5", "3", 0, "0", 0, "0", "0", "0"] for i in range(3)
        ]
        for _ in range(40):
            for fault in faults.draw_bad_candles("/api/v3/klines"):
                _, spoiled = corrupt(rows, "X/Y", fault.variant, faults.rng, set(), lambda b: None)
                if spoiled is not None:
                    faults.corrupted.append(spoiled)
        return [c.variant for c in faults.take_corrupted()]

    assert variants(1) == variants(1) != variants(2)
    assert len(set(variants(1))) >= 4
    faults = FaultSet(seed=0)
    assert faults.add("bad_candles", variant="x0_001").variant == "x0.001"
    with pytest.raises(ConfigError, match="variant"):
        faults.add("bad_candles", variant="x42")
    with pytest.raises(ConfigError, match="flap"):
        faults.add("flap", flap_on=0)
    assert faults.draw("/api/v3/klines", "GET") == []  # not drawn before the handler


def test_flap_fails_and_serves_requests_in_turn() -> None:
    async def body(sim: SimulatorHandle, ex: Any) -> None:
        sim.faults.add("flap", flap_on=2, flap_off=3, status=503)
        seen = [(await _get(sim, "/api/v3/time"))[0] for _ in range(10)]
        assert seen == [503, 503, 200, 200, 200] * 2
        sim.faults.clear()
        sim.faults.add("flap", flap_on=1, flap_off=1, code=-1001, paths=["/api/v3/ticker"])
        statuses = []
        for _ in range(4):
            status, answer = await _get(sim, "/api/v3/ticker/price?symbol=BTCUSDT")
            statuses.append(status)
            assert status == 200 or answer["code"] == -1001
        assert statuses == [503, 200, 503, 200]
        assert (await _get(sim, "/api/v3/time"))[0] == 200  # other paths untouched
        assert sim.faults.fired["flap"] == 6

    with_sim(body)


def test_bad_candles_on_ws_spoil_the_streams_closed_candle_only_when_asked() -> None:
    """A fault whose paths name ``/ws`` spoils the closed candle the market stream sends (and
    records it); one on the klines paths only, as by default, leaves the stream true."""

    async def closed_close(sim: SimulatorHandle, ws: Any) -> Decimal:
        await sim.advance(1)
        while True:
            event = json.loads((await ws.receive(timeout=10)).data)
            if event.get("e") == "kline" and event["k"]["x"]:
                return Decimal(event["k"]["c"])

    async def body(sim: SimulatorHandle, ex: Any) -> None:
        await sim.advance(3)
        async with aiohttp.ClientSession() as http, http.ws_connect(sim.url + "/ws") as ws:
            await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1})
            assert json.loads((await ws.receive(timeout=10)).data)["id"] == 1
            sim.faults.add("bad_candles", variant="x1000")  # the klines answers only
            true = await closed_close(sim, ws)
            assert true == Decimal(str(sim.exchange.tape.last("BTC/USDT").close))
            assert not sim.faults.take_corrupted()
            sim.faults.clear()
            sim.faults.add("bad_candles", variant="x1000", paths=["/ws"], count=1)
            bad = await closed_close(sim, ws)
            tape = Decimal(str(sim.exchange.tape.last("BTC/USDT").close))
            assert bad == tape * 1000
            (spoiled,) = sim.faults.take_corrupted()
            assert (spoiled.variant, spoiled.close) == ("x1000", float(bad))
            again = await closed_close(sim, ws)  # its count spent: true again
            assert again == Decimal(str(sim.exchange.tape.last("BTC/USDT").close))

    with_sim(body)
