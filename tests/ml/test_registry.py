"""The registry on SQLite and PostgreSQL: promote, rollback, audit, corrupt artifacts refused,
and the agent's next decision following the registry without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.agents.ml import MlAgent
from rampart.clock import SimClock
from rampart.domain.instruments import Instrument
from rampart.ml.artifacts import ArtifactError
from rampart.ml.registry import ModelRegistry, RegistryError, RegistryModels, artifact_file
from rampart.store.audit import AuditLog
from rampart.store.db import open_database
from tests.conftest import SHARED_DATA

from .helpers import add_model, candles, view

T0 = 1_700_000_000_000


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def registry(db: sa.Engine, tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(db, tmp_path / "models")


def test_promote_and_rollback_keep_one_production_and_a_history(registry: ModelRegistry) -> None:
    a = add_model(registry, 0.9, T0)
    b = add_model(registry, 0.1, T0 + 1000)
    assert {v.stage for v in registry.versions()} == {"candidate"}
    assert registry.production() is None
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback("op", T0)

    registry.promote(a.version, "alice", T0 + 2000, "first model")
    registry.promote(b.version, "bob", T0 + 3000)
    stages = {v.version: v.stage for v in registry.versions()}
    assert stages == {a.version: "archived", b.version: "production"}
    current = registry.get(b.version)
    assert (current.promoted_by, current.promoted_at) == ("bob", T0 + 3000)
    with pytest.raises(RegistryError, match="already in production"):
        registry.promote(b.version, "bob", T0 + 3500)

    assert registry.rollback("carol", T0 + 4000, "b misbehaves") == (b.version, a.version)
    assert registry.production().version == a.version
    assert {v.version: v.stage for v in registry.versions()}[b.version] == "archived"
    with pytest.raises(RegistryError, match="no earlier production"):
        registry.rollback("carol", T0 + 5000)
    assert [t["action"] for t in registry.transitions()] == ["rollback", "promote", "promote"]

    audit = AuditLog(registry.engine)
    actions = [
        (r.action, r.actor, r.target) for r in audit.tail(10) if r.action.startswith("model")
    ]
    assert ("model.rollback", "carol", a.version) in actions
    assert ("model.promote", "bob", b.version) in actions
    assert sum(1 for x in actions if x[0] == "model.register") == 2
    assert audit.verify().ok


def test_unknown_version_is_one_sentence(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryError, match="no model version 'nope'"):
        registry.promote("nope", "op", T0)


def test_a_corrupt_artifact_is_never_promoted(registry: ModelRegistry) -> None:
    good = add_model(registry, 0.9, T0)
    bad = add_model(registry, 0.1, T0 + 1000)
    registry.promote(good.version, "op", T0 + 2000)
    path = artifact_file(registry.models_dir, bad.artifact_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its recorded SHA-256"):
        registry.promote(bad.version, "op", T0 + 3000)
    assert registry.production().version == good.version
    path.unlink()
    with pytest.raises(ArtifactError, match="cannot be read"):
        registry.promote(bad.version, "op", T0 + 3000)


def _agent(registry: ModelRegistry, clock: SimClock) -> tuple[MlAgent, RegistryModels]:
    source = RegistryModels(registry, clock, poll_ms=1000)
    return MlAgent(threshold=0.5, models=source), source


def _decide(agent: MlAgent, clock: SimClock, candle, instrument) -> list:
    clock.set(candle.close_ts)
    agent.update(candle)
    return agent.decide(view(candle, instrument))


def test_promote_and_rollback_change_the_next_decision(registry: ModelRegistry) -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles not found at {SHARED_DATA}")
    bars = candles(n=140)
    instrument = Instrument.for_price(bars[0].symbol, bars[0].close)
    yes = add_model(registry, 0.9, T0)
    no = add_model(registry, 0.1, T0 + 1)
    clock = SimClock(bars[0].ts)
    agent, source = _agent(registry, clock)
    for candle in bars[:110]:
        # Warm, with no model in production: nothing is ever proposed.
        assert _decide(agent, clock, candle, instrument) == []
    registry.promote(yes.version, "op", T0 + 2)
    intents = _decide(agent, clock, bars[110], instrument)
    assert len(intents) == 1 and intents[0].confidence == pytest.approx(0.9)
    assert yes.version in intents[0].rationale
    registry.promote(no.version, "op", T0 + 3)
    assert _decide(agent, clock, bars[111], instrument) == []
    registry.rollback("op", T0 + 4)
    assert len(_decide(agent, clock, bars[112], instrument)) == 1
    assert source.status() == {"production": yes.version, "serving": yes.version, "error": None}


def test_a_corrupt_production_artifact_keeps_the_previous_model_serving(
    registry: ModelRegistry, db: sa.Engine
) -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candles not found at {SHARED_DATA}")
    bars = candles(n=130)
    instrument = Instrument.for_price(bars[0].symbol, bars[0].close)
    yes = add_model(registry, 0.9, T0)
    other = add_model(registry, 0.1, T0 + 1)
    registry.promote(yes.version, "op", T0 + 2)
    clock = SimClock(bars[0].ts)
    agent, source = _agent(registry, clock)
    for candle in bars[:110]:
        _decide(agent, clock, candle, instrument)
    assert source.serving == yes.version
    # Another process promotes a good file that is then swapped on disk before we load it.
    registry.promote(other.version, "op", T0 + 3)
    artifact_file(registry.models_dir, other.artifact_path).write_bytes(b"not a model")
    intents = _decide(agent, clock, bars[110], instrument)
    assert len(intents) == 1 and yes.version in intents[0].rationale
    status = source.status()
    assert status["production"] == other.version and status["serving"] == yes.version
    assert "SHA-256" in status["error"]
    # Rolling back to the good version clears the error.
    registry.rollback("op", T0 + 4)
    assert len(_decide(agent, clock, bars[111], instrument)) == 1
    assert source.status()["error"] is None


def test_the_same_model_trained_twice_at_one_time_keeps_the_first_file(
    registry: ModelRegistry,
) -> None:
    """On a simulated feed the service's time stands still while it is stopped, so training
    the same model twice gives the same version: the second is refused in one sentence and the
    first version's artifact survives it (it used to be deleted with the refused one)."""
    first = add_model(registry, 0.7, 1_704_067_200_000)
    with pytest.raises(RegistryError, match="already registered"):
        add_model(registry, 0.7, 1_704_067_200_000)
    assert artifact_file(registry.models_dir, first.artifact_path).exists()
    registry.promote(first.version, "cli:test", 1_704_067_260_000, "")
    production = registry.production()
    assert production is not None and production.version == first.version
