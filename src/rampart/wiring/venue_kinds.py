"""The venue kinds Rampart trades on, one entry each, and the swap routes of the Solana venue.

Everything that must tell venue kinds apart asks this registry, or takes what it hands over:
the factory that builds a kind's venue and loads its instruments, the settings section it
reads, the feed that reads its own market, whether it keeps books of its own (so a Reconciler
runs), the tag of the credentials an account connects with, and the rules its settings must
meet in each mode. What the *engine* reads about a venue is not here: the venue declares it
itself (``capabilities``, :class:`rampart.trading.ports.VenueCapabilities`), and a test checks
the two agree for every kind.

Nothing here imports a venue's own package until a venue of that kind is built: a paper
session never loads ccxt, httpx or solders. Adding a kind: docs/authors/venue-kinds.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rampart.market.settings import SIMULATED_FEEDS
from rampart.modes import EXCHANGE_MODES, ModeProblem
from rampart.modes import check_trading_mode as _check_trading_mode
from rampart.modes import mode_problems as _mode_problems
from rampart.runtime.hosts import is_loopback
from rampart.trading.reconcile.schedule import Reconciliation, reconciled_by
from rampart.venues.solana.settings import ROUTE_LABELS

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.config import Settings
    from rampart.domain.instruments import Instrument
    from rampart.settings_base import Section
    from rampart.trading.ports import Venue
    from rampart.venues.ccxt_errors import OnCall

VenueFactory = Callable[
    ["Settings", "Mapping[str, Instrument]", "Clock", "Iterable[str] | None", "OnCall | None"],
    "Venue",
]
"""(settings, instruments, clock, accounts, on_call) → the venue (``accounts`` None: the
configured ones; ``on_call``: the exchange-call hook, for kinds that make HTTP calls)."""
InstrumentLoader = Callable[
    ["Settings", "list[str]", "Clock | None"], Awaitable["dict[str, Instrument]"]
]


@dataclass(frozen=True, slots=True)
class RouteKind:
    """One swap route of the Solana venue, as the rest of Rampart names it."""

    name: str
    """The name in settings (``solana.route.routes``), journal rows, metrics and reports."""
    label: str
    """The name people read (reports, the bot)."""


@dataclass(frozen=True, slots=True)
class VenueKind:
    """One ``venue.kind``."""

    name: str
    build: VenueFactory
    load_instruments: InstrumentLoader
    section: Callable[[Settings], Section]
    """The settings section the kind reads (``venue``, ``solana``)."""
    feed: str | None
    """The ``feed.kind`` that reads this venue's own market (its candles, its quotes): the one
    it must trade on in testnet and live modes. None: it trades on any feed (paper)."""
    own_books: bool
    """The venue keeps books of its own (an exchange's, a chain's) that can differ from ours:
    a Reconciler compares them at start, after a reconnect and on an interval."""
    credentials: Callable[[Settings], str] | None
    """The ``exchange`` of the stored credentials an account connects with (None: accounts
    connect nothing)."""
    problems: Callable[[Settings], list[ModeProblem]]
    """What the kind's settings must fix before ``rampart run`` trades in their mode."""
    routes: tuple[RouteKind, ...] = ()


# -- paper ------------------------------------------------------------------------------------


def _build_paper(
    settings: Settings,
    instruments: Mapping[str, Instrument],
    clock: Clock,
    accounts: Iterable[str] | None,
    on_call: OnCall | None,
) -> Venue:
    from rampart.venues.paper import FeeSchedule, PaperVenue, SlippageModel
    from rampart.wiring.venues import PAPER_HISTORY

    v = settings.venue
    return PaperVenue(
        instruments,
        fees=FeeSchedule(maker=v.maker_fee, taker=v.taker_fee),
        slippage=SlippageModel(base_bps=v.slippage_bps, impact_bps=v.impact_bps),
        participation=v.participation,
        clock=clock,
        history_limit=PAPER_HISTORY,
    )


async def _paper_instruments(
    settings: Settings, symbols: list[str], clock: Clock | None
) -> dict[str, Instrument]:
    from rampart.wiring.instruments import instruments_for

    return instruments_for(symbols)


