"""``rollout:`` settings: the stages, their gates and how promotions are approved.

Off by default (``enabled: false``): the engine then trades on the open stage, everything
allowed, as before; ``rampart go-nogo`` still measures the gates over the window.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise
from typing import Literal, Protocol

from pydantic import BaseModel, Field, model_validator

from rampart.domain.performance import LAUNCH_MARGIN
from rampart.domain.stages import LATENCY_TARGET_MS, UPTIME_TARGET, Stage
from rampart.operator.settings import Settings
from rampart.rollout.deploy_settings import DeployConfig
from rampart.rollout.ramp_step import RampStep
from rampart.rollout.rules.evidence import EvidenceRule
from rampart.rollout.rules.gates import METRICS, Comparison, Gate, default_gates
from rampart.settings_base import Symbol

HOUR_MS = 3_600_000

POSITION_LOSS_KILL = Decimal(50)
"""Plan 004's "Position Loss > $50 → Activate kill switch", service-wide during the internal
and limited stages by default."""


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class RampStepConfig(_Section):
    """One step of a stage's timed ramp (plan 004: one symbol, three at T+8 h, the full
    capital at T+20 h, watched to T+48 h): from ``after_h`` hours into the stage, and once
    the gates pass then, the stage allows these symbols and this much capital across the
    service."""

    after_h: float = Field(ge=0)
    symbols: list[Symbol] | None = None
    """Allowed symbols during the step (within the stage's own); omitted: the stage's."""
    capital: Decimal | None = Field(default=None, gt=0)
    """The capital all accounts together may trade with during the step, in the accounts'
    quote currency like the stage's own capital limits; omitted: no total beyond the stage's."""

    def to_step(self, index: int) -> RampStep:
        return RampStep(
            index,
            int(self.after_h * HOUR_MS),
            frozenset(self.symbols) if self.symbols is not None else None,
            self.capital,
        )


def _relax_scales() -> list[Decimal]:
    return [Decimal("0.5"), Decimal("0.75"), Decimal(1)]


class RelaxConfig(_Section):
    """Plan 000 phase C's "gradual removal of limits based on system stability": the stage
    starts with each profile's position-size and daily-loss limits at the first share and
    widens to the next after ``stable_days`` without a P0 or P1 incident and with every gate
    green; any P0 puts them back to the first share at once."""

    scales: list[Decimal] = Field(default_factory=_relax_scales, min_length=2)
    stable_days: float = Field(default=7.0, gt=0)

    @model_validator(mode="after")
    def _widening(self) -> RelaxConfig:
        if any(s <= 0 or s > 1 for s in self.scales):
            raise ValueError("relax.scales are shares of the profile's limits, above 0 up to 1")
        if any(b <= a for a, b in pairwise(self.scales)):
            raise ValueError("relax.scales must increase: each step widens the limits")
        return self


class StageConfig(_Section):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    users: list[str] | None = None
    """Allowed account owners (the allow-list); omitted means anyone."""
    max_users: int | None = Field(default=None, ge=1)
    min_users: int | None = Field(default=None, ge=1)
    """Investors who must have traded in the window before the stage is left (a gate)."""
    symbols: list[Symbol] | None = None
    """Allowed symbols; omitted means every configured symbol."""
    profiles: list[str] | None = None
    min_capital: Decimal | None = Field(default=None, ge=0)
    max_capital: Decimal | None = Field(default=None, gt=0)
    min_duration_h: float = Field(default=0.0, ge=0)
    kill_on_position_loss: Decimal | None = Field(default=None, gt=0)
    """One position losing more than this engages the kill switch for the whole service during
    the stage (plan 004); omitted: the profiles' own ``kill_on_position_loss`` and scope."""
    relax: RelaxConfig | None = None
    """Limits relaxed by measured stability (the open stage's by default); omitted: none."""
    ramp: list[RampStepConfig] | None = None
    """A timed ramp inside the stage (rollout/ramp.py); omitted: the stage's limits at once."""

    @model_validator(mode="after")
    def _ramp_in_order(self) -> StageConfig:
        if self.ramp:
            offsets = [step.after_h for step in self.ramp]
            if offsets[0] != 0:
                raise ValueError(
                    f"stage {self.name}: the ramp's first step must start at after_h 0, "
                    "so the stage never opens wider than its first step"
                )
            if any(b <= a for a, b in pairwise(offsets)):
                raise ValueError(f"stage {self.name}: the ramp's after_h must increase")
        return self

    def ramp_steps(self) -> tuple[RampStep, ...]:
        return tuple(step.to_step(i) for i, step in enumerate(self.ramp or ()))

    def to_stage(self) -> Stage:
        return Stage(
            name=self.name,
            users=frozenset(self.users) if self.users is not None else None,
            max_users=self.max_users,
            symbols=frozenset(self.symbols) if self.symbols is not None else None,
            profiles=frozenset(self.profiles) if self.profiles is not None else None,
            min_capital=self.min_capital,
            max_capital=self.max_capital,
            kill_on_position_loss=self.kill_on_position_loss,
        )

    @property
    def min_duration_ms(self) -> int:
        return int(self.min_duration_h * HOUR_MS)


def _default_stages() -> list[StageConfig]:
    """DESIGN §6: internal beta, limited beta, open. The internal allow-list starts empty."""
    return [
        StageConfig(
            name="internal",
            users=[],
            max_users=2,
            symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
            profiles=["conservative"],
            min_capital=Decimal(100),
            max_capital=Decimal(500),
            # Plan 004's live activation: one symbol first, three at T+8 h, the full $1,000
            # (two investors at $500) at T+20 h, watched to T+48 h: the stage is not left
            # before its 48 hours are served, so the full capital runs 28 hours under watch.
            min_duration_h=48,
            kill_on_position_loss=POSITION_LOSS_KILL,
            ramp=[
                RampStepConfig(after_h=0, symbols=["BTC/USDT"], capital=Decimal(100)),
                RampStepConfig(
                    after_h=8, symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"], capital=Decimal(300)
                ),
                RampStepConfig(after_h=20, capital=Decimal(1000)),
            ],
        ),
        StageConfig(
            name="limited",
            max_users=10,
            min_users=5,
            symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
            min_capital=Decimal(500),
            max_capital=Decimal(2000),
            min_duration_h=6 * 24,
            kill_on_position_loss=POSITION_LOSS_KILL,
        ),
        StageConfig(
            name="open",
            min_capital=Decimal(100),
            max_capital=Decimal(5000),
            min_duration_h=0,
            relax=RelaxConfig(),
        ),
    ]


class GateConfig(_Section):
    name: str = Field(min_length=1, max_length=64)
    metric: Literal[
        "order_success",
        "execution_error_rate",
        "open_p0_incidents",
        "uptime",
        "order_latency_p95_ms",
        "position_losses_beyond_limit",
        "p1_incidents",
        "trading_users",
        "trading_profit",
        "sharpe_vs_buy_and_hold",
    ]
    threshold: float
    comparison: Literal[">=", ">", "<=", "<"]
    min_samples: int = Field(default=1, ge=0)
    failure_limit: int = Field(default=1, ge=0)
    """Consecutive failures before a rollback; 0: it only blocks a promotion."""
    unit: Literal["ratio", "ms", "count", "money", "sharpe", ""] = ""

    def to_gate(self) -> Gate:
        return Gate(
            self.name,
            self.metric,
            self.threshold,
            Comparison(self.comparison),
            self.min_samples,
            self.failure_limit,
            self.unit,
        )


class EvidenceConfig(_Section):
    """GO/NO-GO's research criterion (docs/operators/research.md): from stage ``from_stage``
    on (and for a launch without the staged rollout), every configured account's agent and
    parameters must be a setting saved by ``rampart optimize --save`` whose evidence meets
    these thresholds. Only ``rampart rollout waive-evidence`` (recorded, with who and why)
    sets it aside."""

    required: bool = False
    """Require it at every stage, the ones before ``from_stage`` too."""
    from_stage: str = "limited"
    max_pbo: float = Field(default=0.3, ge=0, le=1)
    min_deflated_sharpe: float = Field(default=0.95, ge=0, le=1)
    min_oos_sharpe: float = 0.0
    min_margin_over_hold: float = LAUNCH_MARGIN
    """How much the out-of-sample Sharpe must beat buy-and-hold's on the same candles by."""
    min_folds: int = Field(default=3, ge=1)

    def rule(self) -> EvidenceRule:
        return EvidenceRule(
            self.max_pbo,
            self.min_deflated_sharpe,
            self.min_oos_sharpe,
            self.min_folds,
            self.min_margin_over_hold,
        )


class LaunchTargetsConfig(_Section):
    """The launch plans' goals after launch that no gate holds a stage to, read by GO/NO-GO's
    launch targets (report lines): plan 000's success metric, "10+ users trading real money",
    and plan 001's "user retention > 50 % (week 1 → week 4)"."""

    users: int = Field(default=10, ge=1)
    """Investors trading (an order placed) within month one."""
    retention: float = Field(default=0.5, gt=0, le=1)
    """Of the investors active in their first week, the share still active in their fourth
    (the weekly cohorts whose fourth week has ended); the target is above it."""


class RolloutConfig(_Section):
    enabled: bool = False
    stages: list[StageConfig] = Field(default_factory=_default_stages, min_length=1)
    gates: list[GateConfig] | None = None
    """Replaces the default gates entirely when given."""
    approval: Literal["auto", "operator"] = "operator"
    evaluate_every_s: float = Field(default=300.0, ge=1)
    window_h: float | None = Field(default=None, gt=0)
    """The window gates are measured over; by default the stage's minimum duration, or 24 h."""
    latency_target_ms: float = Field(default=LATENCY_TARGET_MS, gt=0)
    """p95 from an order's creation to the venue's acknowledgement; the gate allows +10 %."""
    uptime_target: float = Field(default=UPTIME_TARGET, gt=0, le=1)
    """The uptime a stage must keep (gate) and below which UptimeLow pages (alert)."""
    loss_multiple: float = Field(default=1.5, gt=0)
    """A closed trade that lost more than this many times its planned risk broke its limit."""
    checklist_days: float = Field(default=7.0, gt=0)
    """Backups restored and kill-switch drills count for GO when this recent."""
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    """Blue-green deploys (``rampart deploy``): the gates' watch and the load balancer."""
    targets: LaunchTargetsConfig = Field(default_factory=LaunchTargetsConfig)
    """Goals GO/NO-GO reports after launch (users trading, week 1 → week 4 retention)."""

    @model_validator(mode="after")
    def _unique(self) -> RolloutConfig:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        # The default names a default stage; with stages of one's own and no from_stage, the
        # evidence is asked for at every stage (the safe side), a from_stage given must exist.
        if "from_stage" in self.evidence.model_fields_set and self.evidence.from_stage not in names:
            raise ValueError(
                f"evidence.from_stage {self.evidence.from_stage!r} is not a stage "
                f"({', '.join(names)})"
            )
        if self.gates is not None:
            unknown = [g.metric for g in self.gates if g.metric not in METRICS]
            if unknown:
                raise ValueError(f"unknown gate metric {unknown[0]}")
        return self

    def gate_list(self) -> tuple[Gate, ...]:
        if self.gates is None:
            return default_gates(self.latency_target_ms, self.uptime_target)
        return tuple(g.to_gate() for g in self.gates)

    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def stage(self, name: str) -> StageConfig | None:
        return next((s for s in self.stages if s.name == name), None)

    def window_ms(self, stage: StageConfig) -> int:
        if self.window_h is not None:
            return int(self.window_h * HOUR_MS)
        return stage.min_duration_ms or 24 * HOUR_MS


class RolloutSettings(Settings, Protocol):
    """The one settings Protocol (``operator.settings.Settings``) with the rollout's section,
    which the facade below may not name: what GO/NO-GO, the rollout's desk and the fronts read."""

    @property
    def rollout(self) -> RolloutConfig: ...
