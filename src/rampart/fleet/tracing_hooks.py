"""Where a candle's trace crosses processes: the feed's publish injects the
``traceparent`` into the NATS message's headers, the worker's consumer extracts it and trades
the candle inside a span of that trace. Off, both are the plain calls they wrap."""

from __future__ import annotations

from typing import Any, Protocol

from rampart.domain.candles import Candle
from rampart.messaging.commands import Apply, Command, CommandReceiver, CommandSender
from rampart.messaging.market import CandlePublisher, CandleSubscription, OnCandle
from rampart.observability import tracing


class TracedWorker(Protocol):
    """What the traced handlers read off the worker (:class:`rampart.fleet.worker.Worker`): its
    name, the message headers its consumers saw last, and the handlers they wrap."""

    @property
    def name(self) -> str: ...

    @property
    def subscription(self) -> CandleSubscription | None: ...

    @property
    def receiver(self) -> CommandReceiver | None: ...

    async def on_candle(self, candle: Candle, lag: int) -> None: ...

    async def _command(self, command: Command) -> str: ...


def _candle(candle: Candle) -> dict[str, Any]:
    return {
        "rampart.symbol": candle.symbol,
        "rampart.ts": candle.ts,
        "messaging.system": "nats",
    }


async def publish_traced(publisher: CandlePublisher, candle: Candle) -> None:
    """Publish ``candle``; while tracing is on, in a producer span whose context the message
    carries."""
    if not tracing.enabled():
        await publisher.publish(candle)
        return
    with tracing.span("candle.publish", _candle(candle), kind="producer"):
        await publisher.publish(candle, tracing.inject({}))


def traced_candles(worker: TracedWorker) -> OnCandle:
    """The worker's candle handler; while tracing is on, each candle is handled in a consumer
    span continuing the trace its message carried from the feed."""
    if not tracing.enabled():
        return worker.on_candle

    async def on_candle(candle: Candle, lag: int) -> None:
        subscription = worker.subscription
        headers = subscription.headers if subscription is not None else None
        attrs = {**_candle(candle), "rampart.worker": worker.name, "rampart.lag": lag}
        parent = tracing.extract(headers)
        with tracing.span("candle.trade", attrs, kind="consumer", parent=parent):
            await worker.on_candle(candle, lag)

    return on_candle


def carry_trace(sender: CommandSender) -> None:
    """While tracing is on, each command carries the current span's context (the HTTP request
    that asked for it) to the workers that apply it."""
    if tracing.enabled():
        sender.carry = lambda: tracing.inject({})


def traced_commands(worker: TracedWorker) -> Apply:
    """The worker's command handler; while tracing is on, each command is applied in a span
    continuing the trace it carried (``rampart serve``'s request)."""
    if not tracing.enabled():
        return worker._command

    async def apply(command: Command) -> str:
        receiver = worker.receiver
        headers = receiver.headers if receiver is not None else None
        attrs = {"rampart.command": command.kind, "rampart.worker": worker.name}
        parent = tracing.extract(headers)
        with tracing.span("command.apply", attrs, kind="consumer", parent=parent):
            return await worker._command(command)

    return apply


__all__ = ["TracedWorker", "carry_trace", "publish_traced", "traced_candles", "traced_commands"]
