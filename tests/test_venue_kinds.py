"""The venue kind registry (``rampart.wiring.venue_kinds``) is the one place that names venue
kinds and swap routes: the settings' own lists agree with it, every kind builds a venue whose
declared capabilities fit what the registry says of the kind, and nothing outside the venue's
own package, the root and the testkit names a kind or a route.
"""

from __future__ import annotations

import ast
import asyncio
import re
import typing
from pathlib import Path

import pytest

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.market.settings import SIMULATED_FEEDS, FeedConfig
from rampart.trading.ports import KeyedVenue, ReconcilableVenue, Updates, Venue
from rampart.venues.settings import VenueConfig
from rampart.venues.solana.settings import ROUTE_LABELS, RouteName
from rampart.wiring.venue_kinds import (
    VENUE_KINDS,
    feed_kinds,
    make_venue,
    route_labels,
    route_names,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "rampart"

# -- the registry and the settings agree --------------------------------------------------------


def _literal(model: type, field: str) -> set[str]:
    return set(typing.get_args(model.model_fields[field].annotation))


def test_the_settings_admit_exactly_the_registered_kinds_feeds_and_routes() -> None:
    assert _literal(VenueConfig, "kind") == set(VENUE_KINDS)
    assert _literal(FeedConfig, "kind") == SIMULATED_FEEDS | feed_kinds()
    assert set(typing.get_args(RouteName)) == set(route_names()) == set(ROUTE_LABELS)
    assert route_labels() == ROUTE_LABELS


SETTINGS = {
    "paper": lambda: load_settings(accounts=[]),
    "ccxt": lambda: load_settings(
        venue={"kind": "ccxt", "api_url": "http://127.0.0.1:9"}, accounts=[]
    ),
    "solana": lambda: load_settings(
        venue={"kind": "solana"},
        feed={"kind": "solana"},
        solana={"bags_api_key": "k", "rpc_urls": ["http://127.0.0.1:9"]},
        accounts=[],
    ),
}


@pytest.mark.parametrize("kind", sorted(VENUE_KINDS))
def test_every_kind_builds_a_venue_whose_capabilities_fit_the_registry(kind: str) -> None:
    settings: Settings = SETTINGS[kind]()
    entry = VENUE_KINDS[kind]
    assert entry.name == kind and entry.section(settings) is not None
    venue = make_venue(settings, {}, SimClock(0))
    try:
        assert isinstance(venue, Venue)
        caps = venue.capabilities
        # A venue with books of its own is one the engine polls and reconciliation questions.
        if entry.own_books:
            assert caps.updates is Updates.POLLED and caps.reconciliation
        # Each capability comes with the port's methods for it.
        assert caps.reconciliation == isinstance(venue, ReconcilableVenue)
        assert caps.keyed_accounts == isinstance(venue, KeyedVenue)
        assert caps.keyed_accounts == (entry.credentials is not None)
        if entry.credentials is not None:
            assert entry.credentials(settings)
        # A venue that trades on its own market's feed is a venue whose market is remote.
        assert (entry.feed is None) == (caps.updates is Updates.CANDLES)
        assert entry.problems(settings) == []
    finally:
        close = getattr(venue, "aclose", None)
        if close is not None:
            asyncio.run(close())


# -- nothing else names a kind or a route -----------------------------------------------------

OWNERS = ("venues/solana/", "wiring/")
"""The Solana venue's own package and the composition root (with the registry) may name them;
the testkit (``rampart_testkit``) is outside ``src/rampart`` and may too."""

EXEMPT = {
    "market/settings.py": "the feed kinds' Literal: pydantic checks the YAML against it when "
    "settings load, before any registry runs; the test above holds it equal to the registry",
    "venues/settings.py": "the venue kinds' Literal, for the same reason and held the same way",
    "security/keypairs.py": "the tag a stored wallet credential carries in the credentials "
    "table: a persisted value (the registry's solana entry reads it from there)",
    "operator/routing.py": "the facade's venue routing of investor accounts, until venues are "
    "described by capability: this list may only shrink",
    "telegram/wallet_cmds.py": "the bot's /wallet command, until then too",
}
"""Files that may still name a kind, each with why; a file listed here that names none fails
the test, so the list only shrinks."""

ROUTE_WORDS = re.compile(r"\b(bags|jupiter)\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that stand alone as statements: docstrings of modules,
    classes and functions, and the attribute docstrings under assignments."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _names_a_kind(text: str) -> bool:
    # Prose (a sentence with spaces) is for people: a message may say "bags.fm" or "solana".
    # An identity is one token: a key, a label value, a kind compared against.
    if any(ch.isspace() for ch in text):
        return False
    return text == "solana" or ROUTE_WORDS.search(text) is not None


def identity_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and _names_a_kind(node.value)
    ]


def test_the_scan_finds_what_it_should() -> None:
    samples = {
        'KIND = "solana"': True,
        'ROUTES = ("bags", "jupiter")': True,
        'x = {"route": "bags", "outcome": "filled"}': True,
        'label = "bags.fm"': True,
        'ERR = "bags.fm took less than half of the swaps."': False,
        'def f():\n    """Swaps through bags.fm or Jupiter."""': False,
        "key = settings.solana.bags_api_key": False,
        'KIND = "solana_swaps"': False,
    }
    for source, expected in samples.items():
        tree = ast.parse(source)
        skip = _docstrings(tree)
        found = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and id(n) not in skip
            and _names_a_kind(n.value)
        ]
        assert bool(found) is expected, source


def test_no_kind_or_route_is_named_outside_its_package_the_root_and_the_exemptions() -> None:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(OWNERS):
            continue
        hits = identity_literals(path)
        if hits:
            found[rel] = hits
    unexplained = {rel: hits for rel, hits in found.items() if rel not in EXEMPT}
    assert unexplained == {}, (
        "name venue kinds and routes through rampart.wiring.venue_kinds (or what it hands "
        f"over), not as literals: {unexplained}"
    )
    stale = sorted(set(EXEMPT) - set(found))
    assert stale == [], f"no longer names a kind: remove from EXEMPT: {stale}"
