"""Risk profiles: how much an account may risk, hold and lose, by name.

Fractions are of equity (risk, position size, losses) or of the entry price (stop distance).
The built-in profiles follow the design's table; config may override any setting of a
built-in profile, and every overridden value is checked before anything trades with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rampart.domain.errors import ConfigError
from rampart.domain.money import ZERO, dec, pct
from rampart.risk.codes import fmt_duration, fmt_pct, fmt_ratio


@dataclass(frozen=True, slots=True)
class RiskProfile:
    name: str
    risk_per_trade: Decimal
    """Most of equity one trade may lose at its stop: (entry − stop) × quantity."""
    max_position: Decimal
    """Most of equity one position may be worth at entry."""
    max_open: int
    """Open positions plus working entries on symbols with no position yet."""
    min_stop: Decimal
    max_stop: Decimal
    """Allowed stop-loss distance below the entry, as a fraction of the entry price."""
    min_rr: Decimal
    """Least reward:risk: (take-profit − entry) / (entry − stop)."""
    daily_loss: Decimal
    max_drawdown: Decimal
    consecutive_losses: int = 3
    cooldown_ms: int = 3_600_000
    position_loss_limit: Decimal = ZERO
    """Loss of one open position, as a fraction of equity, that trips the account's kill switch.

    Zero means the default of twice ``risk_per_trade``: more than any stop allows, so it fires
    only when a stop failed (a gap, a venue outage).
    """
    max_orders_per_minute: int = 20
    max_data_age_ms: int = 180_000
    kill_on_position_loss: Decimal = ZERO
    """Unrealised loss of one open position, in the account's quote asset (50 = 50 USDT), past
    which the account is halted and flattened and a P1 fires (LeviBot's plan: "Position Loss
    > $50 → Activate kill switch"). Zero: off. An amount, not a share of equity: the plan's
    figure, whatever the account's size."""

    def __post_init__(self) -> None:
        if self.position_loss_limit == ZERO:
            # Frozen dataclass: the derived default is filled in once, at construction.
            object.__setattr__(self, "position_loss_limit", 2 * self.risk_per_trade)
        _validate(self)


FRACTIONS = (
    "risk_per_trade",
    "max_position",
    "min_stop",
    "max_stop",
    "daily_loss",
    "max_drawdown",
    "position_loss_limit",
)
POSITIVE_DECIMALS = ("min_rr",)
AMOUNTS = ("kill_on_position_loss",)
"""Amounts in the account's quote asset, zero (off) or more."""
COUNTS = (
    "max_open",
    "consecutive_losses",
    "cooldown_ms",
    "max_orders_per_minute",
    "max_data_age_ms",
)
SETTINGS = FRACTIONS + POSITIVE_DECIMALS + COUNTS + AMOUNTS


def _validate(p: RiskProfile) -> None:
    where = f"the {p.name} risk profile"
    for key in FRACTIONS:
        value = getattr(p, key)
        if not isinstance(value, Decimal) or not value.is_finite() or not ZERO < value < 1:
            raise ConfigError(
                f"Setting {key!r} of {where} must be a fraction between 0 and 1 "
                f"(for example 0.01 for 1 %); got {value}."
            )
    if not isinstance(p.min_rr, Decimal) or not p.min_rr.is_finite() or p.min_rr <= ZERO:
        raise ConfigError(
            f"Setting 'min_rr' of {where} must be a positive number such as 1.5; got {p.min_rr}."
        )
    for key in COUNTS:
        value = getattr(p, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"Setting {key!r} of {where} must be a whole number of at least 1; got {value}."
            )
    for key in AMOUNTS:
        value = getattr(p, key)
        if not isinstance(value, Decimal) or not value.is_finite() or value < ZERO:
            raise ConfigError(
                f"Setting {key!r} of {where} must be an amount of at least 0 (0 turns it off); "
                f"got {value}."
            )
    if p.min_stop >= p.max_stop:
        raise ConfigError(
            f"Setting 'min_stop' of {where} ({fmt_pct(p.min_stop)}) must be below "
            f"'max_stop' ({fmt_pct(p.max_stop)})."
        )
    if p.position_loss_limit <= p.risk_per_trade:
        raise ConfigError(
            f"Setting 'position_loss_limit' of {where} ({fmt_pct(p.position_loss_limit)}) must "
            f"be above 'risk_per_trade' ({fmt_pct(p.risk_per_trade)}), or every stop would "
            "trip the kill switch."
        )


def _profile(
    name: str,
    risk: str,
    position: str,
    max_open: int,
    stops: tuple[str, str],
    min_rr: str,
    daily: str,
    drawdown: str,
    kill_on_position_loss: str = "0",
) -> RiskProfile:
    return RiskProfile(
        name=name,
        risk_per_trade=pct(risk),
        max_position=pct(position),
        max_open=max_open,
        min_stop=pct(stops[0]),
        max_stop=pct(stops[1]),
        min_rr=dec(min_rr),
        daily_loss=pct(daily),
        max_drawdown=pct(drawdown),
        kill_on_position_loss=dec(kill_on_position_loss),
    )


DEFAULT_PROFILES: dict[str, RiskProfile] = {
    p.name: p
    for p in (
        # 50 USDT: LeviBot's kill trigger, on where the plan's cautious launch starts.
        _profile("conservative", "0.5", "10", 2, ("1", "3"), "1.5", "2", "5", "50"),
        _profile("moderate", "1", "20", 4, ("1", "5"), "1.2", "4", "10"),
        _profile("aggressive", "2", "35", 6, ("1", "8"), "1.0", "6", "20"),
    )
}


def _choices() -> str:
    names = list(DEFAULT_PROFILES)
    return ", ".join(names[:-1]) + " or " + names[-1]


def get_profile(name: str, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> RiskProfile:
    """The named built-in profile with any configured overrides applied.

    Every override is checked, not only the requested profile's, so a typo in config fails at
    start-up rather than the day someone picks that profile.
    """
    if name not in DEFAULT_PROFILES:
        raise ConfigError(f"Unknown risk profile {name!r}: choose {_choices()}.")
    for other in overrides or {}:
        if other not in DEFAULT_PROFILES:
            raise ConfigError(
                f"Risk profile overrides name {other!r}, which is not a profile: "
                f"choose {_choices()}."
            )
    resolved = {n: _apply(p, (overrides or {}).get(n)) for n, p in DEFAULT_PROFILES.items()}
    return resolved[name]


def _apply(base: RiskProfile, changes: Mapping[str, Any] | None) -> RiskProfile:
    if not changes:
        return base
    if not isinstance(changes, Mapping):
        raise ConfigError(
            f"Overrides of the {base.name} risk profile must be a mapping of setting to value."
        )
    parsed: dict[str, Any] = {}
    for key, raw in changes.items():
        if key not in SETTINGS:
            raise ConfigError(
                f"Setting {key!r} of the {base.name} risk profile is unknown: use one of "
                f"{', '.join(SETTINGS)}."
            )
        parsed[key] = _parse(base.name, key, raw)
    # The per-position limit follows risk_per_trade unless it is set explicitly.
    parsed.setdefault("position_loss_limit", ZERO)
    return dataclasses.replace(base, **parsed)


def _parse(profile: str, key: str, raw: Any) -> Decimal | int:
    bad = ConfigError(
        f"Setting {key!r} of the {profile} risk profile must be "
        + ("a whole number" if key in COUNTS else "a number")
        + f"; got {raw!r}."
    )
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise bad
    try:
        if isinstance(raw, str) and raw.strip().endswith("%"):
            value = pct(raw.strip()[:-1].strip())
        else:
            value = dec(raw)  # Decimal reads a number with spaces around it
    except (InvalidOperation, ValueError):
        raise bad from None
    if not value.is_finite():
        raise bad
    if key in COUNTS:
        if value != value.to_integral_value():
            raise bad
        return int(value)
    return value


def describe(profile: RiskProfile) -> str:
    """One paragraph an investor can read to know what the profile does with their money."""
    p = profile
    times = "" if p.min_rr == 1 else f"{fmt_ratio(p.min_rr)} times "
    return (
        f"The {p.name} profile risks at most {fmt_pct(p.risk_per_trade)} of your account on "
        f"any one trade: the distance from the entry to the stop-loss, times the size bought, "
        f"never exceeds that. A single position is worth at most {fmt_pct(p.max_position)} of "
        f"the account, and at most {p.max_open} positions are open at once. Every position "
        f"carries a stop-loss between {fmt_pct(p.min_stop)} and {fmt_pct(p.max_stop)} below "
        f"the entry and a take-profit at least {times}as far above the entry as the "
        "stop-loss is below it. "
        f"If the account loses {fmt_pct(p.daily_loss)} in one day, trading stops until the "
        f"next day (UTC); if it falls {fmt_pct(p.max_drawdown)} below its highest value, "
        f"trading stops until an operator reviews it. After {p.consecutive_losses} losing "
        f"trades in a row, new positions wait {fmt_duration(p.cooldown_ms)}, and a single "
        f"position losing more than {fmt_pct(p.position_loss_limit)} of the account is closed "
        "and the account paused."
        + (
            f" A position losing more than {fmt_amount(p.kill_on_position_loss)} (in the "
            "account's currency) halts the account and closes its positions until an operator "
            "reviews it."
            if p.kill_on_position_loss > ZERO
            else ""
        )
    )


def fmt_amount(value: Decimal) -> str:
    """An amount without trailing zeros: 50, 12.5."""
    return format(value.normalize(), "f")
