"""The position-loss kill drill (plan 004: "Position Loss > $50 → Activate kill switch"),
walked on a simulated clock in a paper engine of its own, so it never touches real money:
a position's loss crosses the stage's amount → the kill switch is engaged for every account
of the service → the PositionLossKill alert fires → the operator releases the switch.

Each step is checked and named; a step that does not happen fails the drill in a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.errors import RampartError
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.domain.stages import Stage
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rules import default_rules
from rampart.observability.metrics import Metrics
from rampart.observability.notify import FIRING, CallbackNotifier, Notice
from rampart.risk.codes import fmt_num
from rampart.risk.profiles import get_profile
from rampart.risk.restrictions import KILL_SWITCH
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

SYMBOL = "BTC/USDT"
MINUTE = 60_000
RULE = "PositionLossKill"
ACCOUNTS = ("drill-loser", "drill-bystander")
"""The account whose position loses, and one that never traded: both must stop."""


class _OneLong(AgentBase):
    """Opens one long with a 2 % stop on its first candle, then nothing."""

    name = "drill"
    warmup = 0

    def __init__(self, opens: bool) -> None:
        self.opens = opens
        self.seen = 0

    def update(self, candle: Candle) -> None:
        self.seen += 1

    def decide(self, view: AgentView) -> list[Intent]:
        if not self.opens or self.seen != 1:
            return []
        entry = Decimal(str(view.candle.close))
        stop = view.instrument.round_price(entry * Decimal("0.98"))
        take = view.instrument.round_price(entry * Decimal("1.04"))
        return [
            Intent(view.account_id, SYMBOL, Side.BUY, IntentAction.OPEN, entry, stop, take,
                   agent="drill", ts=view.ts)
        ]  # fmt: skip


@dataclass(slots=True)
class PositionLossDrill:
    limit: Decimal
    steps: list[str] = field(default_factory=list)
    loss: Decimal = Decimal(0)
    stopped: list[str] = field(default_factory=list)
    alert: Notice | None = None
    released: bool = False

    def message(self) -> str:
        return "\n".join(f"{i}. {step}" for i, step in enumerate(self.steps, 1))


async def position_loss_drill(
    limit: Decimal, start_ms: int, stage: str = "internal", actor: str = "operator"
) -> PositionLossDrill:
    """Walk the kill on the simulated clock from ``start_ms``; raises RampartError naming the
    step that did not happen."""
    if limit <= 0:
        raise RampartError(f"The '{stage}' stage has no position-loss kill to drill.")
    clock = SimClock(start_ms)
    bus = EventBus()
    venue = PaperVenue({SYMBOL: Instrument.for_price(SYMBOL, 100.0)}, clock=clock)
    agents = {ACCOUNTS[0]: _OneLong(True), ACCOUNTS[1]: _OneLong(False)}
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=lambda name, params: agents[name],
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
    )
    # The moderate profile's own kill is off: only the stage's amount can stop the service.
    engine.stage = Stage(name=stage, kill_on_position_loss=limit)
    for account_id in ACCOUNTS:
        spec = AccountSpec(account_id, account_id, "moderate", Decimal(10_000), (SYMBOL,))
        await engine.add_account(spec)
    metrics = Metrics()
    bus.subscribe(metrics.on_event)
    fired: list[Notice] = []

    async def record(notice: Notice) -> None:
        fired.append(notice)

    rules = [r for r in default_rules() if r.name == RULE]
    alerts = AlertEngine(rules, metrics, None, clock, CallbackNotifier(record, "drill"))
    drill = PositionLossDrill(limit)
    await alerts.evaluate(clock.now_ms())  # the counter's zero: what the increase is over

    t = start_ms
    # Decided on the first candle's close, the entry is bought at the second one's open (the
    # paper venue's fill model).
    for i in range(2):
        clock.set(t + (i + 1) * MINUTE)
        await engine.on_candle(
            Candle(SYMBOL, t + i * MINUTE, 100.0, 100.5, 99.5, 100.0, 1e6, MINUTE)
        )
    loser = engine.accounts[ACCOUNTS[0]]
    position = loser.ledger.positions.get(SYMBOL)
    if position is None:
        raise RampartError("The drill's position did not open; nothing was drilled.")
    drill.steps.append(f"{ACCOUNTS[0]} opened a {SYMBOL} long at 100 (its stop at 98).")
    price = Decimal(100)
    while not engine.controls.global_kill and price > 50:
        # The price gaps down past the stop without a candle (the stop does not fill), as
        # the guard sees it on a price update: the loss grows until the kill engages.
        price -= Decimal("0.5")
        clock.advance(MINUTE)
        engine.marks[SYMBOL] = price
        drill.loss = -position.net_pnl(price)
        await engine.guard.account(loser, SYMBOL, clock.now_ms())
    if not engine.controls.global_kill:
        raise RampartError(f"The kill switch did not engage for a loss of {fmt_num(drill.loss)}.")
    drill.steps.append(
        f"The price gapped to {fmt_num(price)}: the position lost {fmt_num(drill.loss)} USDT, "
        f"more than the '{stage}' stage's {fmt_num(limit)}; the kill switch engaged."
    )
    for acct in engine.accounts.values():
        if any(r.cause == KILL_SWITCH for r in engine.controls.restrictions(acct)):
            drill.stopped.append(acct.account_id)
    if sorted(drill.stopped) != sorted(ACCOUNTS):
        raise RampartError("The kill switch did not stop every account of the service.")
    drill.steps.append(f"Every account stopped: {', '.join(drill.stopped)}.")
    clock.advance(MINUTE)
    await alerts.evaluate(clock.now_ms())
    drill.alert = next((n for n in fired if n.rule == RULE and n.kind == FIRING), None)
    if drill.alert is None:
        raise RampartError(f"The {RULE} alert did not fire.")
    drill.steps.append(f"{RULE} ({drill.alert.severity}) fired: {drill.alert.summary}")
    await engine.controls.release_kill_switch(actor, "position-loss drill over")
    drill.released = not engine.controls.global_kill and not any(
        engine.controls.restrictions(a) for a in engine.accounts.values()
    )
    if not drill.released:
        raise RampartError("The kill switch was released but an account is still stopped.")
    drill.steps.append(f"Released by {actor}: every account may trade again.")
    return drill
