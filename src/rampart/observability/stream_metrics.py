"""How the accounts learn their own orders and fills: by websocket or by REST polling.

``rampart_order_stream_accounts{venue, state}`` counts the accounts whose order stream is open
(``streaming``) and those polled at the candle's pace because their stream is down or not open
yet (``polling``); bounded labels, no account id. A worker sums its shards (each shard's
accounts are kept under the shard's key, dropped when the shard goes).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

ORDER_STREAM_STATES = ("streaming", "polling")


class OrderStreamMetrics:
    def __init__(self, r: CollectorRegistry, venue: str) -> None:
        self.venue = venue
        self.accounts = Gauge(
            "rampart_order_stream_accounts",
            "Accounts whose own orders and fills arrive by websocket (streaming) or by REST "
            "polling before every candle (polling: the stream failed or is not open yet).",
            ["venue", "state"],
            registry=r,
        )
        self.started = False
        """An order stream was started in this process (the venue offers one)."""
        self._states: dict[tuple[str, str], str] = {}
        self._show()

    def state(self, key: str, account_id: str, state: str) -> None:
        """``key``: whose venue (a worker's shard); one account's new state ("": its stream
        was closed, the account is counted no more)."""
        self.started = True
        if state in ORDER_STREAM_STATES:
            self._states[(key, account_id)] = state
        else:
            self._states.pop((key, account_id), None)
        self._show()

    def forget(self, key: str) -> None:
        """The venue under ``key`` stopped its streams (a shard handed back or lost)."""
        for k in [k for k in self._states if k[0] == key]:
            del self._states[k]
        self._show()

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(ORDER_STREAM_STATES, 0)
        for state in self._states.values():
            out[state] = out.get(state, 0) + 1
        return out

    def _show(self) -> None:
        for state, n in self.counts().items():
            self.accounts.labels(venue=self.venue, state=state).set(n)


__all__ = ["ORDER_STREAM_STATES", "OrderStreamMetrics"]
