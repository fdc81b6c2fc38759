"""LLM metrics (DESIGN §7 "LLM tokens and cost"): a group of their own on the service's
registry, created by :class:`rampart.observability.metrics.Metrics` as ``metrics.llm``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LLM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class LlmMetrics:
    """LLM tokens, cost, latency and cache use (DESIGN §7 "LLM tokens and cost")."""

    def __init__(self, r: CollectorRegistry) -> None:
        self.tokens = Counter(
            "rampart_llm_tokens_total",
            "LLM tokens, by kind (prompt, completion).",
            ["kind"],
            registry=r,
        )
        self.cost_usd = Counter("rampart_llm_cost_usd_total", "USD spent on LLM calls.", registry=r)
        self.latency_s = Histogram(
            "rampart_llm_latency_seconds", "LLM call latency.", buckets=LLM_BUCKETS, registry=r
        )
        self.calls = Counter(
            "rampart_llm_calls_total", "LLM decisions asked, by outcome.", ["outcome"], registry=r
        )
        self.cache_hits = Counter("rampart_llm_cache_hits_total", "LLM cache hits.", registry=r)
        self.cache_misses = Counter(
            "rampart_llm_cache_misses_total", "LLM cache misses.", registry=r
        )
        self.budget_exhausted = Gauge(
            "rampart_llm_budget_exhausted", "1 while today's LLM budget is spent.", registry=r
        )
