"""The model behind the ``llm`` agent and ``/vibe``: cache, budget, client, validation, records.

Every ask ends in exactly one outcome, counted in metrics and written to ``llm_calls``:
``ok`` (a valid decision, from the model or the cache), ``invalid`` (not JSON, not the schema,
or a bracket on the wrong side of the price), ``timeout``, ``error`` (429/5xx after retries,
refused, unreachable) or ``budget`` (today's budget is spent: nothing was sent). Only ``ok``
can become a trade, and only through the risk engine like any other intent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
import structlog

from rampart.agents.base import AgentView
from rampart.agents.llm import NAME, LlmVerdict
from rampart.clock import Clock
from rampart.domain.errors import present
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import ZERO, ceil_to_step, floor_to_step
from rampart.domain.orders import Side
from rampart.llm.budget import Budget
from rampart.llm.cache import AnswerCache, cache_key
from rampart.llm.client import TIMEOUT, LlmClient, LlmError
from rampart.llm.decision import InvalidDecision, LlmDecision, parse_decision
from rampart.llm.prompt import Prompt, build_prompt
from rampart.observability.metrics import LlmMetrics
from rampart.store.llm_calls import LlmCall, llm_cost, record_call

log = structlog.get_logger("rampart.llm")

Check = Callable[[LlmDecision], None]


@dataclass(frozen=True, slots=True)
class Answer:
    decision: LlmDecision | None
    outcome: str
    cached: bool = False
    reason: str = ""


class LlmDecider:
    def __init__(
        self,
        client: LlmClient,
        *,
        cache: AnswerCache,
        budget: Budget,
        clock: Clock,
        db: sa.Engine | None = None,
        metrics: LlmMetrics | None = None,
    ) -> None:
        self.client = client
        self.model = client.model
        self.cache = cache
        self.budget = budget
        self.clock = clock
        self.db = db
        self.metrics = metrics
        self.outcomes: dict[str, int] = {}
        self._in_flight = 0
        """Calls sent and not answered yet."""
        self._call_cost = Decimal(0)
        """The dearest call answered so far: what each call still on its way may cost."""
        if db is not None:
            start = budget.day_start_ms()
            budget.restore(llm_cost(db, start, start + 86_400_000).cost_usd)

    async def ask(self, prompt: Prompt, agent: str, check: Check) -> Answer:
        """One decision for ``prompt``; never raises."""
        started = time.perf_counter()
        key = cache_key(self.model, prompt.canonical())
        content = self.cache.get(key)
        if content is not None:
            if self.metrics:
                self.metrics.cache_hits.inc()
            answer = self._judge(content, check, cached=True)
            self._record(agent, answer, started, 0, 0, Decimal(0))
            return answer
        if self.metrics:
            self.metrics.cache_misses.inc()
        # Calls on their way count at the dearest call seen: fifty investors asking at once
        # must not all pass a check that only the calls already answered have charged.
        if self.budget.spent + self._in_flight * self._call_cost >= self.budget.daily_usd:
            self._budget_gauge()
            answer = Answer(None, "budget", reason="The daily LLM budget is spent.")
            self._record(agent, answer, started, 0, 0, Decimal(0))
            return answer
        self._in_flight += 1
        try:
            completion = await self.client.complete(prompt.as_list())
        except LlmError as exc:
            outcome = "timeout" if exc.code == TIMEOUT else "error"
            answer = Answer(None, outcome, reason=exc.message)
            self._record(agent, answer, started, 0, 0, Decimal(0))
            return answer
        finally:
            self._in_flight -= 1
        cost = self.budget.cost(self.model, completion.prompt_tokens, completion.completion_tokens)
        self._call_cost = max(self._call_cost, cost)
        if self.budget.charge(cost):
            log.warning(
                "llm_budget_spent",
                daily_usd=str(self.budget.daily_usd),
                spent=str(self.budget.spent),
            )
        self._budget_gauge()
        answer = self._judge(completion.content, check, cached=False)
        if answer.outcome == "ok":
            self.cache.put(key, completion.content)
        if self.metrics:
            self.metrics.tokens.labels(kind="prompt").inc(completion.prompt_tokens)
            self.metrics.tokens.labels(kind="completion").inc(completion.completion_tokens)
            self.metrics.cost_usd.inc(float(cost))
        self._record(
            agent, answer, started, completion.prompt_tokens, completion.completion_tokens, cost
        )
        return answer

    async def decide(self, view: AgentView, *, size_hint: Decimal, bars: int) -> LlmVerdict:
        """The :class:`rampart.agents.llm.DecisionSource` the ``llm`` agent asks."""
        price = view.candle.close_dec

        def check(decision: LlmDecision) -> None:
            decision.check_against(view.symbol, price)
            if decision.action == "enter" and decision.side != "buy":
                raise InvalidDecision("Rampart trades spot: an entry must be a buy.")

        answer = await self.ask(build_prompt(view, bars), view.account_id, check)
        decision = answer.decision
        holding = view.position is not None and view.position.qty > 0
        if decision is None or decision.action != "enter" or holding:
            return LlmVerdict([], answer.outcome)
        # On the venue's price grid, rounded away from the entry so the bracket stays valid.
        tick = view.instrument.tick_size
        stop = floor_to_step(present(decision.stop_loss, "an entry's stop-loss"), tick)
        take_profit = ceil_to_step(present(decision.take_profit, "an entry's take-profit"), tick)
        if not ZERO < stop < price < take_profit:
            return LlmVerdict([], answer.outcome)
        rationale = f"LLM {self.model}: {decision.rationale}".strip()
        intent = Intent(
            account_id=view.account_id,
            symbol=view.symbol,
            side=Side.BUY,
            action=IntentAction.OPEN,
            entry_price=price,
            stop_loss=stop,
            take_profit=take_profit,
            size_hint=size_hint,
            confidence=decision.confidence,
            rationale=rationale[:500],
            agent=NAME,
            ts=view.ts,
        )
        return LlmVerdict([intent], answer.outcome)

    def _judge(self, content: str, check: Check, *, cached: bool) -> Answer:
        try:
            decision = parse_decision(content)
            check(decision)
        except InvalidDecision as exc:
            return Answer(None, "invalid", cached, exc.message)
        return Answer(decision, "ok", cached)

    def _budget_gauge(self) -> None:
        if self.metrics:
            self.metrics.budget_exhausted.set(1 if self.budget.exhausted() else 0)

    def _record(
        self,
        agent: str,
        answer: Answer,
        started: float,
        prompt_tokens: int,
        completion_tokens: int,
        cost: Decimal,
    ) -> None:
        latency_s = time.perf_counter() - started
        self.outcomes[answer.outcome] = self.outcomes.get(answer.outcome, 0) + 1
        if self.metrics:
            self.metrics.calls.labels(outcome=answer.outcome).inc()
            if not answer.cached and answer.outcome != "budget":
                self.metrics.latency_s.observe(latency_s)
        if answer.outcome != "ok":
            log.info("llm_no_trade", agent=agent, outcome=answer.outcome, reason=answer.reason)
        if self.db is None:
            return
        call = LlmCall(
            ts=self.clock.now_ms(),
            agent=agent[:128],
            model=self.model[:64],
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            cached=answer.cached,
            outcome=answer.outcome,
            latency_ms=latency_s * 1000,
        )
        try:
            record_call(self.db, call)
        except sa.exc.SQLAlchemyError as exc:
            # A record that cannot be written must not stop trading: the metrics still count it.
            log.error("llm_call_not_recorded", error=type(exc).__name__)


def build_decider(
    settings: object, clock: Clock, db: sa.Engine | None, metrics: LlmMetrics | None = None
) -> LlmDecider:
    """The decider for ``settings.llm`` (an :class:`rampart.config.LlmConfig`)."""
    from rampart.llm.budget import Price

    cfg = settings.llm  # type: ignore[attr-defined]
    client = LlmClient(
        base_url=cfg.base_url,
        api_key=cfg.api_key,
        model=cfg.model,
        clock=clock,
        timeout_s=cfg.timeout_s,
        retries=cfg.retries,
    )
    prices = {m: Price(p.prompt_per_1k, p.completion_per_1k) for m, p in cfg.prices.items()}
    return LlmDecider(
        client,
        cache=AnswerCache(clock, cfg.cache_ttl_s, cfg.cache_size),
        budget=Budget(clock, cfg.daily_budget_usd, prices),
        clock=clock,
        db=db,
        metrics=metrics,
    )
