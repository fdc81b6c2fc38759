"""``rampart preflight``: read-only calls to every service the configured venue depends on, each
answer held against the shape Rampart reads, before anything trades on them.

An exchange (``venue.kind: ccxt``): its server time (and this machine's clock against it), its
exchange info for the traded symbols, each configured key's account balance and, where the
exchange publishes them, the key's restrictions (a key that can withdraw fails; one not pinned
to an IP address warns). Solana
(``venue.kind: solana``): a quote from each configured route and, on every RPC node, getHealth
and getLatestBlockhash, then the wallets' balances. Nothing is ever sent that could place an
order or a transaction.

Each check is one :class:`~rampart.wiring.preflight_checks.Check`: OK, WARN (passed, with something
to fix), FAIL or SKIP (nothing to check, e.g. no wallet), with one sentence. A check that got no
answer at all (connection refused, no route to the host, a timeout) did not *reach* its service;
:func:`exit_code` is 2 when none did (offline, or every address wrong), 1 when any check failed, 0
otherwise (a warning does not fail). Sentences name hosts only: keys, paths and queries (where RPC
providers put their tokens) never appear.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rampart.domain.errors import ConfigError
from rampart.observability.logging import register_secret
from rampart.wiring.preflight_checks import FAIL, SKIP, WARN, Check, WallMs

if TYPE_CHECKING:
    from rampart.config import Settings


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


__all__ = ["exit_code", "run_preflight", "summary", "wall_ms"]
