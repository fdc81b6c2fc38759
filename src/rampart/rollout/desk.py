"""The staged rollout as every front reaches it: status, GO/NO-GO, approve, hold, roll back,
and the launch checklist's drills.

It sits in the application band above the operator facade (the rollout uses the facade), and
the fronts share the one the composition root serves on the facade (:func:`serve_desk`; a front
asks ``operator.rollout_desk()`` and names this module only for types), so the API, the panel
and the bot act through the same desk; no front builds a controller.

The rollout's state lives in the store, so the controller the service started (with its gates
and its investor notices) and one built here for a front without it see and change the same
state. The composition root hands over the started one (:meth:`RolloutDesk.use`); until then
the desk builds one on the session that reports the stage and GO/NO-GO and carries out the
operator's commands, telling investors through :attr:`RolloutDesk.messenger` when a front gave
one. Each command answers with the sentence every front shows; the controller records the
transition and its audit entry once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rampart.rollout.balancer import BalancerError
from rampart.rollout.balancer import apply as apply_weights
from rampart.rollout.controller import RolloutController, Status
from rampart.rollout.deploy import Deployer, DeployRefused
from rampart.rollout.deploy_state import DeployState
from rampart.rollout.drills import DrillResult, alert_test, kill_drill
from rampart.rollout.fleet_view import FleetView, fleet_view
from rampart.rollout.gonogo import GoNoGo, go_nogo
from rampart.rollout.rules.gates import GateResult
from rampart.rollout.settings import RolloutConfig, RolloutSettings
from rampart.rollout.state import Transition, transitions

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.observability.alerts.settings import AlertsConfig
    from rampart.observability.notify import FanOut
    from rampart.operator.control import Operator
    from rampart.operator.session import Session


@dataclass(frozen=True, slots=True)
class RolloutAction:
    """What an operator's rollout command came to, and the sentence saying it."""

    stage: str
    message: str


class RolloutDesk:
    def __init__(
        self,
        session: Session,
        business: Clock,
        lock: Any,
        *,
        uptime_grace_ms: int = 30_000,
        operator: Operator | None = None,
    ) -> None:
        self._session = session
        self._operator = operator
        """The facade whose numbered, buffered audit path records the stage changes."""
        self._business = business
        self._lock = lock
        self._started: RolloutController | None = None
        self.uptime_grace_ms = uptime_grace_ms
        self.messenger: Callable[[], Any] | None = None
        """How a controller built here tells investors a stage change limits them (the bot
        gives its durable outbox); None: they are not told from here."""
        self.settings: RolloutSettings | None = None
        """The rollout section for a controller built here (the session's when not given)."""

    def use(self, controller: RolloutController | None) -> None:
        """The controller the service started (its gates run, its notices go out)."""
        self._started = controller
        self._wire(controller)

    def _wire(self, controller: RolloutController | None) -> RolloutController | None:
        if controller is not None and self._operator is not None:
            controller.auditor = self._operator.audit
        return controller

    @property
    def controller(self) -> RolloutController:
        if self._started is not None:
            return self._started
        settings = self.settings or self._session.settings
        cfg: RolloutConfig = getattr(settings, "rollout", None) or RolloutConfig()
        built = RolloutController(
            cfg,
            self._session.db,
            self._business,
            engine=self._session.engine,
            lock=self._lock,
            messenger=self.messenger,
            uptime_grace_ms=self.uptime_grace_ms,
        )
        self._wire(built)
        return built

    # -- reading ------------------------------------------------------------------------------

    def status(self) -> Status:
        return self.controller.status()

    def measure(self) -> tuple[int, tuple[GateResult, ...]]:
        """The gates' measurements over the stage's window (blocking: reads the store)."""
        return self.controller.measure()

    def transitions(self, limit: int = 20) -> list[Transition]:
        return transitions(self._session.db, limit)

    def go_nogo(self, settings: RolloutSettings) -> GoNoGo:
        return go_nogo(settings, self.controller)

    def deployer(self) -> Deployer | None:
        """The blue-green deploy as the store has it; None in one process (no ``scale``)."""
        settings = self.settings or self._session.settings
        scale = getattr(settings, "scale", None)
        if scale is None:
            return None
        cfg: RolloutConfig = getattr(settings, "rollout", None) or RolloutConfig()
        return Deployer(
            self._session.db,
            scale.shards,
            cfg.gate_list(),
            self._business.now_ms,
            lease_ms=int(scale.lease_s * 1000),
            loss_multiple=cfg.loss_multiple,
            balancer=cfg.deploy.balancer,
        )

    def fleet(self) -> FleetView | None:
        """The workers, shards per version and the blue-green deploy with its step's gates
        (blocking: reads the store); None in one process (no worker, no deploy)."""
        deployer = self.deployer()
        return None if deployer is None else fleet_view(deployer)

    def deploy_rollback(self, actor: str, reason: str) -> tuple[DeployState, str]:
        """Every shard and the API traffic back to the old version (blocking: the store and
        the load balancer); what the balancer did, or why it was not told."""
        deployer = self.deployer()
        if deployer is None:
            raise DeployRefused("No deploy is running: this process trades every account.")
        back = deployer.rollback(actor, reason)
        try:
            said = apply_weights(deployer.balancer, back)
        except BalancerError as err:
            said = f"{err.message} The API traffic did not move: `rampart deploy balance`."
        return back, said

    # -- commands -----------------------------------------------------------------------------

    async def approve(self, actor: str) -> RolloutAction:
        stage = await self.controller.approve(actor)
        return RolloutAction(stage, f"Promoted to {stage}.")

    async def hold(self, actor: str, reason: str, release: bool = False) -> RolloutAction:
        state = await self.controller.hold(actor, reason, release)
        done = (
            "lifted; promotions may go ahead" if release else "placed; no promotion until released"
        )
        return RolloutAction(state.stage, f"Hold on {state.stage} {done}.")

    async def rollback(self, actor: str, reason: str) -> RolloutAction:
        stage = await self.controller.rollback(actor, reason)
        return RolloutAction(stage, f"Rolled back to {stage}; affected investors are told.")

    # -- drills -------------------------------------------------------------------------------

    async def alert_test(
        self, alerts: AlertsConfig, actor: str, fanout: FanOut | None = None
    ) -> DrillResult:
        """A test notice to every alert channel, recorded for GO/NO-GO when all delivered."""
        return await alert_test(alerts, self._session.db, self._business, actor, fanout)

    async def kill_drill(self, operator: Operator, actor: str) -> DrillResult:
        """Engage the kill switch (no flatten) and release it at once; recorded."""
        return await kill_drill(operator, self._session.db, self._business, actor)


def serve_desk(operator: Operator) -> None:
    """Put the rollout desk on ``operator`` for the fronts to share (the composition root does,
    once a facade is built; the desk is made from the facade's session on first use)."""
    operator.serve_rollout(
        lambda session: RolloutDesk(session, operator.business, operator.lock, operator=operator)
    )


def desk_of(operator: Operator) -> RolloutDesk:
    """The rollout desk served on ``operator`` (for the composition root and tools; a front asks
    the facade, ``operator.rollout_desk()``)."""
    found = operator.rollout_desk()
    if not isinstance(found, RolloutDesk):  # pragma: no cover - only serve_desk makes one
        raise TypeError(f"the facade's rollout desk is a {type(found).__name__}")
    return found


__all__ = ["RolloutAction", "RolloutDesk", "desk_of", "serve_desk"]
