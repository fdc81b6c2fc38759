"""A worker's death is seen whatever its name: two processes running under one name (a twin)
are watched apart, so killing one while the other beats the name's row raises WorkerDown for
the dead process; a restart under the name (the old process gone before the new one started)
is one worker, not a twin left down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.observability.notify import FIRING, RESOLVED
from rampart.store.leases import ShardLeases

from .test_fleet_scrape import Fleet, Served, serve


@pytest.fixture
def served() -> Iterator[list[Served]]:
    made: list[Served] = []
    yield made
    for one in made:
        one.close()


def test_a_twin_killed_while_its_namesake_runs_is_down(
    tmp_path: Path, served: list[Served]
) -> None:
    fleet = Fleet(tmp_path)
    first, second = serve(served), serve(served)
    fleet.register("w-1", first.url)
    twin = ShardLeases(fleet.db, "w-1", fleet.clock, 6_000, metrics_url=second.url)
    fleet.clock.advance(1_000)
    twin.beat()
    engine = fleet.server("serve-1")
    for _ in range(3):
        fleet.step(engine, 0 if engine.evaluations == 0 else 5_000)
        twin.beat()
    assert fleet.open("WorkerDown") == []

    # The twin is killed (kill -9): its address no longer answers, its own row no longer
    # beats, while the first process goes on beating the name's row.
    second.close()
    served.remove(second)
    again = serve(served).url
    for _ in range(3):
        fleet.step(engine, 5_000)
    [down] = fleet.open("WorkerDown")
    assert down.labels == {"component": f"w-1@{twin.instance[:8]}"}
    assert fleet.open("AllWorkersDown") == []

    # Started again in its place: the dead process is superseded, no longer watched.
    fleet.clock.advance(1_000)
    fleet.rows["w-1 again"] = ShardLeases(fleet.db, "w-1", fleet.clock, 6_000, metrics_url=again)
    fleet.rows["w-1 again"].beat()
    for _ in range(2):
        fleet.step(engine, 5_000)
    assert fleet.open("WorkerDown") == []
    assert fleet.told("WorkerDown") == [FIRING, RESOLVED]


def test_a_restart_under_the_same_name_is_one_worker(tmp_path: Path, served: list[Served]) -> None:
    fleet = Fleet(tmp_path)
    old = serve(served)
    fleet.register("w-1", old.url)
    engine = fleet.server("serve-1")
    fleet.step(engine, 0)
    old.close()
    served.remove(old)
    fleet.rows.pop("w-1")  # crashed: neither answers nor beats
    fleet.clock.advance(3_000)
    fleet.register("w-1", serve(served).url)  # started again a moment later, a new port
    for _ in range(4):
        fleet.step(engine, 5_000)
    assert fleet.open("WorkerDown") == []
