"""ML: training time on the shared candles, and inference latency per decision.

Training: every 5-minute file in ../shared/data, walk-forward (4 folds) then the final fit,
with scikit-learn and, when installed, LightGBM. Inference: the ``ml`` agent served from a
SQLite registry, one decision per real candle (features updated, the registry asked whether
production changed — on every candle, the worst case — and the model scored). Prints p50/p99
per decision (goal: p99 under 5 ms) and peak memory; asserts nothing.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ml.helpers import view

from _util import SHARED_DATA, peak_rss_mb, percentile, quiet_logs
from rampart.agents.ml import MlAgent
from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.market.loaders import load_candles
from rampart.ml.pipeline import register_model
from rampart.ml.registry import ModelRegistry, RegistryModels
from rampart.ml.train import TrainConfig, TrainResult, load_dataset, train
from rampart.store.db import open_database


def _candles(path: Path) -> list[Candle]:
    s = load_candles(path).series
    return [
        Candle(s.symbol, int(t), float(o), float(h), float(lo), float(c), float(v), s.timeframe_ms)
        for t, o, h, lo, c, v in zip(s.ts, s.open, s.high, s.low, s.close, s.volume, strict=True)
    ]


def bench_training(files: list[Path]) -> dict[str, TrainResult]:
    print(
        f"{'algorithm':>10} {'rows':>7} {'load s':>7} {'train s':>8} {'trades':>7} "
        f"{'precision':>10} {'base':>7} {'EV %':>8} {'base EV %':>10} {'AUC':>6}"
    )
    results: dict[str, TrainResult] = {}
    algorithms = ["sklearn"] + (["lightgbm"] if importlib.util.find_spec("lightgbm") else [])
    for algorithm in algorithms:
        cfg = TrainConfig(algorithm=algorithm)
        started = time.perf_counter()
        data = load_dataset(files, cfg.label_spec)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        result = train(data, cfg)
        took = time.perf_counter() - started
        m = result.metrics
        print(
            f"{algorithm:>10} {len(data):7} {loaded:7.2f} {took:8.2f} {m['trades']:7} "
            f"{m['precision'] * 100:9.1f}% {m['baseline_precision'] * 100:6.1f}% "
            f"{m['ev'] * 100:8.3f} {m['baseline_ev'] * 100:10.3f} {m['auc']:6.3f}"
        )
        results[algorithm] = result
    return results


def bench_inference(results: dict[str, TrainResult], candles: list[Candle]) -> None:
    print(
        f"\n{'algorithm':>10} {'decisions':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'poll p50 ms':>11} {'entries':>7}"
    )
    instrument = Instrument.for_price(candles[0].symbol, candles[0].close)
    for algorithm, result in results.items():
        with tempfile.TemporaryDirectory() as tmp:
            db = open_database(f"sqlite:///{tmp}/bench.db")
            registry = ModelRegistry(db, Path(tmp) / "models")
            mv = register_model(registry, result.model, actor="bench", now_ms=0)
            registry.promote(mv.version, "bench", 1)
            clock = SimClock(candles[0].ts)
            source = RegistryModels(registry, clock, poll_ms=0)
            agent = MlAgent(threshold=0.5, models=source)
            lat: list[float] = []
            polls: list[float] = []
            entries = 0
            for candle in candles:
                clock.set(candle.close_ts)
                started = time.perf_counter()
                agent.update(candle)
                intents = agent.decide(view(candle, instrument))
                lat.append((time.perf_counter() - started) * 1000)
                entries += len(intents)
                if len(polls) < 500:
                    t0 = time.perf_counter()
                    registry.counter()
                    polls.append((time.perf_counter() - t0) * 1000)
            lat = lat[agent.warmup :]
            db.dispose()
        print(
            f"{algorithm:>10} {len(lat):9} {percentile(lat, 50):7.3f} {percentile(lat, 99):7.3f} "
            f"{max(lat):7.3f} {percentile(polls, 50):11.3f} {entries:7}"
        )


def main() -> None:
    quiet_logs()
    files = sorted(SHARED_DATA.glob("*-5m.feather")) if SHARED_DATA.is_dir() else []
    if not files:
        print(f"skipped: no candle files in {SHARED_DATA}")
        return
    results = bench_training(files)
    bench_inference(results, _candles(SHARED_DATA / "ETH_BTC-5m.feather"))
    print(f"\npeak memory {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
