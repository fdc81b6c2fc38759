"""Where orders go: the rules ``rampart run`` enforces before it starts.

Checked at start (``check_trading_mode``), not in ``load_settings``: every other command
(``config show``, ``secrets generate``, ``backup restore``, ``doctor``) must still work on a
live configuration that is not yet fit to trade, or an operator could not repair it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from rampart.config import Settings
from rampart.domain.errors import ConfigError
from rampart.runtime.hosts import is_loopback

EXCHANGE_MODES = frozenset({"testnet", "live"})
"""Modes whose orders go to an exchange and whose books are the record of real orders."""

ModeTopic = Literal["mode", "master key", "store", "solana routes"]

VENUE_FEEDS = {"ccxt": "ccxt", "solana": "solana"}
"""The feed each exchange or chain venue trades on in testnet and live modes."""


@dataclass(frozen=True, slots=True)
class ModeProblem:
    topic: ModeTopic
    """What to change: the feed/venue/mode agreement, the master key, the store, or the keys
    of the Solana routes."""
    sentence: str


def master_key_set(settings: Settings) -> bool:
    """A master key is named: ``master_key`` (not blank) or Vault's ``vault.url``."""
    key = settings.master_key
    return (key is not None and bool(key.get_secret_value().strip())) or bool(settings.vault.url)


def mode_problems(settings: Settings) -> list[ModeProblem]:
    """Every reason the settings may not trade in their mode, each one sentence naming the
    setting to change, in the order an operator should fix them."""
    mode = settings.mode
    feed, venue = settings.feed, settings.venue
    found: list[ModeProblem] = []
    if venue.kind == "solana" and (routes := settings.solana.route_problem()) is not None:
        found.append(ModeProblem("solana routes", routes))
    if mode not in EXCHANGE_MODES:
        # Paper mode must not become live by the back door: a ccxt venue on the real
        # exchange would send real orders with none of the checks below.
        if venue.kind == "ccxt" and not venue.sandbox and venue.api_url is None:
            found.append(
                ModeProblem(
                    "mode",
                    f"Mode {mode} would send real orders to {venue.exchange}: set "
                    "'venue.sandbox' to true for its testnet, or 'mode' to live.",
                )
            )
        if venue.kind == "solana":
            remote = [
                url for url in settings.solana.rpc_urls if not is_loopback(urlsplit(url).hostname)
            ]
            if remote:
                found.append(
                    ModeProblem(
                        "mode",
                        f"Mode {mode} would send real swaps through {remote[0]}: point "
                        "'solana.rpc_urls' at the stand-in (`rampart solana-sim`), or set "
                        "'mode' to testnet (devnet) or live.",
                    )
                )
        return found
    if venue.kind not in VENUE_FEEDS:
        found.append(
            ModeProblem(
                "mode", f"Mode {mode} sends orders to an exchange: set 'venue.kind' to ccxt."
            )
        )
    if venue.kind == "solana":
        # The solana feed quotes the venue's own routes: prices and swaps are one market's.
        if feed.kind != "solana":
            found.append(
                ModeProblem(
                    "mode",
                    f"Mode {mode} must trade on the chain's own prices, not {feed.kind} "
                    "candles: set 'feed.kind' to solana.",
                )
            )
    elif feed.kind != "ccxt":
        # The ccxt feed reads the venue's exchange (venue.exchange, sandbox, api_url), so
        # with both on ccxt the candles and the orders are always the same exchange's.
        found.append(
            ModeProblem(
                "mode",
                f"Mode {mode} must trade on the exchange's own candles, not {feed.kind} ones: "
                "set 'feed.kind' to ccxt.",
            )
        )
    if mode == "live" and venue.kind == "ccxt" and venue.sandbox:
        found.append(
            ModeProblem(
                "mode",
                f"Mode live would trade on {venue.exchange}'s testnet because 'venue.sandbox' "
                "is true: set 'mode' to testnet, or 'venue.sandbox' to false.",
            )
        )
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


def check_trading_mode(settings: Settings) -> None:
    """Refuse to trade, in one sentence, on settings that do not fit their mode."""
    problems = mode_problems(settings)
    if problems:
        raise ConfigError(problems[0].sentence)
