"""Request and response bodies, so the OpenAPI document says exactly what goes in and out.

Money and quantities are decimal strings (``"1234.5"``): JSON numbers would round them.
Timestamps are UTC milliseconds. Requests refuse unknown fields, so a typo is an error
rather than a silently ignored option.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from rampart.agents.registry import AGENT_NAMES
from rampart.risk.profiles import DEFAULT_PROFILES

Money = Annotated[
    Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")
]
"""A decimal written as a plain string (never an exponent) in JSON."""
KEPT = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character ``str.isspace`` says is not whitespace, in a form every regex engine reads alike."""

Reason = Annotated[
    str,
    # One character Python's str.strip keeps (it strips \x85 and \x1c-\x1f, which the
    # schema's \S would let through as a reason that is empty once stripped).
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=KEPT),
    Field(description="Why: recorded with who did it.", examples=["exchange outage"]),
]
Capital = Annotated[
    Decimal,
    Field(gt=0, le=Decimal(10**12), allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1e12},
                {"type": "string", "pattern": r"^0*[1-9][0-9]{0,11}(\.[0-9]+)?$"},
            ],
            "description": "Starting capital in the symbol's quote currency, at least 10.",
            "examples": ["1000"],
        }
    ),
]
AgentName = Annotated[
    str, Field(json_schema_extra={"enum": list(AGENT_NAMES)}, description="A built-in agent.")
]
ProfileName = Annotated[
    str, Field(json_schema_extra={"enum": list(DEFAULT_PROFILES)}, description="A risk profile.")
]
Limit = Annotated[int, Field(ge=1, le=1000, description="At most this many items.")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, in one sentence.")


# -- health -----------------------------------------------------------------------------------


class ComponentOut(_Out):
    name: str
    state: str
    """initialized, running, stopping, stopped, faulted or disposed."""
    up: bool
    restarts: int
    note: str = ""
    """finished (ran once), restarting (faulted, in its backoff), not restarted."""
    last_error: str | None = None


class Liveness(_Out):
    status: Literal["ok"] = "ok"
    components: list[ComponentOut] = []
    """Every supervised component and its lifecycle state (liveness stays 200 whatever they
    are: readiness, ``/health/ready``, is what says a component is down)."""


class CheckOut(_Out):
    name: str
    ok: bool
    detail: str
    required: bool = Field(
        default=True, description="False: a failure degrades the service, it stays ready."
    )


class Readiness(_Out):
    ready: bool
    checks: list[CheckOut]
    degraded: list[str] = Field(
        default_factory=list,
        description="Failing checks that leave the service ready (the operator's Telegram chat).",
    )


# -- investor ---------------------------------------------------------------------------------


class RestrictionOut(_Out):
    """One thing that keeps an account from trading normally, and what lifts it."""

    cause: str = Field(
        description="daily_loss, max_drawdown, cooldown, position_loss (breakers), kill_switch, "
        "paused, rollout_stage or venue_report.",
        examples=["max_drawdown"],
    )
    effect: str = Field(description="halted (no new orders), reducing (closes only) or paused.")
    measured: str = Field(description="What was measured, or the reason given, in words.")
    value: Money | None = Field(description="The measured figure (a share, or losing trades).")
    threshold: Money | None = Field(description="The limit it reached, in the same unit.")
    unit: str = Field(description="fraction (0.15 = 15 %), trades, or empty.")
    resumes_at: int | None = Field(description="When it lifts by itself (UTC ms), else null.")
    needs_operator: bool = Field(description="Only an operator lifts it.")
    lifts: str = Field(description="What else lifts it, in words.")
    by: str = Field(description="Who engaged it (a pause, the kill switch).")
    since: int
    text: str = Field(description="The sentence the panel, the bot and the notices show.")


WHY = Field(
    description="Why the account does not trade normally, in words (the breaker, what it "
    "measured, its limit, and when it resumes or that it needs the operator); empty when "
    "nothing restricts it. The same sentence as the panel's Why, the bot and the notices.",
)


class PortfolioOut(_Out):
    account_id: str
    owner: str
    quote: str
    capital: Money
    equity: Money
    cash: Money
    positions_value: Money
    realized_pnl: Money
    unrealized_pnl: Money
    pnl_today: Money = Field(description="Equity now minus equity when the day began (UTC).")
    fees_paid: Money
    open_positions: int
    working_orders: int
    state: str = Field(description="active, reducing or halted (circuit breakers).")
    paused: bool
    pause_reason: str
    kill_switch: bool = Field(description="The operator's global kill switch is engaged.")
    as_of: int
    why: str = WHY
    restrictions: list[RestrictionOut]


class PositionOut(_Out):
    symbol: str
    qty: Money
    avg_price: Money
    mark: Money
    market_value: Money
    unrealized_pnl: Money
    stop_loss: Money = Field(
        description="The stop level the position keeps; whether it rests on the exchange "
        "says `protection` (`resting_stop` is null when no stop rests there)."
    )
    take_profit: Money
    opened_at: int
    strategy: str
    protection: str = Field(
        description="exchange (a stop rests on the venue), monitor (Rampart's position monitor "
        "holds the stop and exits at market when crossed) or unprotected."
    )
    protection_text: str = Field(
        description="The same in words: 'protected by the exchange', \"protected by Rampart's "
        "monitor (why)\" or 'UNPROTECTED (since when)'."
    )
    unprotected_since: int | None = Field(
        description="Since when (UTC ms) no stop on the exchange covers every coin; null while "
        "one does."
    )
    resting_stop: Money | None = Field(
        description="The price of the stop resting on the exchange; null when none rests."
    )


class PositionsOut(_Out):
    account_id: str
    positions: list[PositionOut]


class OrderOut(_Out):
    client_id: str
    symbol: str
    side: str
    type: str
    role: str = Field(description="entry, stop_loss, take_profit or exit.")
    status: str
    qty: Money
    filled_qty: Money
    price: Money | None
    stop_price: Money | None
    avg_fill_price: Money
    fees: Money
    created_at: int
    updated_at: int
    reason: str


class OrdersOut(_Out):
    account_id: str
    orders: list[OrderOut]


class TradeOut(_Out):
    trade_id: str = Field(description="The client id of the order that opened the trade.")
    symbol: str
    strategy: str
    opened_at: int
    closed_at: int
    qty: Money
    entry_price: Money
    exit_price: Money
    stop_loss: Money
    take_profit: Money
    gross_pnl: Money
    fees: Money
    pnl: Money
    exit_reason: str = Field(description="The closing order's role: take_profit, stop_loss, ...")
    exit_cause: str = Field(
        description=(
            "Who or what closed it: take-profit, stop-loss, agent, investor, flatten (the "
            "operator's kill switch or pause), guard (the engine's position monitor), external."
        )
    )


class TradesOut(_Out):
    account_id: str
    trades: list[TradeOut]


class PeriodPnlOut(_Out):
    start: int = Field(description="UTC ms, inclusive: 00:00 of the business day or Monday.")
    end: int = Field(description="UTC ms, exclusive.")
    realized_pnl: Money
    trades: int
    wins: int


class ProfitOut(_Out):
    account_id: str
    quote: str
    as_of: int = Field(description="Business time of the last candle processed (UTC ms).")
    since: int = Field(description="When the account began; no day or week before it.")
    realized_today: Money = Field(description="Trades closed since 00:00 UTC business time.")
    realized_week: Money = Field(description="Trades closed since Monday 00:00 UTC.")
    realized_all: Money
    unrealized_pnl: Money
    trades: int
    wins: int = Field(description="Trades closed with PnL after fees above zero.")
    losses: int
    win_rate: Money | None = Field(description="wins / trades; null before the first trade.")
    fees: Money
    best: TradeOut | None
    worst: TradeOut | None
    days: list[PeriodPnlOut] = Field(description="Newest first, none before the account.")
    weeks: list[PeriodPnlOut] = Field(description="Newest first, Monday to Sunday.")
    return_today: Money | None = Field(
        default=None,
        description="Time-weighted return since 00:00 UTC, net of deposits and withdrawals "
        "(0.0123 = +1.23 %); null with nothing to measure.",
    )
    return_week: Money | None = Field(default=None, description="The same since Monday.")
    return_all: Money | None = Field(default=None, description="The same since the account began.")


class EquityPointOut(_Out):
    ts: int
    equity: Money


class EquityOut(_Out):
    account_id: str
    points: list[EquityPointOut]


class RejectionOut(_Out):
    ts: int
    symbol: str
    code: str = Field(description="Stable reason code, e.g. stop_too_tight.")
    message: str = Field(description="The reason in words.")
    agent: str


class RejectionsOut(_Out):
    account_id: str
    rejections: list[RejectionOut]


# -- operator ---------------------------------------------------------------------------------


class KillSwitchIn(_In):
    reason: Reason
    flatten: StrictBool = Field(False, description="Also close every position at market.")


class ReleaseIn(_In):
    reason: Reason


class PauseIn(_In):
    reason: Reason
    flatten: StrictBool = Field(False, description="Also close the account's positions at market.")


class ResumeIn(_In):
    reason: Reason
    lift_breakers: StrictBool = Field(False, description="Also lift a circuit-breaker halt.")


class StartEngineIn(_In):
    symbol: str = Field(min_length=3, max_length=32, examples=["BTC/USDT"])
    mode: Literal["paper", "testnet", "live"] = Field(description="Must be the service's own mode.")
    capital: Capital
    agent: AgentName = "trend"
    profile: ProfileName = "moderate"


class StopEngineIn(_In):
    reason: Reason = "stopped by the operator"


class EntryOutcomeOut(_Out):
    account_id: str
    client_id: str
    symbol: str
    outcome: str = Field(
        description="canceled (the venue confirmed it), filled (before the cancel landed), "
        "unknown (not confirmed: it may still fill; reconciliation asks the venue), "
        "expired or rejected."
    )


class KillSwitchOut(_Out):
    engaged: bool
    changed: bool = Field(description="False when it was already in that position.")
    reason: str
    actor: str
    flatten: bool
    accounts: int
    entries_canceled: int = Field(description="Entry orders the venue confirmed canceled.")
    entries_unknown: int = Field(
        0, description="Entry orders whose cancel the venue has not confirmed."
    )
    entries: list[EntryOutcomeOut] = Field(
        default_factory=list, description="Each working entry order and what became of it."
    )
    positions_flattened: int = Field(description="Positions closed or with a closing order out.")
    message: str


class AccountOut(_Out):
    account_id: str
    owner: str
    agent: str
    profile: str
    symbols: list[str]
    quote: str
    capital: Money
    equity: Money
    realized_pnl: Money
    state: str
    status: str = Field(description="active, reducing, halted, paused or stopped.")
    paused: bool
    pause_reason: str
    open_positions: int
    working_orders: int
    why: str = WHY
    restrictions: list[RestrictionOut]


class AccountActionOut(_Out):
    account: AccountOut
    entries_canceled: int
    entries_unknown: int = 0
    entries: list[EntryOutcomeOut] = Field(default_factory=list)
    positions_flattened: int
    message: str


class StartEngineOut(_Out):
    account: AccountOut
    message: str


class KillSwitchState(_Out):
    engaged: bool
    reason: str


class AccountsOut(_Out):
    kill_switch: KillSwitchState
    accounts: list[AccountOut]


class IncidentOut(_Out):
    id: int
    key: str
    rule: str
    severity: str
    status: str
    summary: str
    value: float | None
    threshold: float | None
    labels: dict[str, str]
    opened_at: int
    acknowledged_at: int | None
    acknowledged_by: str | None
    resolved_at: int | None
    notifications: int
    eta_at: int | None = None
    """When the operator expects it fixed (UTC ms), if they said."""


class IncidentsOut(_Out):
    incidents: list[IncidentOut]


class AlertRulesOut(_Out):
    enabled: bool
    rules: list[dict[str, Any]]


class ConfigOut(_Out):
    settings: dict[str, Any] = Field(description="Effective settings, secrets masked.")
