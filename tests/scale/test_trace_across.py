"""A candle's trace crosses processes: the feed publishes it in a span whose
``traceparent`` rides in the NATS message's headers; the worker trades it in a span of that
same trace, and the decision, the order sent and its fill are spans under it. A command sent
while a request is answered is applied by the worker in the request's trace.

Feed and worker run in this process (as the other scale tests run them) but talk only through
NATS JetStream, so the trace id can only reach the worker in the message's headers. Spans go
to an in-memory exporter and, as ``tracing.exporter: file`` writes them, to a spans file that
``rampart trace``'s reader follows from an order's client id back to the feed's publish."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rich.console import Console

from rampart.clock import SimClock
from rampart.fleet.tracing_hooks import carry_trace
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.observability import tracing
from rampart.observability.span_file import JsonLinesSpanExporter, read_spans, spans_of
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    close_of,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    traded_until,
    until,
)


@pytest.fixture
def spans(tmp_path: Path) -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(
        SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path / "spans-test-1.jsonl", 1 << 30))
    )
    tracing.use_provider(provider)
    try:
        yield memory
    finally:
        tracing.use_provider(None)
        provider.shutdown()


def _trace(span: ReadableSpan) -> int:
    return span.get_span_context().trace_id  # type: ignore[union-attr]


def test_the_workers_decisions_and_orders_share_the_trace_of_the_feeds_candle(
    nats: NatsServer,  # noqa: F811 - the fixture
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    clock = SimClock(1_000_000)
    # SQLite only: the trace does not go through the store (the backends are the store tests').
    settings = settings_for(nats.url, f"sqlite:///{tmp_path / 'rampart.db'}")

    async def scenario() -> None:
        await publish(settings, 400)
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        worker = build_worker(
            settings, Console(quiet=True), name="w1", ops_clock=clock, install_signals=False
        )
        trading = await started(worker)
        try:
            await until(worker, lambda: worker.caught_up)
            await heartbeat(sender, worker)
            await worker.lease_round()
            await worker.lease_round()
            await publish(settings, 150)
            await traded_until(worker, close_of(settings, 550))
            # As `rampart serve` sends a command while it answers a request (its sender is
            # wired the same way): the worker applies it in the request's trace.
            carry_trace(sender)
            with tracing.span("POST /api/admin/handover"):
                fan_out = await sender.send("handover", {}, ["w1"])
            assert fan_out.complete, fan_out.sentence()
        finally:
            worker.stop.set()
            await trading
            await worker.aclose()
            await nc.close()

    asyncio.run(scenario())
    done = spans.get_finished_spans()
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in done:
        by_name.setdefault(span.name, []).append(span)
    published = {_trace(s): s for s in by_name["candle.publish"]}
    traded = by_name["candle.trade"]
    # Every candle the worker read continued the trace the feed began for it, as the child
    # of the feed's publish span: only the message's headers could carry that.
    assert len(traded) >= 550
    for span in traded:
        assert _trace(span) in published
        assert span.parent is not None
        assert span.parent.span_id == published[_trace(span)].get_span_context().span_id  # type: ignore[union-attr]
    decided = by_name["decision"]
    assert decided and all(_trace(s) in published for s in decided)
    orders = by_name["order.submit"]
    assert orders, "no order was sent in the traced candles"
    ids = {s.get_span_context().span_id: s for s in done}  # type: ignore[union-attr]
    for order in orders:
        assert _trace(order) in published
        parent = ids[order.parent.span_id]  # type: ignore[union-attr]
        while parent.name != "decision":  # a bracket's pair is sent inside the entry's fill
            parent = ids[parent.parent.span_id]  # type: ignore[union-attr]
        assert parent.attributes["rampart.symbol"] == order.attributes["rampart.symbol"]  # type: ignore[index]
    assert by_name.get("fill"), "no fill was traced"
    (request,) = by_name["POST /api/admin/handover"]
    (applied,) = by_name["command.apply"]
    assert _trace(applied) == _trace(request)
    assert applied.parent is not None
    assert applied.parent.span_id == request.get_span_context().span_id  # type: ignore[union-attr]
    # The spans file, as `rampart trace` reads it: from one order's client id back to the
    # feed's publish of the candle that decided it.
    client_id = str(orders[0].attributes[tracing.CLIENT_ID])  # type: ignore[index]
    # The order fills at the next candle's open, inside that candle's trace; the feed may
    # publish that candle before the order is sent, so the chain is read within the order's
    # own trace.
    own = format(_trace(orders[0]), "032x")
    found = spans_of(read_spans([tmp_path / "spans-test-1.jsonl"]), client_id)
    chain = [s["name"] for s in found if s["trace_id"] == own]
    assert chain[:4] == ["candle.publish", "candle.trade", "decision", "order.submit"], chain
