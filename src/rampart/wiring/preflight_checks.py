"""What a preflight check is (:class:`Check`: its result, its one sentence, whether its service
answered) and how the venue checks make one, every URL in a sentence cut to its host and
every credential masked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from rampart.observability.logging import mask_text

Result = Literal["OK", "WARN", "FAIL", "SKIP"]
OK: Result = "OK"
WARN: Result = "WARN"
"""Passed, with something to fix that does not stop trading (a key not pinned to an address,
restrictions that could not be read): the exit code stays 0."""
FAIL: Result = "FAIL"
SKIP: Result = "SKIP"

WallMs = Callable[[], int]

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://([^/\s?#]+)[^\s]*", re.I)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    endpoint: str
    """The host (and port) asked; never a path or a query."""
    result: Result
    sentence: str
    reached: bool
    """The service answered, rightly or wrongly (False: no answer, or nothing was asked)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{host}:{parts.port}" if parts.port else host


def plain(text: str) -> str:
    """``text`` safe to print: every URL cut to its host, credentials masked."""
    return mask_text(_URL.sub(lambda m: m.group(1).rsplit("@", 1)[-1], text))


def ok(name: str, endpoint: str, sentence: str) -> Check:
    return Check(name, endpoint, OK, sentence, True)


def failed(name: str, endpoint: str, sentence: str, *, reached: bool = True) -> Check:
    return Check(name, endpoint, FAIL, plain(sentence), reached)


def unreachable(name: str, endpoint: str, why: str) -> Check:
    return failed(name, endpoint, f"Cannot reach {endpoint}: {why}", reached=False)


def warned(name: str, endpoint: str, sentence: str, *, reached: bool = True) -> Check:
    return Check(name, endpoint, WARN, plain(sentence), reached)


def skipped(name: str, sentence: str) -> Check:
    return Check(name, "-", SKIP, sentence, False)


__all__ = [
    "FAIL",
    "OK",
    "SKIP",
    "WARN",
    "Check",
    "WallMs",
    "failed",
    "host_of",
    "ok",
    "plain",
    "skipped",
    "unreachable",
    "warned",
]
