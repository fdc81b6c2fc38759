"""Answers already paid for, keyed on model and prompt, kept for a TTL on the Clock.

In memory only, least recently used first out. Persisting was considered and left out: a
restart loses at most one TTL of answers, while a persisted cache would need its own table,
eviction and invalidation when the prompt format changes; ``llm_calls`` already keeps the
record of what was spent.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from rampart.clock import Clock


def cache_key(model: str, canonical_prompt: str) -> str:
    return hashlib.sha256(f"{model}\n{canonical_prompt}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Cached:
    content: str
    expires_ms: int


class AnswerCache:
    def __init__(self, clock: Clock, ttl_s: float, size: int = 4096) -> None:
        if size < 1:
            raise ValueError(f"cache size must be at least 1, not {size}")
        self.clock = clock
        self.ttl_ms = int(ttl_s * 1000)
        self.size = size
        self._items: OrderedDict[str, Cached] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is not None and item.expires_ms > self.clock.now_ms():
            self._items.move_to_end(key)
            self.hits += 1
            return item.content
        if item is not None:
            del self._items[key]
        self.misses += 1
        return None

    def put(self, key: str, content: str) -> None:
        if self.ttl_ms <= 0:
            return
        self._items[key] = Cached(content, self.clock.now_ms() + self.ttl_ms)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
