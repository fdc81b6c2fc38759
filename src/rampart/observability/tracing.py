"""Spans across processes: candle → decision → order → fill → notice.

Off by default: :func:`span` then hands back one shared ``nullcontext`` and :func:`inject`
returns at once, so the candle path pays a flag test and nothing of OpenTelemetry's SDK is
imported. :func:`setup_tracing` turns it on for one process (``service.name`` is
``rampart-<process>``: feed, worker, serve, run) with the exporter ``tracing.exporter`` names.

The trace context travels as W3C ``traceparent``: in the headers of a candle's NATS message
(the feed injects, the worker extracts) and of an HTTP request (``rampart serve``'s middleware
extracts). A span's tracer is this module's own provider, not OpenTelemetry's global one,
which can be set once per process only (tests switch providers). OpenTelemetry itself is
imported only once tracing is on: every process that logs loads this module (its log lines
name their trace), and the API alone costs tens of milliseconds at start.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from rampart.observability.tracing_settings import TracingConfig

Kind = Literal["internal", "server", "client", "producer", "consumer"]

_OFF: contextlib.nullcontext[None] = contextlib.nullcontext()
_tracer: Tracer | None = None
_provider: TracerProvider | None = None
_propagator: TraceContextTextMapPropagator | None = None
active = False
"""Whether spans are made: read as a plain attribute where a candle passes (no call)."""

CLIENT_ID = "rampart.client_id"
"""The attribute naming an order's client id: what ``rampart trace ID`` looks spans up by."""


def enabled() -> bool:
    return active


def provider() -> TracerProvider | None:
    """The SDK provider this process installed, or None (tracing off)."""
    return _provider


def use_provider(new: TracerProvider | None) -> None:
    """Make spans with ``new`` from now on (None: off). The previous provider is flushed."""
    global _tracer, _provider, _propagator, active
    if new is not None and _propagator is None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        _propagator = TraceContextTextMapPropagator()  # W3C traceparent only
    old, _provider = _provider, new
    _tracer = new.get_tracer("rampart") if new is not None else None
    active = _tracer is not None
    if old is not None and old is not new:
        old.force_flush()


def _exporter(config: TracingConfig, service: str) -> SpanExporter:
    if config.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=config.otlp_endpoint)
    from rampart.observability.span_file import JsonLinesSpanExporter

    path = config.directory / f"spans-{service}-{os.getpid()}.jsonl"
    return JsonLinesSpanExporter(path, max_bytes=int(config.file_mb * 1024 * 1024))


def setup_tracing(config: TracingConfig, service: str) -> bool:
    """Install a provider for this process as ``config`` says; False (nothing installed, no
    SDK imported) when ``tracing.exporter`` is off."""
    if config.exporter == "off":
        use_provider(None)
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    made = TracerProvider(
        resource=Resource.create({"service.name": f"rampart-{service}"}),
        sampler=ParentBased(TraceIdRatioBased(config.sample_ratio)),
    )
    # Batched, off the loop's thread: a span's end only queues it. The SDK flushes at exit.
    made.add_span_processor(BatchSpanProcessor(_exporter(config, service)))
    use_provider(made)
    return True


def span(
    name: str,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: Kind = "internal",
    parent: Context | None = None,
) -> contextlib.AbstractContextManager[Any]:
    """A span around a block, the current one while it runs; a shared no-op when off."""
    tracer = _tracer
    if tracer is None:
        return _OFF
    from opentelemetry.trace import SpanKind

    return tracer.start_as_current_span(
        name, context=parent, kind=SpanKind[kind.upper()], attributes=attributes
    )


def inject(headers: dict[str, str]) -> dict[str, str]:
    """Add the current span's ``traceparent`` to ``headers`` (nothing when off)."""
    if _tracer is not None and _propagator is not None:
        _propagator.inject(headers)
    return headers


def extract(headers: Mapping[str, str] | None) -> Context | None:
    """The context a message or request carried (None: off, or nothing carried)."""
    if _tracer is None or _propagator is None or not headers or "traceparent" not in headers:
        return None
    return _propagator.extract(headers)


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span id in hex, for a log line (None: no span)."""
    if _tracer is None:
        return None
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def add_trace_ids(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: a line logged inside a span names its trace (logs ↔ traces)."""
    ids = current_ids()
    if ids is not None:
        event.setdefault("trace_id", ids[0])
        event.setdefault("span_id", ids[1])
    return event


@contextlib.contextmanager
def tracing_for(config: TracingConfig, service: str) -> Iterator[bool]:
    """:func:`setup_tracing` for a block; the spans are flushed and the provider dropped
    after it (a command run in-process, a test)."""
    on = setup_tracing(config, service)
    try:
        yield on
    finally:
        made = _provider
        use_provider(None)
        if made is not None:
            made.shutdown()


__all__ = [
    "CLIENT_ID",
    "Kind",
    "add_trace_ids",
    "current_ids",
    "enabled",
    "extract",
    "inject",
    "provider",
    "setup_tracing",
    "span",
    "tracing_for",
    "use_provider",
]
