"""``rampart preflight``: read-only calls to every service the configured venue depends on, each
answer held against the shape Rampart reads, before anything trades on them.

An exchange (``venue.kind: ccxt``): its server time (and this machine's clock against it), its
exchange info for the traded symbols, each configured key's account balance and, where the
exchange publishes them, the key's restrictions (a key that can withdraw fails; one not pinned
to an IP address warns). Solana
(``venue.kind: solana``): a quote from each configured route and, on every RPC node, getHealth
and getLatestBlockhash, then the wallets' balances. Nothing is ever sent that could place an
order or a transaction.

Each check is one :class:`Check`: OK, WARN (passed, with something to fix), FAIL or SKIP
(nothing to check, e.g. no wallet), with one sentence. A check that got no answer at all
(connection refused, no route to the host, a timeout) did not *reach* its service;
:func:`exit_code` is 2 when none did (offline, or every address wrong), 1 when any check
failed, 0 otherwise (a warning does not fail). Sentences name hosts only: keys, paths
and queries (where RPC providers put their tokens) never appear.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from rampart.domain.errors import ConfigError
from rampart.observability.logging import mask_text, register_secret

if TYPE_CHECKING:
    from rampart.config import Settings

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


def exit_code(checks: Iterable[Check]) -> int:
    """0 when nothing failed, 2 when no service answered any check, else 1."""
    checks = list(checks)
    if not any(c.result == FAIL for c in checks):
        return 0
    return 1 if any(c.reached for c in checks) else 2


def summary(checks: Iterable[Check]) -> str:
    checks = list(checks)
    code = exit_code(checks)
    if code == 2:
        return (
            "Could not reach any of the venue's services: this machine is offline or the "
            "addresses are wrong. Nothing was checked."
        )
    fails = sum(1 for c in checks if c.result == FAIL)
    done = sum(1 for c in checks if c.result != SKIP)
    warns = sum(1 for c in checks if c.result == WARN)
    if fails:
        return f"{fails} of {done} checks failed: fix them before trading on this venue."
    if warns:
        return (
            f"All {done} checks passed, {warns} with a warning: read them before trading on "
            "this venue."
        )
    return f"All {done} checks passed: the venue answers as Rampart reads it."


def _register_secrets(settings: Settings) -> None:
    """Every credential in the settings is masked in whatever a check prints."""
    v, s = settings.venue, settings.solana
    values = [c.api_key for c in v.credentials.values()]
    values += [c.secret for c in v.credentials.values()]
    values += list(s.keypairs.values())
    for name in ("bags_api_key", "jupiter_api_key"):
        value = getattr(s, name, None)
        if value is not None:
            values.append(value)
    for secret in values:
        register_secret(secret.get_secret_value())


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def run_preflight(
    settings: Settings, *, wallets: Iterable[str] = (), now_ms: WallMs = wall_ms
) -> list[Check]:
    """Every check for the configured venue, in order. ``wallets``: more Solana addresses whose
    balances are read (public keys; the settings' keypairs are read anyway)."""
    _register_secrets(settings)
    kind = settings.venue.kind
    if kind == "ccxt":
        from rampart.wiring.preflight_ccxt import ccxt_checks

        return await ccxt_checks(settings, now_ms)
    if kind == "solana":
        from rampart.wiring.preflight_solana import solana_checks

        return await solana_checks(settings.solana, list(wallets))
    raise ConfigError(
        f"Preflight checks an exchange (venue.kind: ccxt) or Solana (venue.kind: solana); "
        f"venue.kind is {kind}, which calls no outside service."
    )


__all__ = [
    "FAIL",
    "OK",
    "SKIP",
    "WARN",
    "Check",
    "exit_code",
    "failed",
    "host_of",
    "ok",
    "plain",
    "run_preflight",
    "skipped",
    "summary",
    "unreachable",
    "warned",
]
