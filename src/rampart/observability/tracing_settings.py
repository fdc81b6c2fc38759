"""``tracing:`` settings: whether spans are made and where they go."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from rampart.settings_base import Section


class TracingConfig(Section):
    """Traces across processes (docs/operators/observability.md, "Traces")."""

    exporter: Literal["off", "otlp", "file"] = "off"
    """``off``: no span is made (OpenTelemetry's no-op API, nothing else loaded); ``otlp``:
    spans sent by OTLP/HTTP to ``otlp_endpoint``; ``file``: spans written as JSON lines into
    ``directory``, where ``rampart trace`` reads them."""
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    """The collector's OTLP/HTTP traces URL (the ``logs`` compose profile's collector)."""
    directory: Path = Path("var")
    """Where ``exporter: file`` writes ``spans-<process>-<pid>.jsonl`` (the logs' directory)."""
    file_mb: float = Field(default=50.0, gt=0, le=100_000)
    """A spans file past this size is moved to ``.1`` (one old file kept) and started anew."""
    sample_ratio: float = Field(default=1.0, ge=0, le=1)
    """The share of new traces kept (a trace begun in another process keeps its decision)."""


__all__ = ["TracingConfig"]
