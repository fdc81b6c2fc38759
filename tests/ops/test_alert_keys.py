"""Every alert reaches someone: incident keys fit their column by construction (the longest key
each rule can make is stored, on SQLite and PostgreSQL), and an alert whose incident cannot be
recorded, whatever the database said, is still sent and logged at error with why."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.fleet.alerts import fleet_rules
from rampart.observability import incidents
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rule import KEY_LIMIT, AlertRule
from rampart.observability.alerts.rules import default_rules
from rampart.observability.alerts.signals import Reading, View
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.store import models as m
from rampart.store.db import open_database

NOW = 1_700_000_000_000
LONG = 400
"""Longer than any column: a worker, symbol or account name of any length."""


def every_rule() -> list[AlertRule]:
    rules = default_rules(route_share=("bags", 0.8))
    return rules + fleet_rules(rules, worker_down_s=7.5)


def longest_labels(rule: AlertRule, seed: str = "x") -> dict[str, str]:
    return {name: seed * LONG for name in rule.labels}


@pytest.fixture
def db(db_url: str) -> sa.Engine:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def test_the_key_limit_is_the_columns_width() -> None:
    assert m.incidents.c.key.type.length == KEY_LIMIT
    assert m.alert_pending.c.key.type.length == KEY_LIMIT


def test_the_longest_key_of_every_rule_is_stored(db: sa.Engine) -> None:
    seen: set[str] = set()
    for rule in every_rule():
        labels = longest_labels(rule)
        key = rule.key(labels)
        assert len(key) <= KEY_LIMIT and key.startswith(rule.name)
        incidents.start_pending(db, key, rule.name, NOW)
        record = incidents.open_incident(
            db,
            key=key,
            rule=rule.name,
            severity=rule.severity,
            summary=rule.describe(labels),
            value=1.0,
            threshold=rule.threshold,
            labels=labels,
            now_ms=NOW,
        )
        # The labels are kept whole in their own column; the key only has to be unique.
        assert record.key == key and record.labels == labels
        if rule.labels:
            other = rule.key(longest_labels(rule, "x") | {rule.labels[0]: "x" * (LONG - 1) + "y"})
            assert other != key and len(other) <= KEY_LIMIT
        seen.add(key)
    stored = {r.key for r in incidents.active_incidents(db)}
    assert seen <= stored
    assert {t.key for t in incidents.pending_timers(db)} == seen


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=40), st.text(max_size=300), min_size=1, max_size=4
    ),
    st.dictionaries(
        st.text(min_size=1, max_size=40), st.text(max_size=300), min_size=1, max_size=4
    ),
)
def test_keys_fit_and_stay_apart_whatever_the_labels(a: dict[str, str], b: dict[str, str]) -> None:
    rule = next(r for r in default_rules() if r.name == "WorkerDown")
    assert len(rule.key(a)) <= KEY_LIMIT
    assert rule.key(a).startswith("WorkerDown{")
    assert (rule.key(a) == rule.key(b)) == (a == b)


def test_a_rule_name_too_long_for_its_column_is_refused() -> None:
    rule = default_rules()[0]
    with pytest.raises(ValueError, match="at most 64 characters"):
        replace(rule, name="R" * 65)


class Always:
    """A signal that holds for each of ``series``, one reading per label set."""

    kind = "always"
    by = ("component",)

    def __init__(self, series: list[dict[str, str]]) -> None:
        self.series = series

    def compute(self, view: View) -> list[Reading]:
        return [Reading(labels, 1.0) for labels in self.series]

    def promql(self) -> str:
        return "vector(1)"

    def counters(self) -> set[str]:
        return set()

    def window(self) -> float:
        return 0.0

    def tuned(self, window_s: float | None, min_samples: int | None) -> Always:
        return self


def _engine(db: sa.Engine | None, series: list[dict[str, str]]) -> tuple[AlertEngine, list[Notice]]:
    sent: list[Notice] = []

    async def record(notice: Notice) -> None:
        sent.append(notice)

    rule = AlertRule("WorkerDown", "P1", "Worker {component} is down.", Always(series), ">", 0, 0)
    engine = AlertEngine([rule], Metrics(), db, SimClock(NOW), CallbackNotifier(record))
    return engine, sent


def _evaluate(engine: AlertEngine) -> list[Notice]:
    return asyncio.run(engine.evaluate(engine.clock.now_ms()))


def test_a_worker_with_a_long_name_is_paged_and_its_incident_stored(db: sa.Engine) -> None:
    long_name = "worker-" + "eu-west-1a-" * 30
    engine, sent = _engine(db, [{"component": long_name}])
    with capture_logs() as logs:
        _evaluate(engine)
    assert [n.rule for n in sent] == ["WorkerDown"]
    [record] = incidents.active_incidents(db)
    assert record.labels == {"component": long_name} and record.key == sent[0].key
    assert not [e for e in logs if e["log_level"] == "error"]


def test_an_alert_the_store_refuses_is_sent_and_logged_at_error(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement refused for its own reason (not a database down) is told, logged at error
    once with the store's words, and does not keep the other alerts' incidents out."""
    engine, sent = _engine(db, [{"component": "bad"}, {"component": "good"}])
    opened = incidents.open_incident

    def refuse_bad(db: sa.Engine, **kw: object) -> incidents.IncidentRecord:
        if kw["labels"] == {"component": "bad"}:
            with incidents._begin(db, "Opening an incident") as conn:
                conn.execute(sa.text("INSERT INTO incidents (id) VALUES (NULL)"))
        return opened(db, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(incidents, "open_incident", refuse_bad)
    with capture_logs() as logs:
        _evaluate(engine)
        engine.clock.advance(5_000)
        _evaluate(engine)
    assert sorted(n.labels["component"] for n in sent) == ["bad", "good"]
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [(e["event"], e["key"]) for e in errors] == [
        ("alert_not_recorded", "WorkerDown{component=bad}")
    ]
    assert "failed in the database" in errors[0]["reason"]
    assert [r.key for r in incidents.active_incidents(db)] == ["WorkerDown{component=good}"]


def test_alerts_are_sent_and_logged_when_the_database_does_not_answer(tmp_path: object) -> None:
    down = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    engine, sent = _engine(down, [{"component": "a"}, {"component": "b"}])
    with capture_logs() as logs:
        _evaluate(engine)
    assert sorted(n.labels["component"] for n in sent) == ["a", "b"]
    errors = [e for e in logs if e["event"] == "alert_not_recorded"]
    assert {e["key"] for e in errors} == {"WorkerDown{component=a}", "WorkerDown{component=b}"}
    assert all(e["log_level"] == "error" and e["reason"] for e in errors)
    down.dispose()


def test_only_a_database_that_does_not_answer_counts_as_not_answering() -> None:
    from rampart.store.errors import not_answering

    refused = sa.exc.OperationalError("INSERT", {}, Exception("connection refused"))
    too_long = sa.exc.DataError("INSERT", {}, Exception("value too long for type varchar(128)"))
    assert not_answering(wrapped(refused))
    assert not not_answering(wrapped(too_long))
    assert not not_answering(ValueError("a bug"))


def wrapped(err: BaseException) -> StoreError:
    try:
        raise StoreError("Opening an incident failed in the database.") from err
    except StoreError as store_error:
        return store_error