# -- ccxt -------------------------------------------------------------------------------------


def _build_ccxt(
    settings: Settings,
    instruments: Mapping[str, Instrument],
    clock: Clock,
    accounts: Iterable[str] | None,
    on_call: OnCall | None,
) -> Venue:
    from rampart.wiring.venues import make_ccxt_venue

    return make_ccxt_venue(settings, instruments, clock, accounts=accounts, on_call=on_call)


async def _ccxt_instruments(
    settings: Settings, symbols: list[str], clock: Clock | None
) -> dict[str, Instrument]:
    from rampart.wiring.venues import ccxt_instruments

    return await ccxt_instruments(settings, symbols, clock)


def _exchange_candles(settings: Settings) -> list[ModeProblem]:
    feed = settings.feed
    if feed.kind == CCXT.feed:
        return []
    # The ccxt feed reads the venue's exchange (venue.exchange, sandbox, api_url), so with
    # both on ccxt the candles and the orders are always the same exchange's.
    return [
        ModeProblem(
            "mode",
            f"Mode {settings.mode} must trade on the exchange's own candles, not {feed.kind} "
            f"ones: set 'feed.kind' to {CCXT.feed}.",
        )
    ]


def _paper_problems(settings: Settings) -> list[ModeProblem]:
    # An exchange mode refuses the paper venue itself (rampart.modes); the feed it would need
    # is an exchange's too.
    return _exchange_candles(settings) if _exchange_mode(settings) else []


def _ccxt_problems(settings: Settings) -> list[ModeProblem]:
    mode, venue = settings.mode, settings.venue
    found: list[ModeProblem] = []
    if not _exchange_mode(settings):
        # Paper mode must not become live by the back door: a ccxt venue on the real
        # exchange would send real orders with none of the exchange modes' checks.
        if not venue.sandbox and venue.api_url is None:
            found.append(
                ModeProblem(
                    "mode",
                    f"Mode {mode} would send real orders to {venue.exchange}: set "
                    "'venue.sandbox' to true for its testnet, or 'mode' to live.",
                )
            )
        return found
    found += _exchange_candles(settings)
    if mode == "live" and venue.sandbox:
        found.append(
            ModeProblem(
                "mode",
                f"Mode live would trade on {venue.exchange}'s testnet because 'venue.sandbox' "
                "is true: set 'mode' to testnet, or 'venue.sandbox' to false.",
            )
        )
    return found


# -- solana -----------------------------------------------------------------------------------


def _build_solana(
    settings: Settings,
    instruments: Mapping[str, Instrument],
    clock: Clock,
    accounts: Iterable[str] | None,
    on_call: OnCall | None,
) -> Venue:
    from rampart.wiring.solana import make_solana_venue

    return make_solana_venue(settings, clock)


async def _solana_instruments(
    settings: Settings, symbols: list[str], clock: Clock | None
) -> dict[str, Instrument]:
    from rampart.clock import WallClock
    from rampart.wiring.solana import make_solana_venue

    chain = make_solana_venue(settings, clock or WallClock())
    try:
        return await chain.load(symbols)
    finally:
        await chain.aclose()


def _solana_problems(settings: Settings) -> list[ModeProblem]:
    mode, feed = settings.mode, settings.feed
    found: list[ModeProblem] = []
    if (routes := settings.solana.route_problem()) is not None:
        found.append(ModeProblem("solana routes", routes))
    if not _exchange_mode(settings):
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
    if feed.kind != SOLANA.feed:
        # The solana feed quotes the venue's own routes: prices and swaps are one market's.
        found.append(
            ModeProblem(
                "mode",
                f"Mode {mode} must trade on the chain's own prices, not {feed.kind} "
                f"candles: set 'feed.kind' to {SOLANA.feed}.",
            )
        )
    return found


def _wallet_tag(settings: Settings) -> str:
    from rampart.security.wallets import EXCHANGE

    return EXCHANGE


def _exchange_mode(settings: Settings) -> bool:
    return settings.mode in EXCHANGE_MODES


