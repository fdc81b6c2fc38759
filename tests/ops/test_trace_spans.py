"""``rampart trace ID`` shows the entry's spans: with ``tracing.exporter: file`` a
paper run writes its spans as JSON lines beside its log, and the trace lists the candle's
decision, the order sent and its fill from them. Off (the default), nothing of the SDK is
installed and a span is a shared no-op."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import load_settings
from rampart.observability import tracing
from rampart.observability.span_file import span_files
from rampart.observability.tracing_settings import TracingConfig
from rampart.store.db import open_database
from rampart.wiring.service import Service


def test_trace_shows_the_spans_of_an_entry_from_a_traced_paper_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    settings = load_settings(
        store={"url": url},
        feed={"speed": 1e9},
        api={"enabled": False},
        alerts={"enabled": False},
        tracing={"exporter": "file", "directory": str(tmp_path)},
    )
    with tracing.tracing_for(settings.tracing, "run") as on:
        assert on and tracing.provider() is not None
        service = Service(
            settings,
            Console(file=io.StringIO()),
            max_candles=700,
            view=False,
            install_signals=False,
        )
        asyncio.run(asyncio.wait_for(service.run(), 300))
    assert tracing.provider() is None
    files = span_files(tmp_path)
    assert [f.name.split("-")[1] for f in files] == ["run"], files
    db = open_database(url)
    try:
        with db.connect() as conn:
            entry = conn.execute(
                sa.text("SELECT client_id FROM orders WHERE role = 'entry' AND status = 'filled'")
            ).first()
    finally:
        db.dispose()
    assert entry is not None, "the demo filled no entry in 700 candles"
    client_id = str(entry[0])
    env = {"RAMPART_STORE__URL": url}
    log = tmp_path / "rampart.log"
    result = CliRunner().invoke(app, ["trace", client_id, "--log", str(log)], env=env)
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert f"Spans of {client_id}" in shown, result.output
    for name in ("decision", "order.submit", "fill"):
        assert name in shown, (name, result.output)
    # Another entry's spans are not this one's.
    other = CliRunner().invoke(
        app, ["trace", client_id, "--log", str(tmp_path / "x" / "r.log")], env=env
    )
    assert "No spans in" in " ".join(other.output.split())


def test_tracing_off_installs_nothing_and_costs_a_shared_no_op() -> None:
    assert not tracing.setup_tracing(TracingConfig(), "worker")
    assert tracing.provider() is None and not tracing.enabled()
    assert tracing.span("decision") is tracing.span("order.submit")
    assert tracing.inject({}) == {}
    assert tracing.extract({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}) is None
    # A fresh process: the worker's and the feed's modules loaded, logging set up, tracing set
    # up off, and OpenTelemetry never imported by Rampart (no provider, no exporter thread).
    # (The API is left out: FastAPI imports OpenTelemetry's API for its own telemetry.)
    code = (
        "import sys, rampart.fleet.worker, rampart.fleet.feed_publisher\n"
        "from rampart.observability.logging import configure_logging\n"
        "configure_logging('info')\n"
        "from rampart.observability.tracing import setup_tracing\n"
        "from rampart.observability.tracing_settings import TracingConfig\n"
        "setup_tracing(TracingConfig(), 'worker')\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_traceparent_from_another_process_continues_its_trace() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracing.use_provider(provider)
    try:
        with tracing.span("candle.publish"):
            carried = dict(tracing.inject({}))
        parent = tracing.extract(carried)
        with tracing.span("candle.trade", parent=parent):
            line = tracing.add_trace_ids(None, "info", {"event": "order_sent"})
    finally:
        tracing.use_provider(None)
    publish, trade = memory.get_finished_spans()
    assert carried["traceparent"].split("-")[1] == format(publish.context.trace_id, "032x")
    assert trade.context.trace_id == publish.context.trace_id
    assert trade.parent is not None and trade.parent.span_id == publish.context.span_id
    # A log line written inside the span names it: logs lead to the trace and back.
    assert line["trace_id"] == format(trade.context.trace_id, "032x")
    assert line["span_id"] == format(trade.context.span_id, "016x")
    assert "trace_id" not in tracing.add_trace_ids(None, "info", {"event": "outside"})


def test_an_http_request_with_a_traceparent_is_a_span_of_that_trace() -> None:
    from fastapi.testclient import TestClient
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from rampart.api.app import create_app

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace_id, caller = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    # No context: the request is answered before any route (404); the span is the point.
    client = TestClient(create_app(None))  # type: ignore[arg-type]
    tracing.use_provider(provider)
    try:
        answer = client.get(
            "/no-such-page?token=secret", headers={"traceparent": f"00-{trace_id}-{caller}-01"}
        )
    finally:
        tracing.use_provider(None)
    (span,) = memory.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == caller
    assert span.name == "GET /no-such-page"  # the query (a token, maybe) is never named
    assert span.attributes["http.response.status_code"] == answer.status_code  # type: ignore[index]
    # Off: the request passes and no span is made.
    client.get("/no-such-page", headers={"traceparent": f"00-{trace_id}-{caller}-01"})
    assert len(memory.get_finished_spans()) == 1
