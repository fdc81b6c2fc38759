"""Why a replay's entries were refused for their bracket, and the profile that would take them.

A port of a Freqtrade strategy keeps its fixed ``stoploss`` (10 %, say) and ROI targets: every
built-in profile refuses that stop, so the replay trades nothing and would say only "trades 0".
The replay counts the entries the profile refused for their stop or their reward:risk and says,
in its summary, what the agent asks for and which profile (with the settings' overrides) takes
every one of those entries, or, when none does, the override that would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from rampart.domain.events import Event, IntentRejected
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import DEFAULT_PROFILES, RiskProfile, get_profile

BRACKET_CODES = frozenset(
    {RejectCode.STOP_TOO_WIDE, RejectCode.STOP_TOO_TIGHT, RejectCode.MIN_REWARD_RISK}
)


@dataclass(slots=True)
class BracketRefusals:
    """The entries refused for their bracket (a bus subscriber): their stop distances and
    reward:risk, as fractions."""

    stops: list[Decimal] = field(default_factory=list)
    ratios: list[Decimal] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        if not isinstance(event, IntentRejected) or event.code not in BRACKET_CODES:
            return
        intent = event.intent
        entry, stop, take = intent.entry_price, intent.stop_loss, intent.take_profit
        if entry is None or stop is None or take is None or not entry > stop:
            return
        self.stops.append((entry - stop) / entry)
        self.ratios.append((take - entry) / (entry - stop))

    def sentence(self, profile: str, overrides: Mapping[str, Mapping[str, Any]] | None) -> str:
        """What the summary says; empty when no entry was refused for its bracket."""
        if not self.stops:
            return ""
        wide, narrow = max(self.stops), min(self.stops)
        low_rr = min(self.ratios)
        asked = (
            f"{len(self.stops):,} entries refused by the {profile} profile for their bracket: "
            f"stops {_pct(narrow)} to {_pct(wide)} below the entry, reward:risk down to "
            f"{low_rr:.2f}"
        )
        takes = [
            name
            for name in DEFAULT_PROFILES
            if _takes(get_profile(name, overrides), narrow, wide, low_rr)
        ]
        if takes:
            return f"{asked}. The {takes[0]} profile takes them: replay with --profile {takes[0]}."
        own = get_profile(profile, overrides)
        changes = []
        if wide > own.max_stop:
            changes.append(f"max_stop: {_plain(wide, ROUND_CEILING)}")
        if narrow < own.min_stop:
            changes.append(f"min_stop: {_plain(narrow, ROUND_FLOOR)}")
        if low_rr < own.min_rr:
            changes.append(f"min_rr: {_plain(low_rr, ROUND_FLOOR)}")
        return (
            f"{asked}. No profile takes them: override one in the settings, "
            f"profiles: {{{profile}: {{{', '.join(changes)}}}}} "
            "(docs/authors/from-freqtrade.md), or give the agent a bracket a profile allows."
        )


def _takes(p: RiskProfile, narrow: Decimal, wide: Decimal, low_rr: Decimal) -> bool:
    return p.min_stop <= narrow and wide <= p.max_stop and low_rr >= p.min_rr


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.01')).normalize():f} %"


def _plain(x: Decimal, rounding: str) -> str:
    """A figure as a profile override takes it (a fraction), to four places, rounded so that
    the override still takes every refused entry (a largest stop up, a least one down)."""
    return f"{x.quantize(Decimal('0.0001'), rounding=rounding).normalize():f}"
