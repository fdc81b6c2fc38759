"""Where spans go: ``tracing.exporter: otlp`` sends them by OTLP/HTTP to the
configured endpoint, named by their process; a notice a worker queues is a span naming the
entry it tells of."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rampart.clock import SimClock
from rampart.notices.investor_notices import InvestorNotice
from rampart.notices.outbox_writer import OutboxWriter
from rampart.observability import tracing
from rampart.observability.tracing_settings import TracingConfig


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/traces", received
    finally:
        server.shutdown()
        server.server_close()


def test_otlp_sends_the_spans_to_the_endpoint_named_by_their_process(
    collector: tuple[str, list[tuple[str, str, bytes]]],
) -> None:
    endpoint, received = collector
    config = TracingConfig(exporter="otlp", otlp_endpoint=endpoint)
    with tracing.tracing_for(config, "worker") as on:
        assert on
        with (
            tracing.span("decision", {"rampart.symbol": "BTC/USDT"}),
            tracing.span("order.submit", {tracing.CLIENT_ID: "rp-1-e"}, kind="client"),
        ):
            pass
    # tracing_for's end flushed the batch: one POST of OTLP protobuf.
    assert [(path, kind) for path, kind, _ in received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    request = ExportTraceServiceRequest()
    request.ParseFromString(received[0][2])
    (resource,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert service["service.name"] == "rampart-worker"
    spans = {s.name: s for scope in resource.scope_spans for s in scope.spans}
    assert set(spans) == {"decision", "order.submit"}
    assert spans["order.submit"].parent_span_id == spans["decision"].span_id
    assert spans["order.submit"].trace_id == spans["decision"].trace_id


def test_a_queued_notice_is_a_span_naming_the_entry_it_tells_of() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    writer = OutboxWriter(None, SimClock(0))  # type: ignore[arg-type] - nothing is written
    tracing.use_provider(provider)
    try:
        with tracing.span("decision"):
            writer.put(InvestorNotice("entry|a1|rp-9-e", "a1", "entries", "Bought", 0))
            writer.put(InvestorNotice("kill|a1|5", "a1", "kill", "Stopped", 0))
    finally:
        tracing.use_provider(None)
    entry, kill, decision = memory.get_finished_spans()
    assert entry.name == kill.name == "notice"
    assert entry.attributes[tracing.CLIENT_ID] == "rp-9-e"  # type: ignore[index]
    assert tracing.CLIENT_ID not in (kill.attributes or {})
    assert entry.parent is not None and entry.parent.span_id == decision.context.span_id
    assert writer.unsaved() == 2
