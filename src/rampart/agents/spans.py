"""The span an agent's declared input was computed or trained on, as it states it.

A declared file or model (``files``) may carry the future of the candles research judges it
on: a table computed over a whole year, weights fitted on it. Evidence counts only candles
after the span its inputs were made from ends, so each input states that span in a sidecar
beside it, ``<file>.span.json``: ``{"from": ..., "to": ...}``, ISO dates or milliseconds since
1970 (``from`` may be left out). An input with no sidecar is *unverified*: research says so in
words, and an agent with an unverified input is not promoted (GO/NO-GO's evidence criterion,
``rampart.rollout.rules.evidence``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rampart.agents.fingerprint import agent_files
from rampart.domain.errors import ConfigError

SIDECAR = ".span.json"


@dataclass(frozen=True, slots=True)
class InputSpan:
    """One declared input and the span it states (``end_ms`` None: it states none)."""

    name: str
    start_ms: int | None
    end_ms: int | None

    @property
    def stated(self) -> bool:
        return self.end_ms is not None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.name, "from": self.start_ms, "to": self.end_ms}

    def describe(self) -> str:
        if self.end_ms is None:
            return (
                f"{self.name} is unverified: it states no span it was computed or trained on "
                f"(a {self.name}{SIDECAR} beside it)"
            )
        start = f"from {day(self.start_ms)} " if self.start_ms is not None else ""
        return f"{self.name} was made {start}up to {day(self.end_ms)}"


def day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ms(value: object, where: Path, key: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
            return int(stamp.timestamp() * 1000)
    raise ConfigError(
        f"{where}: '{key}' must be an ISO date (2024-01-31) or milliseconds since 1970; "
        f"got {value!r}."
    )


def stated_span(path: Path) -> InputSpan:
    """The span ``path`` states in its sidecar; a span with no end when it has none."""
    sidecar = path.with_name(path.name + SIDECAR)
    if not sidecar.is_file():
        return InputSpan(path.name, None, None)
    try:
        found = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{sidecar} could not be read as JSON: {err}.") from err
    if not isinstance(found, dict) or "to" not in found:
        raise ConfigError(
            f'{sidecar} must hold {{"from": ..., "to": ...}}: the span {path.name} was '
            "computed or trained on ('to' at least)."
        )
    start = _ms(found["from"], sidecar, "from") if found.get("from") is not None else None
    end = _ms(found["to"], sidecar, "to")
    if start is not None and start > end:
        raise ConfigError(f"{sidecar}: 'from' is after 'to'.")
    return InputSpan(path.name, start, end)


def input_spans(cls: type) -> tuple[InputSpan, ...]:
    """The span each file the agent class ``cls`` declares states (sidecars are not inputs)."""
    declared = agent_files(cls).declared
    return tuple(stated_span(p) for p in declared if not p.name.endswith(SIDECAR))
