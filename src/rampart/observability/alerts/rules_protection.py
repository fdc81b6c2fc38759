"""The alerts for a position with no stop resting on the exchange.

``PositionUnprotected`` (P1) fires when an account's position on a symbol has had no stop
resting on the exchange for every coin for 5 s: Rampart's monitor holds the stop price and exits
at market when it is crossed, or nothing does (reason ``none``). ``PositionUnprotectedLong``
(P0) fires when that lasts 60 s. Both are one per account and symbol, name the reason (the
exchange's refusal code, such as ``insufficient_funds`` or ``filter``, or why Rampart holds the
stop back) and resolve when a stop rests again or the position is closed. The durations are
measured by the alert engine on its Clock (evaluated every ``alerts.evaluate_every_s``).
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import GaugeSignal
from rampart.observability.protection_metrics import UNPROTECTED

P1_AFTER_S = 5.0
P0_AFTER_S = 60.0
_WHAT = (
    "Account {account} holds {symbol} with no stop resting on the exchange for {lasting} "
    "(reason: {reason})"
)


def protection_rules() -> list[AlertRule]:
    bare = GaugeSignal(UNPROTECTED, by=("account", "symbol", "reason"))
    return [
        AlertRule(
            "PositionUnprotected",
            "P1",
            f"{_WHAT}: Rampart's monitor holds the stop and sells at market if it is crossed, "
            "unless the reason is none; read the reason in the runbook and fix it on the "
            "exchange.",
            bare,
            ">=",
            1,
            P1_AFTER_S,
        ),
        AlertRule(
            "PositionUnprotectedLong",
            "P0",
            f"{_WHAT}: still no stop can rest; act on the reason now, or close the position "
            "by hand on the exchange.",
            bare,
            ">=",
            1,
            P0_AFTER_S,
        ),
    ]


__all__ = ["P0_AFTER_S", "P1_AFTER_S", "protection_rules"]
