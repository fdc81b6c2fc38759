"""The market-data guard's alerts, kept apart from the runbook's levels in ``rules``.

MarketDataSuspect (P2) opens for each price the guard held, dropped or trimmed in the last 15
minutes, naming its symbol, source, value and the band it missed: one bad print is somebody's
problem to look at, not a page, since it moved no money. It becomes a P1 when a symbol stays
held for more than ``alerts.levels.market_data_held_candles`` candles (MarketDataHeld: entries
on it are refused meanwhile and its prices are frozen for Rampart's own stops), or when two or
more symbols are held at once (MarketDataSuspectMany: a feed, not a print, is going wrong).
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.settings import AlertLevels
from rampart.observability.alerts.signals import GaugeSignal, IncreaseSignal
from rampart.observability.market_data_metrics import HELD_CANDLES, HELD_SYMBOLS, SUSPECT

SUSPECT_WINDOW_S = 900


def market_data_rules(levels: AlertLevels) -> list[AlertRule]:
    return [
        AlertRule(
            "MarketDataSuspect",
            "P2",
            "A {symbol} price from {source} looked wrong and was {outcome}: {value}, outside "
            "{band}. It moved no mark, equity, breaker or stop of Rampart's.",
            IncreaseSignal(
                SUSPECT,
                SUSPECT_WINDOW_S,
                by=("symbol", "source", "value", "band", "outcome"),
            ),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "MarketDataHeld",
            "P1",
            "{symbol} prices have been held as suspect for more than {threshold} candles "
            "({why}): entries on it are refused and Rampart's own stops see no new price "
            "until one is confirmed; stops on the exchange stay as they are. Check the feed "
            "against the exchange.",
            GaugeSignal(HELD_CANDLES, by=("symbol", "why")),
            ">",
            levels.market_data_held_candles,
            0,
        ),
        AlertRule(
            "MarketDataSuspectMany",
            "P1",
            "Prices of {threshold} or more symbols are held as suspect at once: the feed, not "
            "one print, is going wrong.",
            GaugeSignal(HELD_SYMBOLS),
            ">=",
            2,
            0,
        ),
    ]


__all__ = ["market_data_rules"]
