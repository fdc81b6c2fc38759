"""``equity.csv`` gives each float's text once per run of equal values; the file must be the
bytes csv writes for the floats themselves (the golden outputs hold the replay's)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from rampart.reports.summary import write_equity_csv


def test_the_equity_file_is_what_csv_writes_for_the_floats(tmp_path: Path) -> None:
    rng = random.Random(47)
    points: list[tuple[int, float]] = []
    value = 100_000.0
    for ts in range(5000):
        if rng.random() < 0.3:  # a move; otherwise the equity repeats, as while flat
            value = rng.choice([value * (1 + rng.gauss(0, 1e-3)), 0.0, -0.0, 1e16, 0.1 + 0.2])
        points.append((ts, value))
    points += [(9000, float("nan")), (9001, float("nan")), (9002, float("inf")), (9003, 7)]
    path = tmp_path / "equity.csv"
    write_equity_csv(points, path)
    with (tmp_path / "plain.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("ts", "equity"))
        writer.writerows(points)
    assert path.read_bytes() == (tmp_path / "plain.csv").read_bytes()
