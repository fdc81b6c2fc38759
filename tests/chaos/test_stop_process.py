"""A clean stop of ``rampart run`` as a real process, sent SIGTERM while the exchange is filling:
it exits within the stop's 10 s, and afterwards the store holds every trade the exchange made
for its account (by the exchange's trade id) and every coin it holds rests under a stop on the
exchange.

Fills arrive around the signal: the simulator answers order requests late (a latency fault on
placing orders), and the signal goes as soon as the first entry has traded, so the other
entries and the brackets are still on their way when it lands.

Starved of CPU as at 10x oversubscription (:mod:`rampart_testkit.starve`), the run keeps every
coin under a stop (sampled on the exchange), its books equal the exchange by trade id within
60 s of the load's end, and a SIGTERM sent while it is starved still ends it within 10 s.

The bounds on the waits fail a hang instead of blocking CI; the bounds that are the behaviour
are the stop's 10 s, the 60 s catch-up and the 5 s a coin may be bare.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rampart_testkit.starve import WINDOW_S, Starve

from .run_process import (
    BareSpells,
    booked_trade_ids,
    log_events,
    simulator,
    start_run,
    stop_within,
    wait_for,
)

STOP_BOUND_S = 10.0
"""SIGTERM to exit, as the operators' guide promises."""
TRADES_WITHIN_S = 90.0
ORDER = "/api/v3/order"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigterm_with_fills_arriving_books_them_and_leaves_every_coin_under_a_stop(
    tmp_path: Path,
) -> None:
    with simulator(tmp_path) as sim:
        # Every order the run places is handled 0.4 s after it arrives, and the answer to the
        # first is lost: the exchange fills it, the process does not hear so.
        sim.fault(kind="latency", latency_ms=400, paths=["/api/v3/order"], methods=["POST"])
        sim.fault(kind="lost_response", count=1, paths=["/api/v3/order"], methods=["POST"])
        run = start_run(tmp_path, sim)
        try:
            wait_for(
                lambda: run.poll() is not None or sim.state()["requests"].get(ORDER, 0) > 0,
                TRADES_WITHIN_S,
                "an order on its way to the exchange",
            )
            assert run.poll() is None, (tmp_path / "run.out").read_text()
            took = stop_within(run, STOP_BOUND_S)
            sim.freeze()  # nothing fills after the exit: the exchange is read as it was then
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        output = (tmp_path / "run.out").read_text()
        assert run.returncode == 0, output
        traded = sim.trade_ids()
        booked = booked_trade_ids(tmp_path)
        assert traded, "the exchange traded nothing: the test proves nothing"
        assert booked == traded, (sorted(traded - booked), sorted(booked - traded), output)
        assert sim.bare() == [], (sim.state(), output)
        (last,) = log_events(tmp_path, "stop_last_pass")
        assert last["clean"] is True, last
        print(f"exit {took:.2f} s after SIGTERM; {len(traded)} trades on the exchange, all booked")


STARVED_S = 12.0
"""How long the run trades starved before the load ends: its start-up trades and a few
reconciliations; starved again for half that, it is sent the signal."""
BARE_AT_MOST_S = 5.0
SAMPLE_EVERY_S = 0.1
CATCH_UP_S = 60.0
"""The books equal the exchange by trade id within this of the load's end."""


def _starved_for(seconds: float, spells: BareSpells) -> None:
    """The load's length, sampling the exchange for bare coins meanwhile."""
    load_ends = time.monotonic() + seconds
    while time.monotonic() < load_ends:
        spells.sample()
        time.sleep(SAMPLE_EVERY_S)  # the pace of sampling, not a wait on an event


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_run_starved_10x_stays_covered_and_stops_within_10s_with_its_books_exact(
    tmp_path: Path,
) -> None:
    with simulator(tmp_path) as sim:
        # A checkpoint every few candles: the store follows the books closely.
        run = start_run(tmp_path, sim, RAMPART_STORE__CHECKPOINT_EVERY="5")
        try:
            wait_for(
                lambda: run.poll() is not None or log_events(tmp_path, "warmed"),
                TRADES_WITHIN_S,
                "the run warmed up",
            )
            assert run.poll() is None, (tmp_path / "run.out").read_text()
            spells = BareSpells(sim)
            with Starve(run.pid) as starved:
                _starved_for(STARVED_S, spells)
            # The load ends: the books catch up with the exchange while it runs.
            wait_for(
                lambda: booked_trade_ids(tmp_path) == sim.trade_ids(),
                CATCH_UP_S,
                "the store equal to the exchange by trade id after the load",
            )
            caught_up = len(sim.trade_ids())
            with Starve(run.pid) as starved:
                _starved_for(STARVED_S / 2, spells)
                took = stop_within(run, STOP_BOUND_S)  # signalled while starved
                sim.freeze()  # nothing fills after the exit: the exchange is read as it was then
                assert starved.cycles >= STARVED_S / 2 / WINDOW_S / 2, starved.cycles
            spells.sample()
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        output = (tmp_path / "run.out").read_text()
        assert run.returncode == 0, output
        assert "Stopped cleanly" in " ".join(output.split()), output
        traded = sim.trade_ids()
        assert traded, "the exchange traded nothing: the test proves nothing"
        assert booked_trade_ids(tmp_path) == traded, output
        assert sim.bare() == [], (sim.state(), output)
        assert spells.longest <= BARE_AT_MOST_S, spells.longest
        print(
            f"starved 10x: caught up at {caught_up} trades; exit {took:.2f} s after SIGTERM; "
            f"{len(traded)} trades, all booked; longest bare {spells.longest:.2f} s "
            f"over {spells.samples} samples"
        )
