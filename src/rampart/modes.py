"""Where orders go: the rules ``rampart run`` enforces before it starts.

Checked at start (``check_trading_mode``), not in ``load_settings``: every other command
(``config show``, ``secrets generate``, ``backup restore``, ``doctor``) must still work on a
live configuration that is not yet fit to trade, or an operator could not repair it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from rampart.config import Settings
from rampart.domain.errors import ConfigError

EXCHANGE_MODES = frozenset({"testnet", "live"})
"""Modes whose orders go to an exchange and whose books are the record of real orders."""

ModeTopic = Literal["mode", "master key", "store", "solana routes"]


@dataclass(frozen=True, slots=True)
class ModeProblem:
    topic: ModeTopic
    """What to change: the feed/venue/mode agreement, the master key, the store, or the keys
    of the Solana routes."""
    sentence: str


class VenueRules(Protocol):
    """What the rules read of the settings' venue kind (an entry of the venue kind registry,
    ``rampart.wiring.venue_kinds``): this module names no kind."""

    @property
    def feed(self) -> str | None:
        """The feed that reads the venue's own market; None for a venue that is not an
        exchange's (it may not trade in an exchange mode)."""

    @property
    def problems(self) -> Callable[[Settings], list[ModeProblem]]:
        """The kind's own rules, in the order an operator should fix them."""


def master_key_set(settings: Settings) -> bool:
    """A master key is named: ``master_key`` (not blank) or Vault's ``vault.url``."""
    key = settings.master_key
    return (key is not None and bool(key.get_secret_value().strip())) or bool(settings.vault.url)


def mode_problems(settings: Settings, venue: VenueRules) -> list[ModeProblem]:
    """Every reason the settings may not trade in their mode, each one sentence naming the
    setting to change, in the order an operator should fix them: the venue kind's own first
    (``venue``: the settings' kind in the registry), then what every exchange mode needs."""
    mode = settings.mode
    exchange = mode in EXCHANGE_MODES
    found: list[ModeProblem] = []
    if exchange and venue.feed is None:
        found.append(
            ModeProblem(
                "mode", f"Mode {mode} sends orders to an exchange: set 'venue.kind' to ccxt."
            )
        )
    found += venue.problems(settings)
    if not exchange:
        return found
    if not master_key_set(settings):
        found.append(
            ModeProblem(
                "master key",
                f"Mode {mode} needs a master key to keep exchange keys encrypted: set "
                "RAMPART_MASTER_KEY (make one with `rampart secrets generate`) or 'vault.url'.",
            )
        )
    if settings.store.url.startswith("sqlite:") and not settings.store.allow_sqlite_on_exchange:
        found.append(
            ModeProblem(
                "store",
                f"Mode {mode} keeps the record of exchange orders in PostgreSQL: set "
                "'store.url' to a postgresql+psycopg:// URL, or 'store.allow_sqlite_on_exchange' "
                "to true to accept SQLite.",
            )
        )
    return found


def check_trading_mode(settings: Settings, venue: VenueRules) -> None:
    """Refuse to trade, in one sentence, on settings that do not fit their mode."""
    problems = mode_problems(settings, venue)
    if problems:
        raise ConfigError(problems[0].sentence)
