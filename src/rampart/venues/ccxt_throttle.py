"""ccxt's request throttle on the monotonic clock.

ccxt spaces a client's requests with a token bucket timed on the host's wall clock
(``time.time`` in ``ccxt.async_support.base.throttler``). With the bucket empty (requests
being paced), a host clock stepped back 10 minutes makes the elapsed time negative: the bucket
goes 10 minutes' worth of tokens into debt and nothing leaves the client until the wall clock
has caught up (no trading for 80 s and more). The same loops run here on
``time.monotonic``, which no clock step moves; ccxt's own code, not a copy of it.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from typing import Any

from ccxt.async_support.base import throttler as ccxt_throttler


def _on_monotonic(fn: Callable[..., Any]) -> Callable[..., Any]:
    names = {**vars(ccxt_throttler), "time": time.monotonic}
    return types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)


class MonotonicThrottler(ccxt_throttler.Throttler):
    """ccxt's throttle whose loops read ``time.monotonic`` (seconds since an arbitrary point:
    only differences are taken, as of the wall clock before)."""

    leaky_bucket_loop = _on_monotonic(ccxt_throttler.Throttler.leaky_bucket_loop)
    rolling_window_loop = _on_monotonic(ccxt_throttler.Throttler.rolling_window_loop)


def pace_on_monotonic(client: Any) -> None:
    """Give ``client`` a throttle no host clock step can stall."""
    client.throttler = MonotonicThrottler(client.tokenBucket, client.asyncio_loop)


__all__ = ["MonotonicThrottler", "pace_on_monotonic"]
