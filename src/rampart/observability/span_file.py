"""Spans as JSON lines in a file (``tracing.exporter: file``): what ``rampart trace`` reads
beside the logs, and what the ``logs`` compose profile ships."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as the file holds it: ids in hex, times in UTC nanoseconds."""
    ctx = span.get_span_context()
    parent = span.parent
    service = span.resource.attributes.get("service.name", "") if span.resource else ""
    return {
        "trace_id": format(ctx.trace_id, "032x") if ctx else "",
        "span_id": format(ctx.span_id, "016x") if ctx else "",
        "parent_id": format(parent.span_id, "016x") if parent else "",
        "name": span.name,
        "service": service,
        "kind": span.kind.name.lower(),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name.lower(),
        "attributes": {
            k: v if isinstance(v, str | int | float | bool) else str(v)
            for k, v in (span.attributes or {}).items()
        },
    }


class JsonLinesSpanExporter(SpanExporter):
    """Appends each span as one line; past ``max_bytes`` the file is moved to ``.1``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(span_record(s), separators=(",", ":")) + "\n" for s in spans)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.path.exists() and self.path.stat().st_size > self.max_bytes:
                    self.path.replace(self.path.with_name(self.path.name + ".1"))
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(lines)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def span_files(directory: Path) -> list[Path]:
    """Every spans file in ``directory``, the moved-aside ``.1`` ones included."""
    if not directory.is_dir():
        return []
    return sorted([*directory.glob("spans-*.jsonl"), *directory.glob("spans-*.jsonl.1")])


def read_spans(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """The spans in ``files``; a damaged line (a process killed mid-write) is skipped."""
    for file in files:
        try:
            with file.open(encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(record, dict) and "trace_id" in record:
                        yield record
        except OSError:
            continue


def spans_of(records: Iterable[dict[str, Any]], client_id: str) -> list[dict[str, Any]]:
    """The spans naming ``client_id`` (the order, its fills, its notice), the spans they ran
    inside (the decision, the candle, the feed's publish in another process) and the spans
    inside them, oldest first. A candle's other accounts' orders are left out."""
    by_id = {r.get("span_id"): r for r in records}
    children: dict[str, list[str]] = {}
    for r in by_id.values():
        children.setdefault(str(r.get("parent_id") or ""), []).append(str(r.get("span_id")))
    named = [
        r
        for r in by_id.values()
        if isinstance(r.get("attributes"), dict)
        and r["attributes"].get("rampart.client_id") == client_id
    ]
    keep: set[str] = set()
    for r in named:
        up = r.get("parent_id")
        while up and up in by_id and up not in keep:
            keep.add(up)
            up = by_id[up].get("parent_id")
        down = [str(r.get("span_id"))]
        while down:
            sid = down.pop()
            if sid not in keep:
                keep.add(sid)
                down.extend(children.get(sid, []))
    found = [by_id[sid] for sid in keep if sid in by_id]
    return sorted(found, key=lambda r: int(r.get("start_ns") or 0))


__all__ = ["JsonLinesSpanExporter", "read_spans", "span_files", "span_record", "spans_of"]
