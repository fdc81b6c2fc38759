"""What the settings must agree on beyond each value's own form, checked when they are read.

Each section validates its own values (a symbol is BASE/QUOTE, a fee is below 5 %); what
needs two sections or a registry is checked here, once the whole ``Settings`` exists: the
accounts' symbols against the feed, each account's agent, parameters and risk profile, the
feed's file and timeframe, the exchange ccxt is asked for. ``rampart config show`` and
``rampart run`` both read the settings through :func:`rampart.config.load_settings`, so a
mistake is refused by both, in the same sentence, before anything starts.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import ConfigError, RampartError

if TYPE_CHECKING:
    # The one settings Protocol with the configured accounts (``rampart.config.Settings`` is
    # one): named from below, since the settings run these checks when they are read.
    from rampart.fleet.settings import FleetSettings


def bad(key: str, reason: str) -> ConfigError:
    """The one sentence every configuration mistake is told in."""
    return ConfigError(f"Bad configuration: setting '{key}': {reason.rstrip('.')}.")


def _reason(error: RampartError) -> str:
    """A sentence from elsewhere (a registry, a loader) as the reason after a key."""
    text = error.message.rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def check_settings(settings: FleetSettings) -> None:
    """Raise :class:`ConfigError` naming the first key whose value cannot work."""
    _check_feed(settings)
    _check_venue(settings)
    _check_accounts(settings)


def _check_feed(settings: FleetSettings) -> None:
    feed = settings.feed
    if feed.kind == "replay":
        if feed.path is None:
            raise bad("feed.path", "a candle file is required when 'feed.kind' is replay")
        if not feed.path.exists():
            raise bad("feed.path", f"{str(feed.path)!r} does not exist")
        if not feed.path.is_file():
            raise bad("feed.path", f"{str(feed.path)!r} is not a file")
        return
    try:
        timeframe_ms(feed.timeframe)
    except ValueError as exc:
        raise bad("feed.timeframe", str(exc)) from None


def _check_venue(settings: FleetSettings) -> None:
    venue = settings.venue
    if "ccxt" not in (venue.kind, settings.feed.kind):
        return
    import ccxt  # only when the settings name a ccxt exchange: it is what runs them anyway

    known: list[str] = list(ccxt.exchanges)
    if venue.exchange not in known:
        close = difflib.get_close_matches(venue.exchange, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise bad(
            "venue.exchange",
            f"ccxt has no exchange called {venue.exchange!r}{hint}; its ids are lower case, "
            "such as binance, kraken or okx",
        )


def _check_accounts(settings: FleetSettings) -> None:
    from rampart.agents.informative import declared
    from rampart.agents.plugins import check_storable
    from rampart.agents.registry import make_agent
    from rampart.risk.profiles import get_profile

    try:
        get_profile("moderate", settings.profiles)  # every override, whoever uses it
    except RampartError as exc:
        raise bad("profiles", _reason(exc)) from None
    fed = set(settings.feed.symbols)
    checks_feed = settings.feed.kind != "replay"
    for i, account in enumerate(settings.accounts):
        where = f"accounts[{i}]"
        if checks_feed:
            missing = [s for s in account.symbols if s not in fed]
            if missing:
                carried = ", ".join(settings.feed.symbols) or "nothing"
                raise bad(
                    f"{where}.symbols",
                    f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in "
                    f"'feed.symbols' ({carried}): add {'it' if len(missing) == 1 else 'them'} "
                    "there, or trade what the feed carries",
                )
        try:
            get_profile(account.profile, settings.profiles)
        except RampartError as exc:
            raise bad(f"{where}.profile", _reason(exc)) from None
        try:
            check_storable(account.agent)
            agent = make_agent(account.agent, account.params)
            reads = {spec.symbol for spec in declared(agent) if spec.symbol}
        except RampartError as exc:
            key = "params" if "parameter" in exc.message.lower() else "agent"
            raise bad(f"{where}.{key}", _reason(exc)) from None
        unfed = sorted(reads - fed) if checks_feed else []
        if unfed:
            # Another symbol's bars reach a view only from the feed (agents.md).
            raise bad(
                f"{where}.agent",
                f"its agent reads {', '.join(unfed)} (informative), which 'feed.symbols' does "
                "not carry: add it there (no account need trade it)",
            )


__all__ = ["bad", "check_settings"]
