"""How long an agent takes to decide, kept in constant memory for the summaries of replays,
research and the service (p50, p99).

Each decision's wall time in nanoseconds lands in a log-scale bucket: eight per doubling, so a
percentile read back is within 9 % of the true one, from a microsecond to hours, and a replay of
ten million bars keeps the same ~400 integers it kept after ten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUB = 3
"""log2 of the buckets per doubling."""
_TOP = 64 << SUB


def _upper(bucket: int) -> int:
    """The largest duration (ns) that falls in ``bucket``."""
    bits, frac = bucket >> SUB, bucket & ((1 << SUB) - 1)
    if bits == 0:
        return bucket
    low = (1 << (bits - 1)) | (frac << (bits - SUB - 1)) if bits > SUB else bucket
    return low + (1 << max(0, bits - SUB - 1)) - 1


@dataclass(slots=True)
class DecisionTimes:
    """One agent's decision times."""

    counts: list[int] = field(default_factory=lambda: [0] * _TOP)
    decisions: int = 0
    slowest_ns: int = 0

    def add(self, ns: int) -> None:
        # _bucket written out: one call less on every decision.
        bits = ns.bit_length()
        if bits <= SUB:
            bucket = ns
        elif bits < 63:
            bucket = (bits << SUB) | ((ns >> (bits - SUB - 1)) & ((1 << SUB) - 1))
        else:
            bucket = _TOP - 1
        self.counts[bucket] += 1
        self.decisions += 1
        if ns > self.slowest_ns:
            self.slowest_ns = ns

    def merge(self, other: DecisionTimes) -> None:
        for i, n in enumerate(other.counts):
            if n:
                self.counts[i] += n
        self.decisions += other.decisions
        self.slowest_ns = max(self.slowest_ns, other.slowest_ns)

    def percentile_ns(self, q: float) -> int:
        """The ``q`` quantile (0-1): the top of the bucket it falls in; 0 with no decision."""
        if not self.decisions:
            return 0
        rank = max(1, round(q * self.decisions))
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                return min(_upper(i), self.slowest_ns)
        return self.slowest_ns  # pragma: no cover - the counts add up to decisions

    def as_dict(self) -> dict[str, float | int]:
        return {
            "decisions": self.decisions,
            "p50_ms": self.percentile_ns(0.5) / 1e6,
            "p99_ms": self.percentile_ns(0.99) / 1e6,
            "max_ms": self.slowest_ns / 1e6,
        }

    def sentence(self, agent: str) -> str:
        if not self.decisions:
            return f"{agent} was not asked to decide."
        p50, p99 = self.percentile_ns(0.5), self.percentile_ns(0.99)
        return (
            f"{agent} decided {self.decisions:,} times: p50 {duration_text(p50)}, p99 "
            f"{duration_text(p99)}, slowest {duration_text(self.slowest_ns)}."
        )


def duration_text(ns: int) -> str:
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} µs" if ns >= 10_000 else f"{ns / 1_000:.1f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"
