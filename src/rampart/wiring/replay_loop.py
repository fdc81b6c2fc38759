"""One file's candles through a replay's session: the loop that runs on every candle.

What is rare on a candle (a point of the equity curve, the progress bar, fault injection)
waits behind one comparison with the next index it is due at, so the loop costs the engine's
work and little else. A signal (SIGTERM, SIGINT) stops it after the candle in hand, with the
session's progress saved for ``--resume``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.market.series import CandleSeries
from rampart.market.stream import StreamedSeries
from rampart.reports.summary import OpenPosition, TradeLog
from rampart.venues.paper import PaperVenue
from rampart.wiring.replay_informative import feeder
from rampart.wiring.replay_plot import PlotTaker
from rampart.wiring.replay_stop import CRASH_ENV, TERM_ENV, stop_signals
from rampart.wiring.session import TradingSession


@dataclass(frozen=True, slots=True)
class Feeding:
    """What one file's loop runs with."""

    session: TradingSession
    clock: SimClock
    series: CandleSeries | StreamedSeries
    account_id: str
    others: Sequence[Candle]
    """Other symbols' bars the agent reads (informative), fed as each candle closes them."""
    cursor: int
    """Candles already traded (a resumed replay): fed to the agents only."""
    stride: int
    """Candles between two points of the equity curve."""
    curve: list[tuple[int, float]]
    """The equity curve, appended to in place."""
    progress: Callable[[int, int], None] | None
    """Told (candles done, candles in all) about every 500 candles, and at the end."""


@dataclass(frozen=True, slots=True)
class Fed:
    """How the loop ended."""

    stopped_at: int
    """The candles done when a signal stopped it; 0 when it reached the end of the data."""
    received: list[str]
    """The signals received (the first named in the sentence of a stopped replay)."""
    final: Decimal
    fees: Decimal
    open_positions: list[OpenPosition]
    """What the end-of-data exit could not sell, valued at the last mark."""
    plots: PlotTaker


async def feed_candles(run: Feeding, log: TradeLog) -> Fed:
    """Feed every candle of ``run.series`` past ``run.cursor`` through the session, then close
    what is open at the end of the data (a stopped replay keeps it). The session is closed
    (every buffered row and a checkpoint written) however the loop ends; on an error the
    trade log's partial file is discarded."""
    session, clock, curve, progress = run.session, run.clock, run.curve, run.progress
    stride, cursor, total = run.stride, run.cursor, len(run.series)
    # The progress bar moves on curve points, about every 500 candles.
    progress_every = stride * max(1, 500 // stride)
    crash_at = int(os.environ.get(CRASH_ENV, "0") or 0)
    term_at = int(os.environ.get(TERM_ENV, "0") or 0)
    engine = session.engine
    stopped_at = 0
    candles = run.series.iter_candles()
    runtime = engine.accounts[run.account_id]  # loaded in place on resume (its ledger is not)
    # Other symbols' bars, closed by each candle (none declared: nothing to call per candle).
    others = feeder(run.others, engine.series) if run.others else None
    plots = PlotTaker(engine, run.series.symbol)  # what the agent plots, at each curve point
    ask = None if engine.plots.every_candle or not plots.lines else engine.plots.ask
    with stop_signals() as received:
        try:
            # A resumed replay feeds the candles it already traded to the agents only.
            for candle in islice(candles, cursor):
                if others is not None:
                    others(candle.close_ts)
                session.warm(candle)
            session.finish_resume()
            # Run on every candle: what is rare (a curve point, the progress bar, fault
            # injection) waits behind one comparison with the next index it is due at.
            due = cursor + (-cursor) % stride
            for index, candle in enumerate(candles, cursor):
                close_ts = candle.close_ts
                clock.set(close_ts)
                if others is not None:
                    others(close_ts)
                if ask is not None and index >= due:
                    ask()  # the agent's lines are read on this candle
                await session.process(candle)
                if index >= due:
                    # The guard's equity where nothing followed it (Engine.calm).
                    equity = (
                        runtime.breakers.last_equity
                        if engine.calm is candle
                        else runtime.ledger.equity(engine.marks)
                    )
                    curve.append((close_ts, float(equity)))
                    plots.take(candle.ts, candle.close)
                    if progress is not None and index % progress_every == 0:
                        progress(index + 1, total)
                    due = index + stride
                if crash_at or term_at:
                    if index + 1 == crash_at:
                        os.kill(os.getpid(), signal.SIGKILL)
                    if index + 1 == term_at:
                        os.kill(os.getpid(), signal.SIGTERM)
                # Checked only once resumed: stopping while warming would checkpoint a
                # fresh engine over the saved one.
                if received:
                    stopped_at = index + 1
                    break
            if not stopped_at:
                session.finish_resume()
                # Only a replay that reached the end of its data closes its positions; a stopped
                # one keeps them so that --resume continues exactly where it left off.
                if isinstance(session.venue, PaperVenue):
                    session.venue.end_of_data()
                await engine.controls.flatten_all("end of data")
            final = engine.equity(run.account_id)
            curve.append((clock.now_ms(), float(final)))
            if progress is not None:
                progress(stopped_at or total, total)
            ledger = engine.accounts[run.account_id].ledger
            fees = ledger.fees_paid
            # What the end-of-data exit could not sell (a thin last candle under the venue's
            # volume cap, or dust) stays open: reported, and valued at the last mark.
            open_positions = [
                OpenPosition.of(pos, engine.marks.get(sym, pos.avg_price))
                for sym, pos in sorted(ledger.positions.items())
            ]
        except BaseException:
            log.discard()
            raise
        finally:
            session.close()  # writes every buffered row and a checkpoint in one transaction
    return Fed(stopped_at, received, final, fees, open_positions, plots)


__all__ = ["Fed", "Feeding", "feed_candles"]