PAPER = VenueKind(
    name="paper",
    build=_build_paper,
    load_instruments=_paper_instruments,
    section=lambda s: s.venue,
    feed=None,
    own_books=False,  # the paper venue is ours: there is nothing else to compare with
    credentials=None,
    problems=_paper_problems,
)
CCXT = VenueKind(
    name="ccxt",
    build=_build_ccxt,
    load_instruments=_ccxt_instruments,
    section=lambda s: s.venue,
    feed="ccxt",
    own_books=True,
    credentials=lambda s: s.venue.exchange,
    problems=_ccxt_problems,
)
SOLANA = VenueKind(
    name="solana",
    build=_build_solana,
    load_instruments=_solana_instruments,
    section=lambda s: s.solana,
    feed="solana",
    own_books=True,  # the wallets' token balances on chain
    credentials=_wallet_tag,
    problems=_solana_problems,
    routes=tuple(RouteKind(name, label) for name, label in ROUTE_LABELS.items()),
)

VENUE_KINDS: dict[str, VenueKind] = {kind.name: kind for kind in (PAPER, CCXT, SOLANA)}
"""Every venue kind, by ``venue.kind``."""


def venue_kind(settings: Settings) -> VenueKind:
    """The kind ``venue.kind`` names (the settings' own Literal admits no other)."""
    return VENUE_KINDS[settings.venue.kind]


def mode_problems(settings: Settings) -> list[ModeProblem]:
    """:func:`rampart.modes.mode_problems` for the settings' own venue kind."""
    return _mode_problems(settings, venue_kind(settings))


def check_trading_mode(settings: Settings) -> None:
    """Refuse, in one sentence, settings that may not trade in their mode."""
    _check_trading_mode(settings, venue_kind(settings))


def check_mode(settings: Settings) -> None:
    """Refuse a venue the mode does not allow (see ``rampart.modes.mode_problems``): checked
    here too so that nothing builds an exchange venue for settings ``rampart run`` refuses."""
    check_trading_mode(settings)


def make_venue(
    settings: Settings,
    instruments: Mapping[str, Instrument],
    clock: Clock,
    *,
    accounts: Iterable[str] | None = None,
    on_call: OnCall | None = None,
) -> Venue:
    """The venue the settings ask for, built by its kind's factory.
    ``accounts`` defaults to the configured accounts."""
    check_mode(settings)
    return venue_kind(settings).build(settings, instruments, clock, accounts, on_call)


async def load_instruments(
    settings: Settings, symbols: Iterable[str], clock: Clock | None = None
) -> dict[str, Instrument]:
    """Instruments for ``symbols``, as the settings' venue kind knows them: an exchange's
    markets, the chain's mints, or the paper defaults."""
    wanted = list(dict.fromkeys(symbols))
    return await venue_kind(settings).load_instruments(settings, wanted, clock)


def reconciliation_of(settings: Settings) -> Reconciliation | None:
    """Who reconciles the settings' venue with the books (see ``reconciled_by``)."""
    return reconciled_by(venue_kind(settings).own_books, settings.feed.kind not in SIMULATED_FEEDS)


def live_feed(settings: Settings) -> bool:
    """The feed reads a venue's own market (streamed by the exchange loop, on the wall's time)."""
    return settings.feed.kind not in SIMULATED_FEEDS


def feed_kinds() -> set[str]:
    """The feed kinds that read a venue's own market."""
    return {kind.feed for kind in VENUE_KINDS.values() if kind.feed is not None}


def route_names() -> list[str]:
    """Every swap route a venue kind registers, in registry order."""
    return [route.name for kind in VENUE_KINDS.values() for route in kind.routes]


def route_labels() -> dict[str, str]:
    return {route.name: route.label for kind in VENUE_KINDS.values() for route in kind.routes}


__all__ = [
    "CCXT",
    "PAPER",
    "SOLANA",
    "VENUE_KINDS",
    "RouteKind",
    "VenueKind",
    "check_mode",
    "check_trading_mode",
    "feed_kinds",
    "live_feed",
    "load_instruments",
    "make_venue",
    "mode_problems",
    "reconciliation_of",
    "route_labels",
    "route_names",
    "venue_kind",
]
